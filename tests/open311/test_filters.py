"""Open311 GET requests: each filter, the default window, paging, extensions, privacy
(hidden reports, reports awaiting pre-moderation, contact data, explosive-ordnance
coordinates) and the query-count bound."""

# ruff: noqa: F811 - the fixtures imported from test_open311_support are test parameters.

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone

from layers.geometry import generalise, lat_lon, to_api
from reports.services import Contact, report_create, report_transition
from reports.workflow import Status

from .. import factories as f
from .support import BASE, FORMATS, items, key, parse, web  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def get(web, fmt: str = "json", **params) -> list[dict]:
    response = web.get(f"{BASE}/requests.{fmt}", params)
    assert response.status_code == 200, response.content
    return items(response, fmt, "service_requests", "request")


def ids(requests: list[dict]) -> list[int]:
    return [int(r["service_request_id"]) for r in requests]


def make(city, *, days_ago: float = 1, category=None, status=Status.ASSIGNED, dx=0, dy=0,
         updated_days_ago: float | None = None, **kwargs):
    """A report written directly, with a chosen age (days before NOW)."""
    created = NOW - timedelta(days=days_ago)
    updated = NOW - timedelta(days=updated_days_ago if updated_days_ago is not None
                              else days_ago)
    return f.ReportFactory(category=category or city.pothole, department=city.roads,
                           status=status, location=f.offset(city.centre, dx, dy),
                           created=created, updated=updated, **kwargs)


@pytest.fixture
def spread(city):
    """Reports of three categories, ages, statuses and places."""
    return {
        "new_pothole": make(city, days_ago=1),
        "old_pothole": make(city, days_ago=100),
        "light": make(city, days_ago=2, category=city.streetlight, dx=3000, dy=3000),
        "fixed_light": make(city, days_ago=5, category=city.streetlight,
                            status=Status.RESOLVED, dx=-3000, dy=-3000),
        "tree": make(city, days_ago=10, category=city.fallen_tree, status=Status.CLOSED,
                     dx=-3000, dy=3000, updated_days_ago=0.5),
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_default_is_the_last_90_days_newest_first(web, spread, fmt):
    found = ids(get(web, fmt))
    assert found == [r.pk for r in (spread["new_pothole"], spread["light"],
                                    spread["fixed_light"], spread["tree"])]


def test_default_caps_at_1000(web, city):
    make(city)
    base = f.ReportFactory.build(category=city.pothole, department=city.roads)
    from reports.models import Report

    Report.objects.bulk_create([
        Report(location=base.location, description=f"r{i}", category=city.pothole,
               department=city.roads, status=Status.ASSIGNED,
               created=NOW - timedelta(minutes=i), updated=NOW)
        for i in range(1005)
    ])
    assert len(get(web)) == 1000


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_request_id_list_overrides_other_filters(web, spread, fmt):
    wanted = [spread["old_pothole"].pk, spread["fixed_light"].pk]
    found = get(web, fmt, service_request_id=",".join(map(str, wanted)) + ",",
                service_code="fallen-tree", status="open", start_date="2030-01-01T00:00:00Z")
    assert sorted(ids(found)) == sorted(wanted)


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_code_takes_a_comma_list(web, spread, fmt):
    assert sorted(ids(get(web, fmt, service_code="streetlight,fallen-tree"))) == sorted(
        [spread["light"].pk, spread["fixed_light"].pk, spread["tree"].pk])
    assert ids(get(web, fmt, service_code="no-such")) == []


@pytest.mark.parametrize("status,expected", [
    ("open", ["new_pothole", "light"]),
    ("closed", ["fixed_light", "tree"]),
    ("both", ["new_pothole", "light", "fixed_light", "tree"]),
    ("open,closed", ["new_pothole", "light", "fixed_light", "tree"]),
    ("", ["new_pothole", "light", "fixed_light", "tree"]),
])
def test_status_filter(web, spread, status, expected):
    assert ids(get(web, status=status)) == [spread[k].pk for k in expected]


def test_dates_filter_on_requested_datetime(web, spread):
    def w3c(days: float) -> str:
        return timezone.localtime(NOW - timedelta(days=days)).isoformat()

    # between 6 and 1.5 days ago: the streetlights, whatever their update times
    assert ids(get(web, start_date=w3c(6), end_date=w3c(1.5))) == [
        spread["light"].pk, spread["fixed_light"].pk]
    # only a start: everything since
    assert ids(get(web, start_date=w3c(3))) == [spread["new_pothole"].pk, spread["light"].pk]
    # only an end: the 90 days before it
    assert ids(get(web, end_date=w3c(90))) == [spread["old_pothole"].pk]
    # a bare date is a whole day in the city's time zone
    day = timezone.localtime(spread["tree"].created).date().isoformat()
    assert spread["tree"].pk in ids(get(web, start_date=day, end_date=day))


def test_unencoded_plus_in_an_offset_is_understood(web, spread):
    start = timezone.localtime(NOW - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    response = web.get(f"{BASE}/requests.json?start_date={start}")  # '+' arrives as ' '
    assert response.status_code == 200


def test_updated_after_and_before(web, spread):
    after = timezone.localtime(NOW - timedelta(days=1.2)).isoformat()
    before = timezone.localtime(NOW - timedelta(days=3)).isoformat()
    # updated_after finds the closed tree (updated half a day ago), old reports included
    assert ids(get(web, updated_after=after)) == [spread["new_pothole"].pk, spread["tree"].pk]
    assert ids(get(web, updated_before=before)) == [spread["fixed_light"].pk,
                                                    spread["old_pothole"].pk]


def test_paging(web, spread):
    everything = ids(get(web))
    pages = [ids(get(web, page=str(n), page_size="2")) for n in (1, 2, 3)]
    assert pages == [everything[:2], everything[2:4], []]


def test_lat_long_radius(web, spread, city):
    lat, lon = lat_lon(city.centre)
    near_centre = ids(get(web, lat=str(lat), long=str(lon), radius="500"))
    assert near_centre == [spread["new_pothole"].pk]
    lat, lon = lat_lon(f.offset(city.centre, 3000, 3000))
    assert ids(get(web, lat=str(lat), long=str(lon), radius="100")) == [spread["light"].pk]


def test_bbox(web, spread, city):
    south_west = to_api(f.offset(city.centre, -3500, -3500))
    north_east = to_api(f.offset(city.centre, -2500, 3500))
    bbox = f"{south_west.x},{south_west.y},{north_east.x},{north_east.y}"
    assert sorted(ids(get(web, bbox=bbox))) == sorted([spread["fixed_light"].pk,
                                                       spread["tree"].pk])


@pytest.mark.parametrize("fmt", FORMATS)
def test_extensions_add_extended_attributes(web, city, fmt, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = report_create(category=city.pothole, location=f.offset(city.centre, 50, 50),
                               description="Яма", photos=[f.image_file("a.jpg")])
    report_transition(report_id=report.pk, to_status=Status.IN_PROGRESS, system=True)
    plain = get(web, fmt)[0]
    assert "extended_attributes" not in plain
    extended = get(web, fmt, extensions="true")[0]["extended_attributes"]
    if fmt == "xml":
        extended["photos"] = [extended["photos"]["photo"]]
    assert extended["detailed_status"] == "IN_PROGRESS"
    assert extended["status_code"] == "in_progress"
    assert extended["department"] == {"code": "roads", "name": "Міськдор"}
    assert extended["district"] == {"code": "east", "name": "Східний"}
    assert len(extended["photos"]) == 1 and extended["photos"][0].endswith(".jpg")
    assert extended["url"].endswith(f"/reports/{report.pk}/")
    assert str(extended["is_hazard"]).lower() == "false"
    detail = items(web.get(f"{BASE}/requests/{report.pk}.{fmt}", {"extensions": "true"}),
                   fmt, "service_requests", "request")[0]
    assert "extended_attributes" in detail


def test_extended_status_mapping_in_output(web, city, users):
    # given reports in each status a resident can see
    reports = {status: make(city, status=status) for status in (
        Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.NEEDS_INFO, Status.RESOLVED,
        Status.CLOSED, Status.REJECTED)}
    found = {int(r["service_request_id"]): r for r in get(web, extensions="true")}
    expected = {
        Status.NEW: ("open", "FOR_TRIAGE"), Status.ASSIGNED: ("open", "OPEN"),
        Status.IN_PROGRESS: ("open", "IN_PROGRESS"), Status.NEEDS_INFO: ("open", "INVESTIGATING"),
        Status.RESOLVED: ("closed", "FIXED"), Status.CLOSED: ("closed", "CLOSED"),
        Status.REJECTED: ("closed", "NOT_COUNCILS_RESPONSIBILITY"),
    }
    for status, report in reports.items():
        row = found[report.pk]
        assert (row["status"], row["extended_attributes"]["detailed_status"]) == expected[status]


# --- privacy --------------------------------------------------------------------------------

@pytest.fixture
def hazard(city):
    """An explosive-ordnance report 200 m east and north of its grid cell's centre."""
    centre = generalise(f.offset(city.centre, 2000, 2000))
    exact = Point(centre.x + 200, centre.y + 200, srid=settings.STORAGE_SRID)
    report = report_create(category=city.explosive, location=exact, description="Міна",
                           address="вулиця Тиха, 3",
                           contact=Contact(email="witness@private.example.org",
                                           phone="+380931112244"))
    return report, exact, centre


@pytest.mark.parametrize("fmt", FORMATS)
def test_hazard_reports_show_only_their_cell_centre(web, hazard, fmt):
    report, exact, centre = hazard
    [row] = get(web, fmt, extensions="true")
    lat, lon = float(row["lat"]), float(row["long"])
    assert (lat, lon) == lat_lon(centre)
    assert (lat, lon) != lat_lon(exact)
    assert row["address"] is None
    assert "101" in row["service_notice"]
    assert str(row["extended_attributes"]["location_generalised"]).lower() == "true"
    exact_lat, exact_lon = lat_lon(exact)
    body = web.get(f"{BASE}/requests.{fmt}", {"extensions": "true"}).content.decode()
    assert f"{exact_lat}" not in body and f"{exact_lon}" not in body
    assert "Тиха" not in body


def test_radius_search_cannot_locate_a_hazard_exactly(web, hazard):
    report, exact, centre = hazard
    exact_lat, exact_lon = lat_lon(exact)
    centre_lat, centre_lon = lat_lon(centre)
    assert get(web, lat=str(exact_lat), long=str(exact_lon), radius="50") == []
    assert ids(get(web, lat=str(centre_lat), long=str(centre_lon), radius="50")) == [report.pk]


def test_no_contact_data_in_any_output(web, city, key, hazard, django_capture_on_commit_callbacks):
    # given reports with contact data, from the web and through Open311
    seeded = [make(city, contact_email=f"seed{i}@private.example.org",
                   contact_phone=f"+38050000000{i}", contact_name=f"Тарас {i}")
              for i in range(3)]
    response = web.post(f"{BASE}/requests.json", {
        "api_key": key.key, "service_code": "pothole", "lat": "48.4647", "long": "35.0462",
        "email": "o311@private.example.org", "phone": "+380661234567",
        "first_name": "Ірина", "last_name": "Секретна", "description": "Яма",
    })
    assert response.status_code == 201
    secrets = ["@private.example.org", "+38050000000", "+380661234567", "+380931112244",
               "Секретна", "Тарас"]
    # when every public resource is read, in both formats, with extensions
    paths = ["services", "requests", "servicerequestupdates",
             *[f"requests/{r.pk}" for r in seeded], f"requests/{hazard[0].pk}",
             f"tokens/{seeded[0].token}"]
    for fmt in FORMATS:
        for path in paths:
            body = web.get(f"{BASE}/{path}.{fmt}", {"extensions": "true"}).content.decode()
            # then no e-mail, phone or name of a reporter appears
            for secret in secrets:
                assert secret not in body, (path, fmt, secret)


def test_hidden_reports_never_appear(web, spread):
    spread["light"].is_hidden = True
    spread["light"].save()
    assert spread["light"].pk not in ids(get(web))
    assert ids(get(web, service_request_id=str(spread["light"].pk))) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_reports_awaiting_moderation_never_appear(web, city, users, settings, fmt):
    # given pre-moderation, a published report and one still waiting for a moderator
    published = report_create(category=city.pothole, location=city.centre, description="Стара")
    settings.PREMODERATION = True
    waiting = report_create(category=city.pothole, location=f.offset(city.centre, 30, 0),
                            description="Нова, неперевірена")
    assert waiting.status == Status.MODERATION
    # then no way of reading requests shows it: lists, every filter, ids, the detail
    lat, lon = lat_lon(city.centre)
    queries = [{}, {"status": "open"}, {"status": "both"}, {"service_code": "pothole"},
               {"service_request_id": f"{published.pk},{waiting.pk}"},
               {"lat": str(lat), "long": str(lon), "radius": "500"},
               {"extensions": "true"}]
    for params in queries:
        assert ids(get(web, fmt, **params)) == [published.pk], params
    response = web.get(f"{BASE}/requests/{waiting.pk}.{fmt}")
    assert response.status_code == 404
    assert "неперевірена" not in web.get(f"{BASE}/requests.{fmt}").content.decode()
    # until a moderator publishes it
    report_transition(report_id=waiting.pk, actor=users["moderator"], to_status=Status.ASSIGNED)
    assert ids(get(web, fmt)) == [waiting.pk, published.pk]
    assert web.get(f"{BASE}/requests/{waiting.pk}.{fmt}").status_code == 200


# --- query count ----------------------------------------------------------------------------

@pytest.mark.parametrize("count", [3, 40])
def test_query_count_does_not_grow_with_results(web, city, count, django_assert_max_num_queries,
                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report_create(category=city.pothole, location=city.centre, description="з фото",
                      photos=[f.image_file("p.jpg", size=(400, 300))])
    # pothole, streetlight and explosive-ordnance reports (generalised in SQL) mixed
    hazards = {}
    for i in range(count):
        hazard = i % 3 == 2
        report = make(city, days_ago=1 + i / 100, dx=37 * i, dy=-23 * i,
                      category=(city.pothole, city.streetlight, city.explosive)[i % 3],
                      is_hazard=hazard, district=city.east)
        if hazard:
            hazards[str(report.pk)] = lat_lon(generalise(report.location))
    for fmt in FORMATS:
        with django_assert_max_num_queries(3):
            rows = get(web, fmt, extensions="true")
        assert len(rows) == count + 1
        shown = {r["service_request_id"]: (float(r["lat"]), float(r["long"])) for r in rows}
        assert {pk: shown[pk] for pk in hazards} == hazards
    with django_assert_max_num_queries(3):
        parse(web.get(f"{BASE}/requests/{rows[0]['service_request_id']}.json"), "json")
