"""Open311 POST requests: api_key, the three ways to give a location, attributes (including
multivaluelists), contact data kept private, media_url never fetched, and every 400/403."""

# ruff: noqa: F811 - the fixtures imported from test_open311_support are test parameters.

from __future__ import annotations

import socket
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from layers.geometry import lat_lon
from layers.safety import RULES
from open311.services import api_key_revoke
from reports.models import Photo, Report, ReportEvent
from reports.services import report_transition
from reports.workflow import Status

from .. import factories as f
from .support import BASE, FORMATS, errors, items, key, parse, web  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


def post(web, fmt: str, data, *, path: str = "requests", query: str = ""):
    """A form-urlencoded POST, as Open311 clients send it (lists become repeated keys)."""
    body = urlencode(data, doseq=True)
    url = f"{BASE}/{path}.{fmt}" + (f"?{query}" if query else "")
    return web.post(url, body, content_type=FORM)


@pytest.fixture
def questions(city):
    f.CategoryAttributeFactory(
        category=city.pothole, code="depth", datatype="singlevaluelist", required=True,
        values=[{"key": "shallow", "name_uk": "Мілка"}, {"key": "deep", "name_uk": "Глибока"}],
    )
    f.CategoryAttributeFactory(
        category=city.pothole, code="hazards", datatype="multivaluelist",
        values=[{"key": "cars", "name_uk": "Авто"}, {"key": "bikes", "name_uk": "Вело"},
                {"key": "people", "name_uk": "Люди"}],
    )
    f.CategoryAttributeFactory(category=city.pothole, code="width", datatype="number")
    return city.pothole


def centre_lat_lon(city, dx=0, dy=0) -> dict:
    lat, lon = lat_lon(f.offset(city.centre, dx, dy))
    return {"lat": str(lat), "long": str(lon)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_with_lat_long_and_attributes_creates_a_report(web, city, key, questions, fmt):
    # given a client with a key and a category with questions
    data = {
        "api_key": key.key, "service_code": "pothole", **centre_lat_lon(city, 30, 30),
        "description": "Глибока яма", "attribute[depth]": "deep",
        "attribute[hazards][]": ["cars", "bikes"], "attribute[width]": "1.5",
        "email": "olena@private.example.org", "first_name": "Олена", "last_name": "Коваль",
        "phone": "+380671234567", "device_id": "dev-1", "account_id": "acc-7",
    }
    # when it posts a request
    response = post(web, fmt, data)
    # then the answer is [{service_request_id, token, service_notice, account_id}]
    assert response.status_code == 201
    [answer] = items(response, fmt, "service_requests", "request")
    assert set(answer) == {"service_request_id", "token", "service_notice", "account_id"}
    assert answer["account_id"] == "acc-7"
    assert answer["service_notice"] is None
    report = Report.objects.get(pk=int(answer["service_request_id"]))
    assert str(report.token) == answer["token"]
    # and the report is routed, attributed to the client, with private contact data
    assert report.source == Report.Source.OPEN311
    assert report.open311_request.client == key.client
    assert report.status == Status.ASSIGNED and report.department == city.roads
    assert report.attributes == {"depth": "deep", "hazards": ["cars", "bikes"], "width": 1.5}
    assert (report.contact_name, report.contact_email, report.contact_phone) == (
        "Олена Коваль", "olena@private.example.org", "+380671234567")
    assert report.location.distance(f.offset(city.centre, 30, 30)) < 0.5


def test_api_key_may_come_in_the_query_string(web, city, key):
    # some clients (Code for America's) send the key in the URL
    response = post(web, "json", {"service_code": "streetlight", **centre_lat_lon(city),
                                  "description": "Не світить"}, query=f"api_key={key.key}")
    assert response.status_code == 201


def test_post_by_address_string_geocodes_locally(web, city, key):
    address = f.AddressPointFactory(street_uk="вулиця Шевченка", street_en="Shevchenka Street",
                                    house_number="12", location=f.offset(city.centre, 120, -80))
    response = post(web, "json", {"api_key": key.key, "service_code": "pothole",
                                  "address_string": "Шевченка 12", "description": "Яма"})
    assert response.status_code == 201
    report = Report.objects.get(pk=int(parse(response, "json")[0]["service_request_id"]))
    assert report.location.distance(address.location) < 0.01
    assert report.address == "вулиця Шевченка, 12"


def test_post_by_address_id(web, city, key):
    address = f.AddressPointFactory(location=f.offset(city.centre, -300, 200))
    response = post(web, "xml", {"api_key": key.key, "service_code": "pothole",
                                 "address_id": str(address.pk), "description": "Яма"})
    assert response.status_code == 201
    [answer] = items(response, "xml", "service_requests", "request")
    report = Report.objects.get(pk=int(answer["service_request_id"]))
    assert report.location.distance(address.location) < 0.01
    assert report.address == address.label


def test_description_is_optional(web, city, key):
    response = post(web, "json", {"api_key": key.key, "service_code": "streetlight",
                                  **centre_lat_lon(city)})
    assert response.status_code == 201
    report = Report.objects.get(pk=int(parse(response, "json")[0]["service_request_id"]))
    assert report.description == "Ліхтар"


@pytest.mark.parametrize("fmt", FORMATS)
def test_hazard_post_returns_the_safety_notice(web, city, key, fmt):
    response = post(web, fmt, {"api_key": key.key, "service_code": "explosive",
                               **centre_lat_lon(city, 10, 10), "description": "Снаряд у траві"})
    assert response.status_code == 201
    [answer] = items(response, fmt, "service_requests", "request")
    assert "101" in answer["service_notice"]
    assert RULES["uk"][0] in answer["service_notice"]
    report = Report.objects.get(pk=int(answer["service_request_id"]))
    assert report.is_hazard and report.department == city.dsns


def test_media_url_is_kept_but_never_fetched(web, city, key, monkeypatch):
    # given a server that may not open connections to anywhere
    def no_network(*args, **kwargs):
        raise AssertionError("the server tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    url = "https://photos.example.org/pothole.jpg"
    # when a client posts a media_url
    response = post(web, "json", {"api_key": key.key, "service_code": "pothole",
                                  **centre_lat_lon(city), "description": "Яма",
                                  "media_url": url})
    # then the report is created without fetching it, and the URL is echoed back on reads
    assert response.status_code == 201
    number = parse(response, "json")[0]["service_request_id"]
    note = ReportEvent.objects.get(report_id=int(number), type=ReportEvent.Type.NOTE)
    assert note.data["media_url"] == url and "not fetched" in note.internal_note
    # kept by the note service as a private note of the client
    assert (note.report.open311_request.client, note.actor_role, note.public_note) == (
        key.client, "system", "")
    assert note.data["public"] is False
    [request] = items(web.get(f"{BASE}/requests/{number}.json"), "json", "service_requests",
                      "request")
    assert request["media_url"] == url


def test_photos_may_be_uploaded_as_multipart_media(web, city, key,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(f"{BASE}/requests.json", {
            "api_key": key.key, "service_code": "pothole", **centre_lat_lon(city),
            "description": "Яма", "media": f.image_file("yama.jpg"),
        })
    assert response.status_code == 201
    number = int(parse(response, "json")[0]["service_request_id"])
    assert Photo.objects.get(report_id=number).state == Photo.State.READY
    [request] = items(web.get(f"{BASE}/requests/{number}.json"), "json", "service_requests",
                      "request")
    assert request["media_url"].startswith("http://testserver/media/photos/")


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_awaiting_moderation_answers_with_a_token_only(web, city, key, users, settings,
                                                            fmt):
    # given a city that checks every report before publishing it
    settings.PREMODERATION = True
    # when a client posts a request
    response = post(web, fmt, {"api_key": key.key, "service_code": "pothole",
                               **centre_lat_lon(city), "description": "Яма", "locale": "en"})
    # then the answer has a token, no service_request_id, and says why
    assert response.status_code == 201
    [answer] = items(response, fmt, "service_requests", "request")
    assert answer["service_request_id"] is None
    assert "moderator" in answer["service_notice"]
    report = Report.objects.get(token=answer["token"])
    assert report.status == Status.MODERATION
    token_url = f"{BASE}/tokens/{answer['token']}.{fmt}"
    # and the token is known but has no public id yet, nor is the request readable
    assert items(web.get(token_url), fmt, "service_requests", "request") == [
        {"service_request_id": None, "token": answer["token"]}]
    assert web.get(f"{BASE}/requests/{report.pk}.{fmt}").status_code == 404
    # until a moderator publishes it
    report_transition(report_id=report.pk, actor=users["moderator"], to_status=Status.ASSIGNED)
    assert items(web.get(token_url), fmt, "service_requests", "request") == [
        {"service_request_id": str(report.pk), "token": answer["token"]}]


def test_hazard_post_skips_moderation_and_keeps_its_safety_notice(web, city, key, settings):
    settings.PREMODERATION = True
    response = post(web, "json", {"api_key": key.key, "service_code": "explosive",
                                  **centre_lat_lon(city, 10, 10), "description": "Снаряд"})
    [answer] = items(response, "json", "service_requests", "request")
    assert answer["service_request_id"] and "101" in answer["service_notice"]


# --- 403 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", ["missing", "empty", "wrong", "revoked"])
def test_bad_api_key_is_403(web, city, key, case, fmt):
    data = {"service_code": "pothole", **centre_lat_lon(city), "description": "Яма"}
    if case == "empty":
        data["api_key"] = ""
    elif case == "wrong":
        data["api_key"] = key.key[:8] + "x" * 35
    elif case == "revoked":
        api_key_revoke(client_id=key.client.pk)
        data["api_key"] = key.key
    response = post(web, fmt, data)
    assert response.status_code == 403
    assert "api_key" in errors(response, fmt)[0]["description"]
    assert Report.objects.count() == 0


def test_key_revoked_by_command_stops_working(web, city, key):
    call_command("revoke_api_key", "Mobile app")
    response = post(web, "json", {"api_key": key.key, "service_code": "pothole",
                                  **centre_lat_lon(city), "description": "Яма"})
    assert response.status_code == 403


# --- 400 ------------------------------------------------------------------------------------

BAD_POSTS = {
    "no service_code": ({"service_code": ""}, "service_code"),
    "unknown service_code": ({"service_code": "volcano"}, "volcano"),
    "no location": ({"lat": "", "long": ""}, "location"),
    "lat without long": ({"long": ""}, "lat and long"),
    "lat out of range": ({"lat": "95"}, "lat"),
    "long not a number": ({"long": "east"}, "long"),
    "outside the city": ({"lat": "50.45", "long": "30.52"}, "outside the service area"),
    "unknown address": ({"lat": "", "long": "", "address_string": "Марсова 1"}, "Марсова"),
    "huge address_string": ({"lat": "", "long": "", "address_string": "вул " * 5000},
                            "address_string"),
    "unknown address_id": ({"lat": "", "long": "", "address_id": "987654"}, "address_id"),
    "address_id not a number": ({"lat": "", "long": "", "address_id": "x1"}, "address_id"),
    "required attribute missing": ({"attribute[depth]": ""}, "attribute[depth]"),
    "unknown attribute value": ({"attribute[depth]": "bottomless"}, "attribute[depth]"),
    "unknown multivalue": ({"attribute[hazards][]": ["cars", "ufo"]}, "attribute[hazards]"),
    "two values for a single choice": ({"attribute[depth][]": ["deep", "shallow"]},
                                       "attribute[depth]"),
    "unknown attribute code": ({"attribute[colour]": "red"}, "attribute[colour]"),
    "number attribute": ({"attribute[width]": "wide"}, "attribute[width]"),
    "malformed attribute key": ({"attribute[depth": "deep"}, "attribute"),
    "description too long": ({"description": "я" * 4001}, "4000"),
    "bad email": ({"email": "not-an-email"}, "email"),
    "long phone": ({"phone": "1" * 40}, "phone"),
    "media_url not http": ({"media_url": "file:///etc/passwd"}, "media_url"),
    "media_url too long": ({"media_url": "https://x.example/" + "a" * 600}, "media_url"),
    "NUL in description": ({"description": "bad\x00byte"}, "NUL"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", BAD_POSTS, ids=list(BAD_POSTS))
def test_malformed_post_is_400_and_saves_nothing(web, city, key, questions, case, fmt):
    change, expected = BAD_POSTS[case]
    data = {"api_key": key.key, "service_code": "pothole", **centre_lat_lon(city),
            "description": "Яма", "attribute[depth]": "deep", **change}
    response = post(web, fmt, data)
    assert response.status_code == 400, response.content
    text = " ".join(e["description"] for e in errors(response, fmt))
    assert expected in text
    assert Report.objects.count() == 0


def test_hazard_refused_outside_the_city_still_gets_the_safety_notice(web, city, key):
    response = post(web, "json", {"api_key": key.key, "service_code": "explosive",
                                  "lat": "50.45", "long": "30.52", "description": "Міна"})
    assert response.status_code == 400
    descriptions = [e["description"] for e in errors(response, "json")]
    assert any("outside the service area" in d for d in descriptions)
    assert any("101" in d for d in descriptions)


def test_json_body_is_refused_with_an_explanation(web, city, key):
    response = web.post(f"{BASE}/requests.json",
                        {"api_key": key.key, "service_code": "pothole"},
                        content_type="application/json")
    assert response.status_code == 400
    assert "x-www-form-urlencoded" in errors(response, "json")[0]["description"]


def test_broken_multipart_is_400(web, city, key):
    response = web.generic("POST", f"{BASE}/requests.json", b"--xx\r\ngarbage",
                           content_type="multipart/form-data; boundary=")
    assert response.status_code == 400
    errors(response, "json")


def test_markup_is_stored_as_text_and_escaped_in_xml(web, city, key):
    text = '<img src=x onerror="alert(1)"> & ok'
    response = post(web, "xml", {"api_key": key.key, "service_code": "pothole",
                                 **centre_lat_lon(city), "description": text})
    [answer] = items(response, "xml", "service_requests", "request")
    assert Report.objects.get(pk=int(answer["service_request_id"])).description == text
    read = web.get(f"{BASE}/requests/{answer['service_request_id']}.xml")
    assert b"<img" not in read.content
    assert items(read, "xml", "service_requests", "request")[0]["description"] == text
