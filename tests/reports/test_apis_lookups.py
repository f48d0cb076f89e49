"""REST contract of auth/token/, me/, categories/, photos/inspect/ and reports/nearby/."""

from __future__ import annotations

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image
from rest_framework.authtoken.models import Token

from layers.geometry import lat_lon
from reports.services import Contact, report_create
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    data = response.json()
    assert data["code"] == code, data
    assert data["message"]
    return data


# --- auth/token/ and me/ --------------------------------------------------------------------

def test_token_then_me_then_revoke(api, users):
    # given a clerk's username and password
    # when they exchange them for a token
    response = api.post("/api/v1/auth/token/", {"username": "staff.roads", "password": "pass"},
                        format="json")
    # then the token authenticates me/
    assert response.status_code == 200
    token = response.json()["token"]
    assert token == Token.objects.get(user=users["roads"]).key
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api.get("/api/v1/me/").json()
    assert me == {"username": "staff.roads", "email": "staff.roads@example.org", "name": "",
                  "roles": ["staff"], "departments": [{"code": "roads", "name": "Міськдор"}],
                  "can_use_workspace": True, "can_see_dashboard": False}
    # and asking again gives the same token
    again = api.post("/api/v1/auth/token/", {"username": "staff.roads", "password": "pass"},
                     format="json")
    assert again.json()["token"] == token
    # when it is revoked, it no longer works
    assert api.delete("/api/v1/auth/token/").status_code == 204
    error(api.get("/api/v1/me/"), 401, "authentication_failed")


@pytest.mark.parametrize("payload, code", [
    ({"username": "staff.roads", "password": "wrong"}, "invalid_credentials"),
    ({"username": "nobody", "password": "pass"}, "invalid_credentials"),
    ({"username": "staff.roads"}, "invalid"),
    ({}, "invalid"),
])
def test_token_errors(api, users, payload, code):
    error(api.post("/api/v1/auth/token/", payload, format="json"), 400, code)


def test_token_login_ignores_a_stale_authorization_header(api, users):
    # given an app still sending a revoked token
    api.credentials(HTTP_AUTHORIZATION="Token deadbeef")
    # when it asks for a new one
    response = api.post("/api/v1/auth/token/", {"username": "resident", "password": "pass"},
                        format="json")
    # then it gets it
    assert response.status_code == 200


def test_me_needs_sign_in(api):
    response = api.get("/api/v1/me/")
    error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Token'


@pytest.mark.parametrize("who, roles, workspace, dashboard", [
    ("resident", ["resident"], False, False),
    ("moderator", ["moderator"], True, False),
    ("official", ["official"], False, True),
    ("admin", ["moderator", "admin"], True, True),
    ("dsns", ["staff"], True, False),
])
def test_me_roles(api, users, who, roles, workspace, dashboard):
    api.force_authenticate(users[who])
    data = api.get("/api/v1/me/").json()
    assert (data["roles"], data["can_use_workspace"], data["can_see_dashboard"]) == (
        roles, workspace, dashboard)


def test_me_works_with_the_session_of_the_web_ui(client, users):
    client.force_login(users["moderator"])
    assert client.get("/api/v1/me/").json()["username"] == "moderator"


# --- categories/ --------------------------------------------------------------------------

def test_categories_contract(api, city):
    # given a category with a list question and an urgent hazard category
    f.CategoryAttributeFactory(category=city.pothole, code="depth", datatype="singlevaluelist",
                               required=True, order=1, description_uk="Глибина?",
                               description_en="How deep?",
                               values=[{"key": "deep", "name_uk": "Глибока",
                                        "name_en": "Deep"}])
    city.graffiti.is_active = False
    city.graffiti.save()
    # when categories are read in English
    data = api.get("/api/v1/categories/?lang=en").json()
    by_code = {c["service_code"]: c for c in data}
    # then active ones come with their questions and SLA
    assert "graffiti" not in by_code
    pothole = by_code["pothole"]
    assert set(pothole) == {"service_code", "name", "name_uk", "name_en", "description",
                            "group", "icon", "colour", "photo_required", "is_hazard",
                            "is_urgent", "sla", "duplicate_radius_m", "attributes"}
    assert (pothole["name"], pothole["name_uk"]) == ("Pothole", "Яма")
    assert pothole["sla"] == {"days": 15, "hours": None}
    assert pothole["group"]["code"] == "infra"
    assert pothole["attributes"] == [{"code": "depth", "datatype": "singlevaluelist",
                                      "required": True, "order": 1,
                                      "description": "How deep?",
                                      "values": [{"key": "deep", "name": "Deep"}]}]
    assert by_code["explosive"]["is_hazard"] is True
    assert by_code["explosive"]["sla"] == {"days": None, "hours": 6}


def test_categories_query_count_does_not_grow(api, city, django_assert_max_num_queries):
    # given categories with questions
    for category in (city.pothole, city.streetlight, city.fallen_tree):
        f.CategoryAttributeFactory(category=category)
        f.CategoryAttributeFactory(category=category)
    # when they are listed
    # then the questions are prefetched: one query for categories, one for questions
    with django_assert_max_num_queries(2):
        assert len(api.get("/api/v1/categories/").json()) == 5


# --- photos/inspect/ ----------------------------------------------------------------------

def _gps_jpeg() -> SimpleUploadedFile:
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48, 27, 52.92)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (35, 2, 46.32)
    return f.image_file("gps.jpg", size=(640, 480), exif=exif.tobytes())


def _png_claiming(width: int, height: int) -> SimpleUploadedFile:
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")
    return SimpleUploadedFile("bomb.png", data, content_type="image/png")


def test_inspect_reads_size_and_gps(api):
    # given a JPEG with a GPS position in its EXIF
    # when it is inspected
    response = api.post("/api/v1/photos/inspect/", {"photo": _gps_jpeg()}, format="multipart")
    # then the size and the position come back
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["format"], data["width"], data["height"]) == ("jpeg", 640, 480)
    assert data["size"] > 0
    assert data["gps"] == pytest.approx({"lat": 48.4647, "lon": 35.0462}, abs=1e-4)


def test_inspect_without_gps(api):
    data = api.post("/api/v1/photos/inspect/", {"photo": f.image_file("plain.png", fmt="PNG")},
                    format="multipart").json()
    assert (data["format"], data["gps"]) == ("png", None)


def test_inspect_rejections(api, settings):
    # given a text file named .jpg, a truncated JPEG, a header claiming 400 MP, a big file
    text = SimpleUploadedFile("notes.jpg", b"hello, not an image", content_type="image/jpeg")
    whole = f.image_file("cut.jpg", size=(400, 300)).read()
    cut = SimpleUploadedFile("cut.jpg", whole[: len(whole) // 2], content_type="image/jpeg")
    big = SimpleUploadedFile("big.jpg", b"\xff" * (settings.PHOTO_MAX_BYTES + 1),
                             content_type="image/jpeg")
    cases = [(text, "photo_wrong_type"), (cut, "photo_corrupt"),
             (_png_claiming(20000, 20000), "photo_too_many_pixels"), (big, "photo_too_big")]
    for upload, code in cases:
        # when each is inspected
        response = api.post("/api/v1/photos/inspect/", {"photo": upload}, format="multipart")
        # then 400 with the reason and the file named
        data = error(response, 400, code)
        assert upload.name in data["message"]
        assert upload.name in data["errors"]["photo"][0]


def test_inspect_needs_a_multipart_photo(api):
    error(api.post("/api/v1/photos/inspect/", {}, format="multipart"), 400, "photo_required")
    error(api.post("/api/v1/photos/inspect/", {"photo": "x"}, format="json"), 415,
          "unsupported_media_type")


# --- reports/nearby/ ----------------------------------------------------------------------

def test_nearby_lists_open_reports_of_the_category_nearest_first(api, city):
    # given potholes at 40 m and 120 m, a closed one at 10 m, one 400 m away, and a lamp
    near = report_create(category=city.pothole, location=f.offset(city.centre, 120, 0),
                         description="far-ish", contact=Contact(email="a@x.org"))
    nearer = report_create(category=city.pothole, location=f.offset(city.centre, 0, 40),
                           description="near")
    f.ReportFactory(category=city.pothole, department=city.roads, status=Status.CLOSED,
                    location=f.offset(city.centre, 10, 0))
    report_create(category=city.pothole, location=f.offset(city.centre, 400, 0),
                  description="out of radius")
    report_create(category=city.streetlight, location=city.centre, description="lamp")
    lat, lon = lat_lon(city.centre)
    # when a resident about to report a pothole here asks for duplicates
    response = api.get("/api/v1/reports/nearby/", {"lat": lat, "lon": lon,
                                                   "category": "pothole"})
    # then open potholes within 250 m come, nearest first, with distances
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["type"] == "FeatureCollection"
    got = [(x["id"], round(x["properties"]["distance_m"])) for x in data["features"]]
    assert got == [(nearer.pk, 40), (near.pk, 120)]
    assert "contact" not in data["features"][0]["properties"]
    # and `exclude` leaves one out
    excluded = api.get("/api/v1/reports/nearby/", {"lat": lat, "lon": lon, "category":
                                                   "pothole", "exclude": nearer.pk}).json()
    assert [x["id"] for x in excluded["features"]] == [near.pk]


@pytest.mark.parametrize("query, code", [
    ("lat=48.46&lon=35.04", "unknown_category"),
    ("lat=48.46&lon=35.04&category=unicorns", "unknown_category"),
    ("lon=35.04&category=pothole", "invalid_location"),
    ("lat=91&lon=35.04&category=pothole", "invalid_location"),
    ("lat=48.46&lon=35.04&category=pothole&limit=0", "invalid"),
    ("lat=48.46&lon=35.04&category=pothole&exclude=abc", "invalid"),
])
def test_nearby_bad_queries(api, city, query, code):
    error(api.get(f"/api/v1/reports/nearby/?{query}"), 400, code)
