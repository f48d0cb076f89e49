"""/tiles/reports/{z}/{x}/{y}.pbf: points, cells, filters, visibility, hazard generalisation."""

from datetime import timedelta

import mercantile
import numpy as np
import pytest
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg import _queries as psycopg_queries

from layers.geometry import generalise, to_srid, to_storage
from reports.workflow import Status
from tiles.layers import ReportsLayer, TileBox
from tiles.selectors import Audience, public_audience

from .. import factories as f
from .conftest import Tile, by_id, features, near, tile_coords, tile_of

pytestmark = pytest.mark.django_db


def test_points_carry_the_contract_attributes(city, client):
    # given an overdue pothole and a fresh, resolved streetlight report near the centre
    now = timezone.now()
    overdue = f.ReportFactory(category=city.pothole, location=f.offset(city.centre, 20, 20),
                              created=now - timedelta(days=20), due_at=now - timedelta(days=5),
                              status=Status.IN_PROGRESS)
    done = f.ReportFactory(category=city.streetlight, location=f.offset(city.centre, -30, 10),
                           status=Status.RESOLVED, due_at=now + timedelta(days=3))
    tile = tile_of(overdue.location, 15)
    # when the z15 tile is fetched anonymously
    response = client.get(tile.url())
    # then both are points with id, category, status, age in days, overdue and hazard
    feats = by_id(features(response))
    assert set(feats) == {overdue.pk, done.pk}
    assert feats[overdue.pk]["properties"] == {
        "id": overdue.pk, "category": "pothole", "status": "in_progress", "age_days": 20,
        "overdue": True, "hazard": False,
    }
    assert feats[done.pk]["properties"]["overdue"] is False
    assert feats[done.pk]["properties"]["age_days"] == 0
    # and each point is drawn where the report is
    assert feats[overdue.pk]["geometry"]["type"] == "Point"
    assert near(tuple(feats[overdue.pk]["geometry"]["coordinates"]),
                tile_coords(overdue.location, tile))


def test_low_zoom_tiles_are_cells_with_counts(city, client):
    # given 5 reports within a few metres (3 open) and 2 reports 3 km away
    for i, status in enumerate([Status.ASSIGNED, Status.NEW, Status.IN_PROGRESS,
                                Status.RESOLVED, Status.CLOSED]):
        f.ReportFactory(category=city.pothole, location=f.offset(city.centre, i, i),
                        status=status)
    for i in range(2):
        f.ReportFactory(category=city.pothole, location=f.offset(city.centre, 3000 + i, 0))
    tile = tile_of(city.centre, 11)
    # when a z11 tile is fetched
    feats = features(client.get(tile.url()))
    # then it holds cells (no ids), counts add up, and the 5 close ones share a cell
    assert all(set(ft["properties"]) == {"count", "open"} for ft in feats)
    counts = sorted((ft["properties"]["count"], ft["properties"]["open"]) for ft in feats)
    assert counts == [(2, 2), (5, 3)]
    cell = next(ft for ft in feats if ft["properties"]["count"] == 5)
    assert near(tuple(cell["geometry"]["coordinates"]), tile_coords(city.centre, tile), 2)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"old_pothole", "new_pothole", "light"}),
        ("?category=pothole", {"old_pothole", "new_pothole"}),
        ("?category=pothole,streetlight", {"old_pothole", "new_pothole", "light"}),
        ("?status=resolved", {"light"}),
        ("?status=assigned,resolved", {"old_pothole", "new_pothole", "light"}),
        ("?since=2025-03-01", {"new_pothole", "light"}),
        ("?until=2025-02-28", {"old_pothole"}),
        ("?since=2025-03-01&until=2025-03-10", {"new_pothole"}),
        ("?category=graffiti", set()),
    ],
)
def test_filters(city, client, query, expected):
    # given three reports of different categories, statuses and dates
    tz = timezone.get_current_timezone()
    made = {
        "old_pothole": f.ReportFactory(category=city.pothole, status=Status.ASSIGNED,
                                       created=timezone.datetime(2025, 2, 10, tzinfo=tz),
                                       location=f.offset(city.centre, 10, 0)),
        "new_pothole": f.ReportFactory(category=city.pothole, status=Status.ASSIGNED,
                                       created=timezone.datetime(2025, 3, 10, 12, tzinfo=tz),
                                       location=f.offset(city.centre, 20, 0)),
        "light": f.ReportFactory(category=city.streetlight, status=Status.RESOLVED,
                                 created=timezone.datetime(2025, 3, 20, tzinfo=tz),
                                 location=f.offset(city.centre, 30, 0)),
    }
    names = {r.pk: name for name, r in made.items()}
    # when the tile is fetched with the filter
    response = client.get(tile_of(city.centre, 16).url() + query)
    # then exactly the matching reports are in it (an empty tile is a 204)
    found = {names[i] for i in by_id(features(response))}
    assert found == expected
    assert response.status_code == (200 if expected else 204)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?department=roads", {"roads_west", "roads_east"}),
        ("?district=west", {"roads_west", "light_west"}),
        ("?department=roads&district=east", {"roads_east"}),
        ("?department=parks", set()),
    ],
)
def test_department_and_district_filters(city, client, query, expected):
    # given reports of two departments on both sides of the district border
    made = {
        "roads_west": f.ReportFactory(category=city.pothole, department=city.roads,
                                      district=city.west, location=f.offset(city.centre, -10, 0)),
        "roads_east": f.ReportFactory(category=city.pothole, department=city.roads,
                                      district=city.east, location=f.offset(city.centre, 10, 0)),
        "light_west": f.ReportFactory(category=city.streetlight, department=city.lighting,
                                      district=city.west, location=f.offset(city.centre, -20, 0)),
    }
    names = {r.pk: name for name, r in made.items()}
    # when the tile is fetched with the dashboard's department/district filters
    response = client.get(tile_of(city.centre, 16).url() + query)
    # then only the matching reports are drawn
    assert {names[i] for i in by_id(features(response))} == expected


def test_heat_and_report_tiles_refuse_several_departments(city, client):
    tile = tile_of(city.centre, 14)
    for url in (tile.url(), tile.heat_url):
        response = client.get(url + "?department=roads,lighting")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_department"


@pytest.mark.parametrize(
    ("query", "code"),
    [("?status=nonsense", "invalid_status"), ("?since=yesterday", "invalid_since"),
     ("?until=2025-13-01", "invalid_until"), ("?since=2025-03-01&until=2025-02-01",
                                               "invalid_period"),
     ("?category=drop%20table", "invalid_category")],
)
def test_bad_filters_are_400_json(city, client, query, code):
    response = client.get(tile_of(city.centre, 14).url() + query)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_hidden_reports_only_for_their_department_and_moderators(city, users, client, login):
    # given a hidden pothole (roads) next to a visible one
    hidden = f.ReportFactory(category=city.pothole, department=city.roads, is_hidden=True,
                             location=f.offset(city.centre, 5, 5))
    shown = f.ReportFactory(category=city.pothole, department=city.roads,
                            location=f.offset(city.centre, 15, 5))
    url = tile_of(city.centre, 16).url()
    # then the public and other departments never get it; roads staff and moderators do
    expected = {
        client: {shown.pk},
        login(users["resident"]): {shown.pk},
        login(users["lighting"]): {shown.pk},
        login(users["roads"]): {shown.pk, hidden.pk},
        login(users["moderator"]): {shown.pk, hidden.pk},
    }
    for who, ids in expected.items():
        assert set(by_id(features(who.get(url)))) == ids
    # and at low zoom the public count does not include it either
    cells = features(client.get(tile_of(city.centre, 10).url()))
    assert sum(c["properties"]["count"] for c in cells) == 1


def test_hazard_reports_are_generalised_for_the_public_and_exact_for_staff(city, users, client,
                                                                           login):
    # given an explosive object 180 m east, 120 m north of its 500 m cell centre
    cell_centre = generalise(f.offset(city.centre, 0, 0))
    exact = f.offset(cell_centre, 180, 120)
    assert generalise(exact).equals(cell_centre)
    report = f.ReportFactory(category=city.explosive, department=city.dsns, is_hazard=True,
                             location=exact)
    exact_tile, cell_tile = tile_of(exact, 17), tile_of(cell_centre, 17)
    assert exact_tile != cell_tile  # z17 tiles are ~200 m: the two points are apart
    # when the public fetches the tile of the exact point: nothing there
    assert client.get(exact_tile.url()).status_code == 204
    # and the tile of the cell centre shows it at the cell centre, flagged as a hazard
    public = by_id(features(client.get(cell_tile.url())))[report.pk]
    assert near(tuple(public["geometry"]["coordinates"]), tile_coords(cell_centre, cell_tile))
    assert public["properties"]["hazard"] is True
    # while ДСНС staff (and any staff) see the exact point in its own tile
    staff = login(users["dsns"])
    mine = by_id(features(staff.get(exact_tile.url())))[report.pk]
    assert near(tuple(mine["geometry"]["coordinates"]), tile_coords(exact, exact_tile))
    assert report.pk not in by_id(features(staff.get(cell_tile.url())))
    # and at every zoom from 13 to 18 the public point is the cell centre, never the exact spot
    for z in range(13, 19):
        tile = tile_of(cell_centre, z)
        feat = by_id(features(client.get(tile.url())))[report.pk]
        assert near(tuple(feat["geometry"]["coordinates"]), tile_coords(cell_centre, tile))


def test_public_hazard_cells_use_the_generalised_point(city, client):
    # given a hazard report whose exact point and cell centre fall in different z12 cells
    cell_centre = generalise(city.centre)
    exact = f.offset(cell_centre, 240, 240)
    f.ReportFactory(category=city.explosive, is_hazard=True, location=exact)
    tile = tile_of(cell_centre, 12)
    cells = features(client.get(tile.url()))
    assert len(cells) == 1
    assert near(tuple(cells[0]["geometry"]["coordinates"]), tile_coords(cell_centre, tile), 1)


def test_points_on_a_tile_edge_are_in_both_tiles(city, client):
    # given a report 2 m west of the east edge of its z16 tile
    tile = tile_of(city.centre, 16)
    b = mercantile.xy_bounds(tile.x, tile.y, tile.z)
    edge = to_storage(Point(b.right - 2, (b.top + b.bottom) / 2, srid=3857))
    report = f.ReportFactory(category=city.pothole, location=edge)
    # then both that tile and its east neighbour draw it (in the buffer of the neighbour)
    left = by_id(features(client.get(tile.url())))
    right = by_id(features(client.get(tile.right().url())))
    assert report.pk in left and report.pk in right
    assert right[report.pk]["geometry"]["coordinates"][0] < 0


def test_dense_high_zoom_tile_turns_into_cells(city, client, monkeypatch):
    # given more reports in a z14 tile than the per-tile point budget
    monkeypatch.setattr(ReportsLayer, "MAX_POINTS", 5)
    for i in range(6):
        f.ReportFactory(category=city.pothole, location=f.offset(city.centre, i * 3, 0))
    tile = tile_of(city.centre, 14)
    # then the tile carries cells with counts instead of points
    feats = features(client.get(tile.url()))
    assert all(set(ft["properties"]) == {"count", "open"} for ft in feats)
    assert sum(ft["properties"]["count"] for ft in feats) == 6
    # and with one report fewer it carries points again (the budget is inclusive)
    monkeypatch.setattr(ReportsLayer, "MAX_POINTS", 6)
    cache.clear()
    assert len(by_id(features(client.get(tile.url())))) == 6


def test_one_query_per_tile_and_none_when_cached(city, client, django_assert_num_queries):
    for i in range(20):
        f.ReportFactory(category=city.pothole, location=f.offset(city.centre, i * 10, i * 7))
    for z in (10, 12, 14, 16):
        url = tile_of(city.centre, z).url() + "?category=pothole&status=assigned"
        # cold: exactly one SQL statement renders the tile (anonymous: no auth queries)
        with django_assert_num_queries(1):
            assert client.get(url).status_code == 200
        # cached: none
        with django_assert_num_queries(0):
            assert client.get(url).status_code == 200


def test_staff_tiles_add_one_query_to_the_request_cost(city, users, login):
    f.ReportFactory(category=city.pothole, location=city.centre)
    staff = login(users["roads"])
    url = tile_of(city.centre, 15).url()
    with CaptureQueriesContext(connection) as cold:
        staff.get(url)
    with CaptureQueriesContext(connection) as warm:
        staff.get(url)
    # the tile itself is one statement: the rest is session, user and role look-ups
    assert len(cold) - len(warm) == 1
    assert sum("ST_AsMVT" in q["sql"] for q in cold.captured_queries) == 1
    assert sum("ST_AsMVT" in q["sql"] for q in warm.captured_queries) == 0


def test_overdue_flip_bounds_the_cache_lifetime(city):
    # given a running report due in 90 seconds in a tile
    now = timezone.now()
    f.ReportFactory(category=city.pothole, location=city.centre, status=Status.ASSIGNED,
                    due_at=now + timedelta(seconds=90))
    t = tile_of(city.centre, 15)
    layer = ReportsLayer(audience=public_audience(), params={})
    # when it is rendered, the tile says it changes by itself within those 90 seconds
    rendered = layer.render(TileBox(t.z, t.x, t.y))
    assert rendered.content
    assert 80 <= rendered.expires_in <= 92


def test_hazard_tile_point_uses_the_configured_cell(city, client, settings):
    assert settings.HAZARD_PUBLIC_CELL_M >= 500
    # the public cell is the storage-SRID cell of reports.selectors.generalised_location
    report = f.ReportFactory(category=city.explosive, is_hazard=True,
                             location=f.offset(city.centre, 77, -33))
    centre = generalise(report.location)
    tile = tile_of(centre, 18)
    feat = by_id(features(client.get(tile.url())))[report.pk]
    assert near(tuple(feat["geometry"]["coordinates"]), tile_coords(centre, tile))
    assert settings.STORAGE_SRID == report.location.srid


@pytest.mark.parametrize(("z", "spread"), [(13, 6000), (15, 1500), (17, 1500)])
def test_public_hazard_matching_is_exactly_by_generalised_point(city, client, z, spread):
    # given 40 hazard reports scattered around a hazard cell centre, 2 of them in that cell
    centre = generalise(city.centre)
    tile = tile_of(centre, z)
    rng = np.random.default_rng(z)
    offsets = [(100.0, 80.0), (-120.0, -60.0), *rng.uniform(-spread, spread, (38, 2))]
    made = [f.ReportFactory(category=city.explosive, is_hazard=True,
                            location=f.offset(centre, float(dx), float(dy)))
            for dx, dy in offsets]
    shown = set()
    for t in (tile, tile.right(), Tile(z, tile.x, tile.y + 1), Tile(z, tile.x + 1, tile.y + 1)):
        tb = mercantile.xy_bounds(t.x, t.y, t.z)
        margin = (tb.right - tb.left) * 256 / 4096  # the tile buffer
        # then a public tile holds exactly the reports whose cell centre is in it (+ buffer)
        expected = set()
        for r in made:
            c = to_srid(generalise(r.location), 3857)
            if (tb.left - margin <= c.x <= tb.right + margin
                    and tb.bottom - margin <= c.y <= tb.top + margin):
                expected.add(r.pk)
        feats = features(client.get(t.url()))
        assert all("count" not in ft["properties"] for ft in feats)
        assert set(by_id(feats)) == expected
        shown |= expected
    assert {made[0].pk, made[1].pk} <= shown
    assert len(shown) < len(made)


def test_reports_awaiting_moderation_stay_off_shared_tiles(city, users, client, login):
    # given a resident's report awaiting moderation and a roads clerk's own pending report
    mine = f.ReportFactory(category=city.pothole, status=Status.MODERATION, department=None,
                           reporter=users["resident"], location=f.offset(city.centre, 3, 0))
    clerk = f.ReportFactory(category=city.graffiti, status=Status.MODERATION, department=None,
                            reporter=users["roads"], location=f.offset(city.centre, 6, 0))
    published = f.ReportFactory(category=city.pothole, location=f.offset(city.centre, 9, 0))
    url = tile_of(city.centre, 16).url()
    # when the reporters look first (filling any cache they share), then everyone else
    seen = {}
    for name in ("resident", "roads", "other_resident", "roads_head", "moderator"):
        seen[name] = set(by_id(features(login(users[name]).get(url))))
    seen["anonymous"] = set(by_id(features(client.get(url))))
    # then pending reports appear only to their own clerk-reporter and to moderators:
    # residents get the public map (their pending report is listed under "My reports")
    assert seen["anonymous"] == seen["other_resident"] == seen["resident"] == {published.pk}
    assert seen["roads"] == {published.pk, clerk.pk}
    assert seen["roads_head"] == {published.pk}
    assert seen["moderator"] == {published.pk, mine.pk, clerk.pk}


@pytest.mark.parametrize("exact", [False, True])
def test_statement_templates_bind_like_a_fresh_compile(city, exact):
    # given reports (hazard ones too) spread over a few tiles
    for i in range(30):
        f.ReportFactory(category=city.explosive if i % 5 == 0 else city.pothole,
                        is_hazard=i % 5 == 0, location=f.offset(city.centre, i * 97, i * 41))
    audience = (Audience(None, True, "all+x", reports_user=None) if exact
                else public_audience())
    layer = ReportsLayer(audience=audience, params={"status": "assigned"})
    now = timezone.now()
    for z in (11, 14, 16):
        seed = tile_of(city.centre, z)
        for t in (seed, seed.right(), Tile(z, seed.x, seed.y + 1)):
            box = TileBox(t.z, t.x, t.y)
            # when a tile's statement is compiled for it alone ...
            ReportsLayer.TEMPLATES.clear()
            fresh = layer.statement(box, now)
            # ... and bound from a template compiled for another tile of the same shape
            ReportsLayer.TEMPLATES.clear()
            layer.statement(TileBox(seed.z, seed.x - 1, seed.y), now)
            bound = layer.statement(box, now)
            # then they are the same statement, and render the same tile
            assert bound.sql == fresh.sql
            assert bound.fetch_row() == fresh.fetch_row()


@pytest.mark.parametrize("query", ["", "?status=new,assigned", "?category=pothole,streetlight",
                                   "?status=new&category=pothole"])
@pytest.mark.parametrize("z", [13, 16])
def test_point_tile_statements_stay_within_psycopgs_parse_cache(city, query, z):
    # given a point tile of the public map, unfiltered or with the map's list filters
    layer = ReportsLayer(audience=public_audience(), params=QueryDict(query.lstrip("?")))
    t = tile_of(city.centre, z)
    # when its statement is built
    statement = layer.statement(TileBox(t.z, t.x, t.y), timezone.now())
    # then psycopg caches its parse (it re-parses statements with more parameters on every
    # execute: ~0.15 ms of CPU per tile); list filters are one array parameter each
    assert len(statement.params) <= psycopg_queries.MAX_CACHED_STATEMENT_PARAMS
