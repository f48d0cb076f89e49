"""/api/v1/stats/grid/: square and hexagonal cells with counts, as GeoJSON."""

import json

import numpy as np
import pytest
from django.contrib.gis.geos import GEOSGeometry

from layers.geometry import generalise, to_api, to_storage
from reports.workflow import Status
from tiles import cache as tcache
from tiles.cache import bump_layer_version

from .. import factories as f

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats/grid/"


def cells(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/geo+json"
    body = json.loads(response.content)
    assert body["type"] == "FeatureCollection"
    return body["features"]


def polygon(feature) -> GEOSGeometry:
    return GEOSGeometry(json.dumps(feature["geometry"]), srid=4326)


def test_square_cells_count_reports(city, client):
    # given 3 reports (2 open) within 10 m and 1 report 2 km away
    c = city.centre
    base = f.offset(c, 1000 * (1 - (c.x % 1000) / 1000) - 990, 0)  # a few metres into a cell
    for i, status in enumerate([Status.ASSIGNED, Status.IN_PROGRESS, Status.CLOSED]):
        f.ReportFactory(category=city.pothole, status=status, location=f.offset(base, i, i))
    f.ReportFactory(category=city.pothole, location=f.offset(base, 2000, 0))
    # when the grid is asked for with 500 m squares
    feats = cells(client.get(URL, {"cell": 500}))
    # then two cells: (3 reports, 2 open) and (1, 1), each a ~500 m square around its reports
    assert sorted((c["properties"]["count"], c["properties"]["open"]) for c in feats) == [
        (1, 1), (3, 2)]
    big = next(c for c in feats if c["properties"]["count"] == 3)
    shape = to_storage(polygon(big))
    assert shape.contains(base)
    assert shape.area == pytest.approx(500 * 500, rel=0.01)


def test_hexagons_hold_their_points(city, client):
    # given 150 reports scattered over 6 km
    rng = np.random.default_rng(3)
    made = []
    for dx, dy in rng.uniform(-3000, 3000, (150, 2)):
        made.append(f.ReportFactory(category=city.pothole,
                                    location=f.offset(city.centre, float(dx), float(dy))))
    # when binned into 400 m hexagons
    feats = cells(client.get(URL, {"shape": "hex", "cell": 400}))
    # then every report lies in exactly the hexagon that counts it
    assert sum(c["properties"]["count"] for c in feats) == 150
    hexes = [(to_storage(polygon(c)), c["properties"]["count"]) for c in feats]
    for shape, _ in hexes:
        assert shape.area == pytest.approx(1.5 * 3**0.5 * 400**2, rel=0.01)
    counted = {i: 0 for i in range(len(hexes))}
    for report in made:
        holders = [i for i, (shape, _) in enumerate(hexes) if shape.intersects(report.location)]
        assert len(holders) in (1, 2)  # 2 only exactly on a shared edge
        counted[holders[0]] += 1
    assert sorted(counted.values()) == sorted(n for _, n in hexes)


def test_bbox_and_filters(city, client):
    f.ReportFactory(category=city.pothole, location=city.centre)
    f.ReportFactory(category=city.streetlight, location=city.centre)
    f.ReportFactory(category=city.pothole, location=f.offset(city.centre, 5000, 5000))
    p = to_api(city.centre)
    bbox = f"{p.x - 0.01},{p.y - 0.01},{p.x + 0.01},{p.y + 0.01}"
    body = json.loads(client.get(URL, {"bbox": bbox, "cell": 1000}).content)
    assert body["total"] == 2
    only = json.loads(client.get(URL, {"bbox": bbox, "category": "pothole"}).content)
    assert only["total"] == 1
    everything = json.loads(client.get(URL).content)  # default: the service area
    assert everything["total"] == 3 and everything["cell_m"] == 250


def test_public_hazard_is_binned_at_its_cell_centre(city, users, client, login):
    centre = generalise(city.centre)
    f.ReportFactory(category=city.explosive, is_hazard=True, location=f.offset(centre, 230, 0))
    # with 100 m cells the public cell holds the generalised point, staff's the exact one
    p = to_api(city.centre)
    query = {"cell": 100, "bbox": f"{p.x - 0.02},{p.y - 0.02},{p.x + 0.02},{p.y + 0.02}"}
    public = cells(client.get(URL, query))
    staff = cells(login(users["dsns"]).get(URL, query))
    assert to_storage(polygon(public[0])).intersects(centre)
    assert not to_storage(polygon(staff[0])).intersects(centre)


def test_hidden_reports_are_not_counted_for_the_public(city, users, client, login):
    f.ReportFactory(category=city.pothole, department=city.roads, location=city.centre,
                    is_hidden=True)
    assert cells(client.get(URL)) == []
    assert len(cells(login(users["roads"]).get(URL))) == 1


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"shape": "triangle"}, "invalid_shape"),
        ({"cell": "10"}, "invalid_cell"),
        ({"cell": "9000"}, "invalid_cell"),
        ({"cell": "abc"}, "invalid_cell"),
        ({"bbox": "1,2,3"}, "invalid_bbox"),
        ({"bbox": "35,48,34,49"}, "invalid_bbox"),
        ({"bbox": "20,44,40,52", "cell": "50"}, "too_many_cells"),
        ({"status": "open-ish"}, "invalid_status"),
        ({"since": "last week"}, "invalid_since"),
    ],
)
def test_bad_input_is_400_json(city, client, params, code):
    response = client.get(URL, params)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_grid_is_cached_and_invalidated_with_reports(city, client, django_assert_num_queries,
                                                      monkeypatch):
    f.ReportFactory(category=city.pothole, location=city.centre)
    first = json.loads(client.get(URL).content)
    with django_assert_num_queries(0):
        assert json.loads(client.get(URL).content) == first
    f.ReportFactory(category=city.pothole, location=city.centre)
    bump_layer_version("reports")
    # within the aggregate grace the previous grid is still served, then the new one
    assert json.loads(client.get(URL).content)["total"] == 1
    monkeypatch.setattr(tcache, "AGGREGATE_GRACE_SECONDS", 0)
    assert json.loads(client.get(URL).content)["total"] == 2
