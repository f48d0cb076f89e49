"""REST contract of reports/: the GeoJSON list (filters, ordering, cursor pages, query
count), creation (JSON and multipart), the detail, and malformed input (always a 4xx JSON
body, never a 5xx)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from layers.geometry import lat_lon
from reports.models import Photo, Report
from reports.services import Contact, report_create
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"
FEATURE_KEYS = {"number", "category", "status", "status_display", "department", "district",
                "address", "description", "created", "updated", "due_at", "overdue",
                "age_days", "supporters_count", "thumbnail_url", "is_hazard",
                "location_generalised"}
CREATE_KEYS = {"number", "url", "api_url", "status", "status_display", "department",
               "routing", "due_at", "is_hazard", "hazard_notice", "location",
               "location_generalised"}


def here(city, dx=0, dy=0) -> dict:
    lat, lon = lat_lon(f.offset(city.centre, dx, dy))
    return {"lat": lat, "lon": lon}


def body(city, **overrides) -> dict:
    data = {"category": "pothole", **here(city, 50, 50), "description": "Deep pothole",
            "address": "вулиця Тестова, 1", "contact": {"name": "Anna", "email":
                                                       "anna@example.org"}}
    data.update(overrides)
    return data


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    assert isinstance(data["code"], str) and data["code"]
    assert isinstance(data["message"], str) and data["message"]
    if code:
        assert data["code"] == code, data
    return data


# --- Create --------------------------------------------------------------------------------

def test_create_json_routes_and_answers_the_contract(city, api):
    # given an anonymous resident with a pothole in the east of the city
    # when they POST it as JSON
    response = api.post(URL, body(city), format="json")
    # then it is created, routed to roads, and the answer has the contract's shape
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == CREATE_KEYS
    report = Report.objects.get(pk=data["number"])
    assert data["status"] == Status.ASSIGNED
    assert data["department"] == {"code": "roads", "name": "Міськдор"}
    assert data["routing"]["rule"] == "area"
    assert "Roads citywide" in data["routing"]["explanation"]["en"]
    assert data["hazard_notice"] is None and data["is_hazard"] is False
    assert data["location"] == pytest.approx(here(city, 50, 50), abs=1e-6)
    assert data["url"].endswith(f"/reports/{report.pk}/")
    assert response["Location"] == data["api_url"]
    assert data["api_url"].endswith(f"/api/v1/reports/{report.pk}/")
    assert report.contact_email == "anna@example.org"
    assert report.source == Report.Source.API
    assert report.address == "вулиця Тестова, 1"


def test_create_multipart_with_photos_attributes_and_contact(
    city, api, django_capture_on_commit_callbacks
):
    # given a category with a required list question
    f.CategoryAttributeFactory(category=city.pothole, code="depth", required=True,
                               datatype="singlevaluelist",
                               values=[{"key": "deep", "name_uk": "Глибока"},
                                       {"key": "shallow", "name_uk": "Мілка"}])
    form = {
        "category": "pothole", **{k: str(v) for k, v in here(city, 10, 10).items()},
        "description": "Pothole with photos", "attributes": json.dumps({"depth": "deep"}),
        "contact_name": "Petro", "contact_email": "petro@example.org",
        "contact_phone": "+380501112233",
        "photos": [f.image_file("one.jpg"), f.image_file("two.png", fmt="PNG")],
    }
    # when it is sent as multipart with two photos
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, form, format="multipart")
    # then the report keeps the answers, the private contact and both processed photos
    assert response.status_code == 201, response.content
    report = Report.objects.get(pk=response.json()["number"])
    assert report.attributes == {"depth": "deep"}
    assert (report.contact_name, report.contact_phone) == ("Petro", "+380501112233")
    assert report.photos.filter(state=Photo.State.READY).count() == 2
    detail = api.get(f"{URL}{report.pk}/").json()["properties"]
    assert [p["kind"] for p in detail["photos"]] == ["resident", "resident"]
    assert all(p["display_url"].startswith("http://testserver/media/") for p in
               detail["photos"])
    assert detail["thumbnail_url"] == detail["photos"][0]["thumbnail_url"]


def test_multipart_attribute_fields_and_multivalue(city, api):
    # given a multi-choice question
    f.CategoryAttributeFactory(category=city.pothole, code="side", datatype="multivaluelist",
                               values=[{"key": "left"}, {"key": "right"}])
    form = {"category": "pothole", **here(city), "description": "x",
            "attribute[side]": ["left", "right"]}
    # when the answers come as Open311-style attribute[code] fields
    response = api.post(URL, form, format="multipart")
    # then both values are kept
    assert response.status_code == 201, response.content
    assert Report.objects.get().attributes == {"side": ["left", "right"]}


def test_create_from_a_plain_form(city, api):
    # given a classic urlencoded form (no JavaScript)
    lat, lon = here(city)["lat"], here(city)["lon"]
    content = f"category=pothole&lat={lat}&lon={lon}&description=x&contact_email=a%40b.org"
    # when it is posted
    response = api.generic("POST", URL, content,
                           content_type="application/x-www-form-urlencoded")
    # then it is a report like any other
    assert response.status_code == 201, response.content
    assert Report.objects.get().contact_email == "a@b.org"


def test_create_hazard_anonymous_gets_notice_and_generalised_location(city, api):
    # given an anonymous resident who found a shell
    # when they report it
    response = api.post(URL, body(city, category="explosive", contact={}), format="json")
    # then ДСНС gets it, the safety notice comes back, and the point echoed is the cell's
    data = response.json()
    assert response.status_code == 201, data
    assert data["department"]["code"] == "dsns"
    assert data["is_hazard"] is True
    assert data["hazard_notice"]["emergency_phone"] == "101"
    assert data["hazard_notice"]["rules"]["uk"] and data["hazard_notice"]["rules"]["en"]
    assert data["location_generalised"] is True
    assert data["location"] != pytest.approx(here(city, 50, 50), abs=1e-6)


@pytest.mark.parametrize("category, notice", [("pothole", False), ("explosive", True)])
def test_outside_service_area(city, api, category, notice):
    # given a point 500 m east of the city boundary
    data = body(city, category=category, **here(city, 10_500, 0))
    # when it is reported
    response = api.post(URL, data, format="json")
    # then 400 outside_service_area with the distance (and the notice for ordnance)
    err = assert_error(response, 400, "outside_service_area")
    assert 490 < err["distance_m"] < 510
    assert ("hazard_notice" in err) is notice
    assert Report.objects.count() == 0


def test_bad_photo_is_named_and_nothing_is_saved(city, api):
    # given a text file pretending to be a JPEG next to a good photo
    fake = f.image_file("notes.jpg")
    fake.file.seek(0)
    fake.file.truncate()
    fake.file.write(b"not an image at all")
    fake.file.seek(0)
    fake.size = 19
    form = {"category": "pothole", **here(city), "description": "x",
            "photos": [f.image_file("good.jpg"), fake]}
    # when both are uploaded
    response = api.post(URL, form, format="multipart")
    # then the error names the bad file, and no report exists
    err = assert_error(response, 400, "photo_wrong_type")
    assert "notes.jpg" in err["message"]
    assert any("notes.jpg" in m for m in err["errors"]["photos"])
    assert Report.objects.count() == 0


def test_script_in_description_round_trips_as_text(city, api):
    # given a description with markup and script
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'
    # when it is reported and read back
    number = api.post(URL, body(city, description=evil), format="json").json()["number"]
    detail = api.get(f"{URL}{number}/")
    listed = api.get(URL)
    # then JSON returns exactly the text (JSON is not HTML)
    assert detail["Content-Type"] == "application/json"
    assert detail.json()["properties"]["description"] == evil
    assert listed.json()["features"][0]["properties"]["description"] == evil
    # and no HTML page that exists shows it unescaped (pages are another module's: only
    # those that answer 200 are checked here)
    browser = Client(raise_request_exception=False)
    for page in ("/", f"/reports/{number}/", "/my/"):
        response = browser.get(page)
        if response.status_code == 200 and "html" in response["Content-Type"]:
            assert b"<script>alert(" not in response.content


MALFORMED = [
    # (what, content, content type, status, code)
    ("broken JSON", '{"category": "pothole", "lat": ', "application/json", 400,
     "malformed_request"),
    ("JSON array", "[1, 2]", "application/json", 400, "invalid"),
    ("plain text", "category=pothole", "text/plain", 415, "unsupported_media_type"),
    ("XML", "<report/>", "application/xml", 415, "unsupported_media_type"),
    ("NaN", '{"category": "pothole", "lat": NaN, "lon": 35, "description": "x"}',
     "application/json", 400, "malformed_request"),
    ("huge integer lat", '{"category": "pothole", "lat": 1' + "0" * 400
     + ', "lon": 35, "description": "x"}', "application/json", 400, "invalid_location"),
    ("nested 100000 deep", '{"attributes": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "application/json", 400, "malformed_request"),
    ("not UTF-8", b'{"description": "\xff\xfe"}', "application/json", 400,
     "malformed_request"),
]


@pytest.mark.parametrize("what, content, content_type, status, code", MALFORMED,
                         ids=[m[0] for m in MALFORMED])
def test_malformed_bodies(city, api, what, content, content_type, status, code):
    # given a body that is not a report object
    # when it is posted
    response = api.generic("POST", URL, content, content_type=content_type)
    # then a 4xx JSON error, nothing saved
    assert_error(response, status, code)
    assert Report.objects.count() == 0


INVALID_FIELDS = [
    # (what, overrides, code, field in errors)
    ("lat > 90", {"lat": 90.5}, "invalid_location", "lat"),
    ("lon < -180", {"lon": -181}, "invalid_location", "lon"),
    ("lat not a number", {"lat": "north"}, "invalid_location", "lat"),
    ("lat boolean", {"lat": True}, "invalid", "lat"),
    ("lat infinite string", {"lat": "1e999"}, "invalid_location", "lat"),
    ("missing lon", {"lon": None}, "invalid", "lon"),
    ("unknown category", {"category": "unicorns"}, "unknown_category", "category"),
    ("empty description", {"description": "   "}, "description_required", "description"),
    ("description over 4000", {"description": "я" * 4001}, "description_too_long",
     "description"),
    ("attributes not an object", {"attributes": ["deep"]}, "invalid", "attributes"),
    ("unknown attribute", {"attributes": {"colour": "red"}}, "invalid_attributes",
     "attributes.colour"),
    ("bad contact e-mail", {"contact": {"email": "not-an-email"}}, "invalid", "contact"),
    ("bad phone", {"contact": {"phone": "call me <b>"}}, "invalid", "contact"),
    ("address too long", {"address": "x" * 301}, "invalid", "address"),
    ("category not a string", {"category": {"code": "pothole"}}, "invalid", "category"),
    ("NUL in description", {"description": "a\x00b"}, "invalid", "description"),
    ("NUL in an answer", {"attributes": {"colour": "a\x00b"}}, "invalid_attributes",
     "attributes"),
]


@pytest.mark.parametrize("what, overrides, code, field", INVALID_FIELDS,
                         ids=[m[0] for m in INVALID_FIELDS])
def test_invalid_fields(city, api, what, overrides, code, field):
    # given a report with one bad field
    data = body(city, **overrides)
    data = {k: v for k, v in data.items() if v is not None}
    # when it is posted
    response = api.post(URL, data, format="json")
    # then 400 with the field named
    err = assert_error(response, 400, code)
    assert field in err["errors"], err
    assert Report.objects.count() == 0


def test_attributes_breaking_the_definition(city, api):
    # given a required number question
    f.CategoryAttributeFactory(category=city.pothole, code="width_cm", datatype="number",
                               required=True)
    # when one report omits it and one answers with text
    missing = api.post(URL, body(city), format="json")
    wrong = api.post(URL, body(city, attributes={"width_cm": "wide"}), format="json")
    # then both are 400 invalid_attributes naming the question
    assert "attributes.width_cm" in assert_error(missing, 400, "invalid_attributes")["errors"]
    assert "attributes.width_cm" in assert_error(wrong, 400, "invalid_attributes")["errors"]


def test_multipart_attributes_not_json(city, api):
    form = {"category": "pothole", **here(city), "description": "x", "attributes": "{deep"}
    assert_error(api.post(URL, form, format="multipart"), 400, "invalid_attributes")


@override_settings(MAX_REQUEST_BODY_BYTES=1000)
def test_oversized_body_is_413(city, api):
    # given a body over the configured limit
    # when it is posted
    response = api.post(URL, body(city, description="x" * 2000), format="json")
    # then the middleware refuses it with a JSON 413
    assert_error(response, 413, "payload_too_large")


def test_wrong_method_is_json_405(city, api):
    assert_error(api.delete(URL), 405, "method_not_allowed")


# --- List ------------------------------------------------------------------------------------

@pytest.fixture
def listed(city, users):
    """Four reports: overdue west pothole, east streetlight, resolved east pothole, hidden."""
    now = timezone.now()
    mk = f.ReportFactory
    a = mk(category=city.pothole, department=city.roads, district=city.west,
           location=f.offset(city.centre, -2000, 0), created=now - timedelta(days=20),
           due_at=now - timedelta(days=5), description="Яма біля школи")
    b = mk(category=city.streetlight, department=city.lighting, district=city.east,
           location=f.offset(city.centre, 3000, 0), created=now - timedelta(days=2),
           status=Status.IN_PROGRESS, description="Не світить ліхтар")
    c = mk(category=city.pothole, department=city.roads, district=city.east,
           location=f.offset(city.centre, 3000, 3000), created=now - timedelta(hours=1),
           status=Status.RESOLVED, description="Fixed pothole")
    hidden = mk(category=city.pothole, department=city.roads, district=city.east,
                location=f.offset(city.centre, 100, 100), is_hidden=True,
                description="Hidden by a moderator")
    return {"a": a, "b": b, "c": c, "hidden": hidden, "now": now}


def numbers(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {feat["properties"]["number"] for feat in response.json()["features"]}


def test_list_contract_shape(city, api, listed):
    # given public reports
    # when the list is read anonymously
    data = api.get(URL).json()
    # then it is a GeoJSON FeatureCollection with the contract's properties, WGS 84 points
    assert data["type"] == "FeatureCollection"
    assert data["next"] is None and data["previous"] is None
    feature = next(x for x in data["features"] if x["id"] == listed["a"].pk)
    assert feature["type"] == "Feature"
    assert set(feature["properties"]) == FEATURE_KEYS
    assert feature["geometry"]["type"] == "Point"
    lat, lon = lat_lon(listed["a"].location)
    assert feature["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    props = feature["properties"]
    assert props["category"] == {"code": "pothole", "name": "Яма", "icon": "",
                                 "colour": "#1f6feb"}
    assert props["department"] == {"code": "roads", "name": "Міськдор"}
    assert props["district"] == {"code": "west", "name": "Західний"}
    assert props["overdue"] is True and props["age_days"] == 20
    assert props["location_generalised"] is False


FILTERS = [
    ("", {"a", "b", "c"}),
    ("category=pothole", {"a", "c"}),
    ("category=pothole,streetlight", {"a", "b", "c"}),
    ("status=assigned,in_progress", {"a", "b"}),
    ("status=resolved", {"c"}),
    ("department=lighting", {"b"}),
    ("district=west", {"a"}),
    ("overdue=true", {"a"}),
    ("overdue=false", {"b", "c"}),
    ("q=школи", {"a"}),
    ("category=graffiti", set()),
]


@pytest.mark.parametrize("query, expected", FILTERS, ids=[q or "none" for q, _ in FILTERS])
def test_list_filters(city, api, listed, query, expected):
    # given four reports, one hidden
    # when the list is filtered
    got = numbers(api.get(f"{URL}?{query}"))
    # then exactly the matching visible ones come back
    assert got == {listed[k].pk for k in expected}


def test_list_spatial_and_date_filters(city, api, listed):
    # given the same reports
    now = listed["now"]
    b_lat, b_lon = lat_lon(listed["b"].location)
    a_lat, a_lon = lat_lon(listed["a"].location)
    # when filtered by a box around a, a radius around b, and creation dates
    box = f"{a_lon - 0.001},{a_lat - 0.001},{a_lon + 0.001},{a_lat + 0.001}"
    in_box = numbers(api.get(URL, {"in_bbox": box}))
    near_b = numbers(api.get(URL, {"lat": b_lat, "lon": b_lon, "radius": 100}))
    recent = numbers(api.get(URL, {"created_after": (now - timedelta(days=3)).isoformat()}))
    older = numbers(api.get(URL, {"created_before": (now - timedelta(days=3)).isoformat()}))
    # then each returns what lies within
    assert in_box == {listed["a"].pk}
    assert near_b == {listed["b"].pk}
    assert recent == {listed["b"].pk, listed["c"].pk}
    assert older == {listed["a"].pk}


BAD_QUERIES = [
    ("in_bbox=1,2,3", "invalid_bbox"),
    ("in_bbox=a,b,c,d", "invalid_bbox"),
    ("in_bbox=0,0,200,10", "invalid_bbox"),
    ("in_bbox=35,48,34,49", "invalid_bbox"),
    ("lat=100&lon=35", "invalid_location"),
    ("lat=48.4", "invalid_location"),
    ("lat=48.4&lon=35&radius=nan", "invalid"),
    ("lat=48.4&lon=35&radius=-5", "invalid"),
    ("status=bogus", "invalid_status"),
    ("ordering=number", "invalid"),
    ("created_after=yesterday", "invalid"),
    ("created_after=2024-13-45", "invalid"),
    ("overdue=maybe", "invalid"),
    ("page_size=0", "invalid"),
    ("page_size=ten", "invalid"),
    ("cursor=not-a-cursor", "invalid_cursor"),
    ("cursor=eyJvIjoiLWNyZWF0ZWQifQ", "invalid_cursor"),
]


@pytest.mark.parametrize("query, code", BAD_QUERIES, ids=[q for q, _ in BAD_QUERIES])
def test_list_bad_queries_are_400(city, api, listed, query, code):
    assert_error(api.get(f"{URL}?{query}"), 400, code)


HOSTILE_GETS = [
    # (url, status): odd but harmless input is answered; broken input is a 4xx, never a 5xx
    (f"{URL}?q=99999999999999999999999", 200),
    (f"{URL}?q=%25_%5C'%22", 200),
    (f"{URL}?department=" + "x" * 70, 400),
    (f"{URL}?created_after=9999-12-31T23:59:59-05:00", 400),
    (f"{URL}?created_after=0001-01-01T00:00:00%2B05:00", 400),
    (f"{URL}?lat=48.46&lon=35.04&radius=1e999", 400),
    (f"{URL}?in_bbox=" + ",".join(["1e999"] * 4), 400),
    (f"{URL}?in_bbox=nan,nan,nan,nan", 400),
    (f"{URL}?page_size=" + "9" * 30, 400),
    (f"{URL}?cursor=" + "A" * 3000, 400),
    (f"{URL}?status=%00", 400),
    (f"{URL}?%00=1", 400),
    ("/api/v1/reports/nearby/?lat=48.46&lon=35.04&category=%00", 400),
    ("/api/v1/reports/nearby/?lat=48.46&lon=35.04&category=pothole&exclude=1e30", 400),
    ("/api/v1/geocode/?q=%00abc", 400),
    ("/api/v1/geocode/reverse/?lat=1e400&lon=35", 400),
    ("/api/v1/hazard-check/?lat=48.46&lon=35.04%00", 400),
    ("/api/v1/layers/infrastructure/?layer=%00", 400),
    ("/api/v1/layers/infrastructure/?kind=,,,", 200),
    ("/api/v1/layers/hazard-zones/?in_bbox=-180,-90,180,90", 200),
    ("/api/v1/layers/districts/?simplify=1e308", 400),
    ("/api/v1/reports/abc/", 404),
    ("/api/v1/nothing-here/", 404),
]


@pytest.mark.parametrize("url, status", HOSTILE_GETS, ids=[u[:60] for u, _ in HOSTILE_GETS])
def test_hostile_queries_never_5xx(city, api, listed, url, status):
    response = api.get(url)
    assert response.status_code == status, response.content
    if status >= 400:
        assert_error(response, status)


def test_hidden_report_is_listed_for_its_department_and_moderators(city, users, api, listed):
    # given a hidden report of roads
    for user, sees in [(None, False), (users["resident"], False), (users["lighting"], False),
                       (users["roads"], True), (users["moderator"], True),
                       (users["official"], True)]:
        api.force_authenticate(user)
        # when each reads the list
        # then only the department, moderators and officials see it
        assert (listed["hidden"].pk in numbers(api.get(URL))) is sees, user


# --- Ordering and cursor pages -------------------------------------------------------------

@pytest.fixture
def ordered(city):
    """Eight reports with ties in every sort key and NULL deadlines."""
    t = timezone.now() - timedelta(days=30)
    spec = [  # (created offset h, due offset h or None, supporters)
        (0, 10, 0), (0, None, 0), (1, 10, 3), (2, 5, 1), (2, None, 0), (2, 10, 3), (3, 1, 0),
        (4, None, 2),
    ]
    reports = []
    for created_h, due_h, supporters in spec:
        reports.append(f.ReportFactory(
            category=city.pothole, department=city.roads, created=t + timedelta(hours=created_h),
            due_at=None if due_h is None else t + timedelta(days=60, hours=due_h),
            supporters_count=supporters,
        ))
    return reports


def expected_order(reports, ordering: str) -> list[int]:
    if ordering == "created":
        key = sorted(reports, key=lambda r: (r.created, r.pk))
    elif ordering == "-created":
        key = sorted(reports, key=lambda r: (r.created, r.pk), reverse=True)
    elif ordering == "due_at":
        key = sorted([r for r in reports if r.due_at], key=lambda r: (r.due_at, r.pk)) + sorted(
            [r for r in reports if not r.due_at], key=lambda r: r.pk)
    elif ordering == "-due_at":
        key = sorted([r for r in reports if r.due_at], key=lambda r: (r.due_at, r.pk),
                     reverse=True) + sorted([r for r in reports if not r.due_at],
                                            key=lambda r: r.pk, reverse=True)
    else:
        key = sorted(reports, key=lambda r: (r.supporters_count, r.pk), reverse=True)
    return [r.pk for r in key]


@pytest.mark.parametrize("ordering", ["created", "-created", "due_at", "-due_at",
                                      "-supporters_count"])
def test_cursor_pages_walk_forward_and_back(city, api, ordered, ordering):
    # given eight reports with ties and NULLs
    want = expected_order(ordered, ordering)
    # when the list is walked three at a time through `next`
    pages, url = [], f"{URL}?ordering={ordering}&page_size=3"
    while url:
        data = api.get(url).json()
        pages.append([feat["id"] for feat in data["features"]])
        last, url = data, data["next"]
    # then every report comes once, in order, and the first page has no `previous`
    assert [n for page in pages for n in page] == want
    assert [len(p) for p in pages] == [3, 3, 2]
    # and walking back through `previous` gives the same pages
    back, url = [], last["previous"]
    while url:
        data = api.get(url).json()
        back.insert(0, [feat["id"] for feat in data["features"]])
        url = data["previous"]
    assert back == pages[:-1]


def test_cursor_of_another_ordering_is_refused(city, api, ordered):
    # given a `next` link of the default ordering
    next_url = api.get(f"{URL}?page_size=2").json()["next"]
    # when it is reused with another ordering
    response = api.get(next_url.replace("page_size=2", "page_size=2&ordering=due_at"))
    # then 400 invalid_cursor
    assert_error(response, 400, "invalid_cursor")


def test_page_size_is_capped_at_500(city, api, ordered):
    response = api.get(f"{URL}?page_size=100000")
    assert response.status_code == 200
    assert len(response.json()["features"]) == len(ordered)


def test_list_query_count_does_not_grow_with_reports(
    city, users, api, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # given reports with photos (thumbnails) read by a signed-in staff member
    def add(n):
        with django_capture_on_commit_callbacks(execute=True):
            for i in range(n):
                report_create(category=city.pothole, location=f.offset(city.centre, i, i),
                              description=f"r{i}", contact=Contact(email=f"r{i}@x.org"),
                              photos=[f.image_file(size=(40, 30))])

    # (a token, so that every request loads the user afresh, as in production)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users['roads']).key}")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(URL)
        assert response.status_code == 200
        assert all(x["properties"]["thumbnail_url"] for x in response.json()["features"])
        return len(ctx.captured_queries)

    add(2)
    few = count()
    add(12)
    # when the list is read with 2 and with 14 reports
    many = count()
    # then the number of queries is the same, and small
    assert few == many
    with django_assert_max_num_queries(12):
        api.get(URL)


# --- Detail ---------------------------------------------------------------------------------

def test_detail_contract(city, api, users):
    # given a report with a public status change and a comment
    report = report_create(category=city.pothole, location=city.centre, description="d",
                           contact=Contact(email="x@example.org"))
    api.force_authenticate(users["roads"])
    api.post(f"{URL}{report.pk}/transition/", {"status": "in_progress", "note": "On it"},
             format="json")
    api.post(f"{URL}{report.pk}/comments/", {"text": "Thanks"}, format="json")
    api.force_authenticate(None)
    # when it is read anonymously
    response = api.get(f"{URL}{report.pk}/")
    # then a Feature with photos, timeline and no private data
    assert response.status_code == 200
    data = response.json()
    assert data["type"] == "Feature" and data["id"] == report.pk
    props = data["properties"]
    assert FEATURE_KEYS <= set(props)
    assert props["photos"] == []
    assert props["contact"] is None and props["routing"] is None
    kinds = [(e["kind"], e["type"]) for e in props["timeline"]]
    assert kinds == [("event", "created"), ("event", "routed"), ("event", "status"),
                     ("comment", "comment")]
    status_event = props["timeline"][2]
    assert (status_event["from_status"], status_event["to_status"]) == ("assigned",
                                                                       "in_progress")
    assert status_event["note"] == "On it"
    assert status_event["internal_note"] is None
    assert props["timeline"][3]["note"] == "Thanks"
    assert props["allowed_transitions"] == [] and props["can_reassign"] is False


@pytest.mark.parametrize("number", [999, 10**30])
def test_detail_unknown_is_404(city, api, number):
    assert_error(api.get(f"{URL}{number}/"), 404, "report_not_found")


def test_localised_names_follow_language(city, api, listed):
    # given a pothole ("Яма" / "Pothole")
    # when read with ?lang=en, with the language cookie, and by default
    by_param = api.get(f"{URL}{listed['a'].pk}/?lang=en")
    api.cookies["django_language"] = "en"
    by_cookie = api.get(f"{URL}{listed['a'].pk}/")
    del api.cookies["django_language"]
    default = api.get(f"{URL}{listed['a'].pk}/")
    # then the names follow the language
    assert by_param.json()["properties"]["category"]["name"] == "Pothole"
    assert by_param["Content-Language"] == "en"
    assert by_cookie.json()["properties"]["category"]["name"] == "Pothole"
    assert default.json()["properties"]["category"]["name"] == "Яма"
