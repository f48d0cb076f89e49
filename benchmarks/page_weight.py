"""Page weight of the resident pages: bytes of HTML, CSS and JS, raw and gzipped.

For the map page (/), the reporting form (/report/new/) and a report page, it renders the
page through Django's test client, follows every stylesheet, classic script and ES module
import (recursively; bare specifiers through the page's import map) to the file staticfiles
would serve, fetches the JS catalogue (/jsi18n/<lang>/) through the client, and sums the
bytes per kind, split into our own code and vendor libraries (Leaflet, the vector-tile
decoder). Map data (tiles, API calls) is not included: it depends on
the view and is measured by benchmarks/tiles.py.

Run: `make bench`, or standalone:
    DATABASE_URL=postgis://postgres@127.0.0.1:5433/geocity_ui \\
        .venv/bin/python -m benchmarks.page_weight
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from pathlib import Path
from urllib.parse import unquote

from . import common

NAME = "page_weight"
ASSET = re.compile(
    r'<script[^>]*\bsrc="(?P<script>[^"]+)"[^>]*>|'
    r'<link[^>]*\brel="stylesheet"[^>]*\bhref="(?P<css>[^"]+)"[^>]*>'
)
IMPORT = re.compile(r'^\s*import\s[^;]*?from\s+["\'](?P<path>[^"\']+)["\']', re.M)
IMPORT_MAP = re.compile(r'<script type="importmap">(?P<json>.*?)</script>', re.S)


def _gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def _static_file(url: str) -> bytes | None:
    from django.conf import settings
    from django.contrib.staticfiles import finders

    path = url.split("?", 1)[0]
    if not path.startswith(settings.STATIC_URL):
        return None
    found = finders.find(unquote(path[len(settings.STATIC_URL):]))  # {% static %} quotes "@"
    return Path(found).read_bytes() if found else None


def _resolve(base_url: str, ref: str, imports: dict[str, str]) -> str | None:
    if ref.startswith("/"):
        return ref
    if not ref.startswith("."):  # a bare specifier: only the import map knows it
        return imports.get(ref)
    parts = base_url.split("/")[:-1]
    for piece in ref.split("/"):
        if piece == "..":
            parts.pop()
        elif piece not in (".", ""):
            parts.append(piece)
    return "/".join(parts)


def measure_page(client, url: str) -> dict:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="uk")
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    html = response.content
    items = [{"url": url, "kind": "html", "origin": "page", "raw": len(html), "gzip": _gz(html)}]
    imports: dict[str, str] = {}
    for m in IMPORT_MAP.finditer(html.decode()):
        imports.update(json.loads(m["json"]).get("imports", {}))
    seen: set[str] = set()
    queue = []
    for m in ASSET.finditer(html.decode()):
        queue.append(("js", m["script"]) if m["script"] else ("css", m["css"]))
    while queue:
        kind, asset = queue.pop(0)
        if asset in seen:
            continue
        seen.add(asset)
        data = _static_file(asset)
        if data is None:  # a view, e.g. the JS catalogue
            data = client.get(asset).content
        origin = "vendor" if "/vendor/" in asset else "own"
        items.append({"url": asset, "kind": kind, "origin": origin, "raw": len(data),
                      "gzip": _gz(data)})
        if kind == "js" and asset.endswith(".js"):
            for m in IMPORT.finditer(data.decode()):
                target = _resolve(asset, m["path"], imports)
                if target is None:
                    raise RuntimeError(f"{asset} imports {m['path']!r}, not in the import map")
                queue.append(("js", target))
    totals: dict[str, dict[str, int]] = {}
    for item in items:
        for key in (item["kind"], f"{item['kind']}:{item['origin']}", "all"):
            t = totals.setdefault(key, {"raw": 0, "gzip": 0, "files": 0})
            t["raw"] += item["raw"]
            t["gzip"] += item["gzip"]
            t["files"] += 1
    return {"url": url, "items": items, "totals": totals}


def _kb(n: int) -> str:
    return f"{n / 1024:.1f}"


def run(args=None) -> dict:
    from django.test import Client

    from reports.models import Report

    client = Client()
    pages = ["/", "/report/new/"]
    report = Report.objects.filter(is_hidden=False).order_by("-pk").only("pk").first()
    if report is not None:
        pages.append(f"/reports/{report.pk}/")
    results = [measure_page(client, url) for url in pages]
    rows = []
    for page in results:
        def get(key: str, field: str, t: dict = page["totals"]) -> int:
            return t.get(key, {}).get(field, 0)

        rows.append([
            page["url"], _kb(get("html", "raw")), _kb(get("html", "gzip")),
            _kb(get("css", "raw")), _kb(get("css", "gzip")),
            _kb(get("js:own", "raw")), _kb(get("js:own", "gzip")),
            _kb(get("js:vendor", "raw")), _kb(get("js:vendor", "gzip")),
            _kb(get("all", "raw")), _kb(get("all", "gzip")), get("all", "files"),
        ])
    common.print_table(
        "Page weight, KB (raw / gzip -6); data requests (tiles, API) not included",
        ["page", "HTML", "HTML gz", "CSS", "CSS gz", "own JS", "own JS gz", "vendor JS",
         "vendor gz", "total", "total gz", "files"], rows)
    for page in results:
        print(f"\n{page['url']}")
        for item in page["items"]:
            print(f"  {item['kind']:<4} {item['origin']:<6} {item['raw']:>8,} B "
                  f"{item['gzip']:>8,} B gz  {item['url']}")
    return {"machine": common.machine(), "pages": results}


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m benchmarks.page_weight",
                            description=__doc__.splitlines()[0]).parse_args(argv)
    common.setup_django()
    result = run()
    path = common.write_results(NAME, result)
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
