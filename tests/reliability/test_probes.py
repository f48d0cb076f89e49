"""Privacy and injection probes on a seeded database.

- Every public output (pages, REST, Open311 JSON and XML, GeoJSON, decoded tiles) as an
  anonymous visitor: no reporter's e-mail, phone or name, and no explosive-ordnance point
  closer to the real one than its public cell allows (HAZARD_PUBLIC_CELL_M);
- SQL metacharacters in every filter of the REST list, Open311, the workspace queue and
  the dashboard: no 5xx, and the tables are untouched;
- oversized and deeply nested JSON: 413 and 400 in the API's error format.
Stored XSS in a real browser: test_xss_browser.py. `manage.py check --deploy` with
production settings: tests/test_settings.py::test_production_deploy_check_is_clean.
"""

from __future__ import annotations

import json
import math
import re

import mapbox_vector_tile
import pytest
from django.conf import settings
from django.test import Client

from layers.geometry import lat_lon
from reports.models import Comment, Report

from .conftest import SECRET_EMAIL, SECRET_NAME, SECRET_PHONE
from .figures import tally

pytestmark = pytest.mark.django_db
SECRETS = (SECRET_EMAIL, SECRET_NAME, SECRET_PHONE, SECRET_PHONE.replace("+", ""),
           SECRET_NAME.split()[1])


def metres(lat1, lon1, lat2, lon2) -> float:
    k = math.pi / 180
    x = (lon2 - lon1) * k * math.cos((lat1 + lat2) / 2 * k)
    return math.hypot(x, (lat2 - lat1) * k) * 6_371_000


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_point_lat_lon(z, x, y, px, py, extent=4096) -> tuple[float, float]:
    n = 2 ** z
    lon = (x + px / extent) / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1 - py / extent) / n))))
    return lat, lon


def public_outputs(seeded, city) -> dict[str, bytes]:
    """Every public output of the seeded city, by URL."""
    client = Client()
    lat, lon = lat_lon(city.centre)
    numbers = [r.pk for k, r in seeded.reports.items() if k != "hidden"]
    urls = ["/", "/report/new/", "/api/v1/reports/", "/api/v1/reports/?page_size=100",
            f"/api/v1/reports/nearby/?lat={lat}&lon={lon}&category=pothole",
            f"/api/v1/reports/nearby/?lat={lat}&lon={lon}&category=explosive",
            "/api/v1/stats/grid/", "/api/v1/stats/grid/?shape=hex",
            "/api/v1/layers/hazard-zones/", "/api/v1/categories/",
            f"/api/v1/hazard-check/?lat={lat}&lon={lon}"]
    for n in numbers:
        urls += [f"/reports/{n}/", f"/reports/{n}/submitted/", f"/api/v1/reports/{n}/",
                 f"/api/v1/reports/{n}/comments/"]
        for fmt in ("json", "xml"):
            urls += [f"/open311/v2/requests/{n}.{fmt}?extensions=true"]
    for fmt in ("json", "xml"):
        urls += [f"/open311/v2/requests.{fmt}", f"/open311/v2/requests.{fmt}?extensions=true",
                 f"/open311/v2/servicerequestupdates.{fmt}",
                 f"/open311/v2/tokens/{seeded.reports['mine'].token}.{fmt}"]
    outputs = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 204), (url, response.status_code)
        outputs[url] = b"".join(response) if response.streaming else response.content
    return outputs


def public_tiles(hazard_lat, hazard_lon) -> dict[str, dict]:
    client = Client()
    tiles = {}
    for z in (10, 12, 13, 14, 15, 16):
        x, y = tile_xy(hazard_lat, hazard_lon, z)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                url = f"/tiles/reports/{z}/{x + dx}/{y + dy}.pbf"
                response = client.get(url, HTTP_ACCEPT_ENCODING="identity")
                assert response.status_code in (200, 204), url
                if response.status_code == 200:
                    tiles[url] = (z, x + dx, y + dy, mapbox_vector_tile.decode(
                        response.content, default_options={"y_coord_down": True}))
    return tiles


def test_no_contact_data_or_exact_ordnance_point_in_any_public_output(seeded, city,
                                                                     users, api):
    # given a seeded city: a report and an ordnance report with the reporter's contact
    # data, a comment of the reporter's and a comment naming nobody
    Comment.objects.create(report=seeded.reports["mine"], author=users["resident"],
                           text="Still there")
    hazard = Report.objects.get(pk=seeded.reports["hazard"].pk)
    exact_lat, exact_lon = lat_lon(hazard.location)
    cell = settings.HAZARD_PUBLIC_CELL_M
    # when every public output is fetched, anonymously
    outputs = public_outputs(seeded, city)
    tiles = public_tiles(exact_lat, exact_lon)
    # then none carries the reporter's e-mail, phone or name
    leaks = [(url, s) for url, body in outputs.items() for s in SECRETS
             if s.encode() in body or s.encode("unicode_escape") in body]
    assert not leaks, leaks
    # and no published coordinate lies nearer to the ordnance than a cell's half-size
    # allows for (the centre of a 500 m cell is at least 0 and at most 354 m away; the
    # exact point itself, or anything within 1 m of it, must never appear)
    pairs = 0
    for url, body in outputs.items():
        text = body.decode(errors="replace")
        for a, b in re.findall(r"(-?\d{1,3}\.\d{4,})[^\d\-]{1,40}?(-?\d{1,3}\.\d{4,})", text):
            for plat, plon in ((float(a), float(b)), (float(b), float(a))):
                if abs(plat - exact_lat) < 0.05 and abs(plon - exact_lon) < 0.05:
                    pairs += 1
                    assert metres(plat, plon, exact_lat, exact_lon) > 1, (url, plat, plon)
    detail = json.loads(outputs[f"/api/v1/reports/{hazard.pk}/"])
    shown_lon, shown_lat = detail["geometry"]["coordinates"]
    shift = metres(shown_lat, shown_lon, exact_lat, exact_lon)
    assert shift > 1 and shift <= cell * math.sqrt(2) / 2  # moved, but within its cell
    points = 0
    for url, (z, x, y, layers) in tiles.items():
        for layer in layers.values():
            for feature in layer["features"]:
                if feature["geometry"]["type"] != "Point":
                    continue
                px, py = feature["geometry"]["coordinates"]
                plat, plon = tile_point_lat_lon(z, x, y, px, layer["extent"] - py,
                                                layer["extent"])
                points += 1
                if feature["properties"].get("id") == hazard.pk or feature["properties"].get(
                        "hazard"):
                    assert metres(plat, plon, exact_lat, exact_lon) > 1, (url, feature)
    tally("probe", probe="privacy", outputs=len(outputs), tiles=len(tiles),
          coordinates=pairs, tile_points=points, leaks=0)


SQL = ["'", "''", "' OR '1'='1", "1 OR 1=1", "1; DROP TABLE reports_report; --",
       "%", "_", "\\", "\\'", "\"", ";", "--", "/*", "*/", "') OR ('a'='a", "%' --",
       "1)) UNION SELECT NULL--", "$1", "::text", "E'\\x00'"]
FILTERS = {
    "/api/v1/reports/": ["in_bbox", "lat", "lon", "radius", "category", "status",
                         "department", "district", "created_after", "created_before",
                         "overdue", "due_soon", "q", "ordering", "page_size", "cursor"],
    "/api/v1/reports/nearby/": ["lat", "lon", "category", "exclude", "limit"],
    "/api/v1/stats/grid/": ["bbox", "cell", "shape", "category", "status", "since", "until"],
    "/api/v1/geocode/": ["q"],
    "/open311/v2/requests.json": ["service_request_id", "service_code", "status",
                                  "start_date", "end_date", "lat", "long", "radius", "bbox",
                                  "page", "page_size", "jurisdiction_id"],
    "/open311/v2/requests.xml": ["service_code", "status"],
    "/open311/v2/servicerequestupdates.json": ["service_request_id", "start_date",
                                               "end_date"],
    "/tiles/reports/14/9786/5663.pbf": ["category", "status", "since", "until",
                                        "department", "district"],
    "/tiles/heat/12/2446/1415.png": ["category", "status", "weight"],
    "/workspace/": ["department", "status", "category", "district", "due", "assignee", "q",
                    "per_page", "page"],
    "/workspace/export.csv": ["status", "q"],
    "/dashboard/": ["period", "date_from", "date_to", "district", "department", "category"],
    "/dashboard/export.geojson": ["period", "district", "category"],
}


def test_sql_metacharacters_in_every_filter(seeded, users):
    # given a moderator (who may use the workspace) and an official (the dashboard)
    staff, official = Client(), Client()
    staff.force_login(users["moderator"])
    official.force_login(users["official"])
    reports = Report.objects.count()
    probes = 0
    for path, names in FILTERS.items():
        client = official if path.startswith("/dashboard/") else staff
        for name in names:
            for payload in SQL:
                # when a filter holds SQL metacharacters
                response = client.get(path, {name: payload})
                probes += 1
                # then the answer is a result or a refusal, never a server error
                assert response.status_code < 500, (path, name, payload)
    # and nothing was changed
    assert Report.objects.count() == reports
    tally("probe", probe="sql-metacharacters", requests=probes, failures=0)


def test_oversized_and_deeply_nested_json_are_refused(seeded, settings, client):
    # given a JSON body nested 100,000 levels deep, and one past the size limit
    nested = "[" * 100_000 + "]" * 100_000
    huge = json.dumps({"category": "pothole", "description": "x" * (
        settings.MAX_REQUEST_BODY_BYTES + 10)})
    results = []
    for path in ("/api/v1/reports/", f"/api/v1/reports/{seeded.numbers[0]}/comments/",
                 "/api/v1/auth/token/"):
        # when each is posted
        deep = client.post(path, nested, content_type="application/json")
        big = client.post(path, huge, content_type="application/json")
        # then the deep one is a 400 (or an auth refusal first) and the big one a 413,
        # each in the API's error format
        assert deep.status_code in (400, 401), (path, deep.status_code)
        assert big.status_code == 413, (path, big.status_code)
        for response in (deep, big):
            body = response.json()
            assert body["code"] and body["message"]
        results += [deep.status_code, big.status_code]
    tally("probe", probe="oversized-nested-json", requests=len(results), failures=0)
