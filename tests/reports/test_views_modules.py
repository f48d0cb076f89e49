"""The ES modules of the map pages: one import map resolves every bare specifier of the module
graph (our modules and the npm ones) to a file staticfiles publishes, with hashed names in
production."""

from __future__ import annotations

import json
import posixpath
import re
from urllib.parse import unquote

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from .. import factories as f

pytestmark = pytest.mark.django_db

IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.S)
MODULE = re.compile(r'<script type="module" src="/static/([^"]+)"')
IMPORT = re.compile(r'^\s*import\s[^;]*?from\s+["\']([^"\']+)["\']', re.M)
SPECIFIERS = {"pbf", "@mapbox/point-geometry", "@mapbox/vector-tile"}


def _static_path(url: str) -> str:
    assert url.startswith("/static/"), url
    return unquote(url.removeprefix("/static/"))


def _module_graph(entry: str, imports: dict[str, str]) -> dict[str, list[str]]:
    """{static path: [specifiers it imports]} for every module reachable from `entry`."""
    graph: dict[str, list[str]] = {}
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in graph:
            continue
        found = finders.find(path)
        assert found, f"{path} is not published"
        with open(found, encoding="utf-8") as fh:
            graph[path] = IMPORT.findall(fh.read())
        for spec in graph[path]:
            if spec.startswith("."):
                todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(path), spec)))
            else:
                assert spec in imports, f"{path} imports {spec!r}, missing from the import map"
                todo.append(_static_path(imports[spec]))
    return graph


@pytest.mark.parametrize(("page", "who"), [("/", None), ("/report/new/", None),
                                           ("report", None), ("/workspace/", "roads")])
def test_map_pages_resolve_every_module_through_one_import_map(client, city, users, page, who):
    # given a page that draws vector tiles (the queue map is for staff)
    if page == "report":
        page = f"/reports/{f.ReportFactory(category=city.pothole, department=city.roads).pk}/"
    if who:
        client.force_login(users[who])
    # when it is rendered
    html = client.get(page).content.decode()
    # then it has one import map, before its module script
    [raw_map] = IMPORT_MAP.findall(html)
    imports = json.loads(raw_map)["imports"]
    assert set(imports) == SPECIFIERS
    [entry] = MODULE.findall(html)
    assert html.index('type="importmap"') < html.index('type="module"')
    # and every module it reaches, ours or npm's, is published, bare imports included
    graph = _module_graph(entry, imports)
    assert "js/map-tiles.js" in graph
    assert {_static_path(url) for url in imports.values()} <= set(graph)


def test_import_map_gives_hashed_names_in_production(settings, tmp_path):
    # given the hashed-name storage of production and its manifest
    targets = {"vendor/pbf/index.js", "vendor/@mapbox/point-geometry/index.js",
               "vendor/@mapbox/vector-tile/index.js"}
    hashed = {path: path.replace("index.js", "index.0123456789ab.js") for path in targets}
    (tmp_path / "staticfiles.json").write_text(json.dumps({"paths": hashed, "version": "1.1"}))
    settings.STATIC_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
    # when the import map is rendered
    imports = json.loads(IMPORT_MAP.search(render_to_string("includes/importmap.html"))[1])
    # then every specifier points at its hashed file
    assert {spec: _static_path(url) for spec, url in imports["imports"].items()} == {
        "pbf": hashed["vendor/pbf/index.js"],
        "@mapbox/point-geometry": hashed["vendor/@mapbox/point-geometry/index.js"],
        "@mapbox/vector-tile": hashed["vendor/@mapbox/vector-tile/index.js"],
    }
