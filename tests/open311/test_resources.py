"""Open311 GeoReport v2: every resource in both formats, and every error code.

Walks the spec: discovery, services, service definitions, requests, one request, tokens;
404 for unknown resources (service, request, token, jurisdiction, path), 405 for a wrong
method, 400 for malformed parameters. Nothing answers with HTML or a 5xx.
"""

# ruff: noqa: F811 - the fixtures imported from test_open311_support are test parameters.

from __future__ import annotations

import re
import uuid

import pytest
from django.utils.dateparse import parse_datetime

from reports.services import Contact, report_create
from reports.workflow import Status

from .. import factories as f
from .support import BASE, FORMATS, errors, items, key, parse, web  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
    "long", "media_url",
}


@pytest.fixture
def depth(city):
    """pothole asks a required single choice and an optional multiple choice."""
    f.CategoryAttributeFactory(
        category=city.pothole, code="depth", datatype="singlevaluelist", required=True,
        order=1, description_uk="Глибина", description_en="Depth",
        values=[{"key": "shallow", "name_uk": "Мілка", "name_en": "Shallow"},
                {"key": "deep", "name_uk": "Глибока", "name_en": "Deep"}],
    )
    f.CategoryAttributeFactory(
        category=city.pothole, code="hazards", datatype="multivaluelist", required=False,
        order=2, description_uk="Небезпеки", description_en="Hazards",
        values=[{"key": "cars", "name_uk": "Авто", "name_en": "Cars"},
                {"key": "bikes", "name_uk": "Велосипеди", "name_en": "Bikes"}],
    )
    return city.pothole


@pytest.fixture
def report(city):
    return report_create(category=city.pothole, location=f.offset(city.centre, 40, 40),
                         description="Яма біля школи", address="вулиця Тестова, 1",
                         contact=Contact(email="anna@private.example.org", phone="+380501112233"))


# --- discovery ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_describes_the_endpoint(web, fmt):
    # when a client reads the discovery document
    response = web.get(f"{BASE}/discovery.{fmt}")
    # then it is an object with one production endpoint offering both formats
    assert response.status_code == 200
    data = parse(response, fmt)
    if fmt == "xml":
        tag, _, data = data
        assert tag == "discovery"
        endpoint = data["endpoints"]["endpoint"]
        formats = endpoint["formats"]["format"]
    else:
        endpoint = data["endpoints"][0]
        formats = endpoint["formats"]
    assert W3C.match(data["changeset"])
    assert data["contact"] and data["key_service"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["type"] == "production"
    assert set(formats) == {"text/xml", "application/json"}


# --- services -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_services_list_every_active_category(web, city, depth, fmt):
    city.graffiti.is_active = False
    city.graffiti.save()
    response = web.get(f"{BASE}/services.{fmt}")
    assert response.status_code == 200
    services = items(response, fmt, "services", "service")
    by_code = {s["service_code"]: s for s in services}
    # then inactive categories are not offered, and the fields are the spec's
    assert set(by_code) == {"pothole", "streetlight", "fallen-tree", "explosive"}
    pothole = by_code["pothole"]
    assert set(pothole) == {"service_code", "service_name", "description", "metadata", "type",
                            "keywords", "group"}
    assert pothole["service_name"] == "Яма"  # Ukrainian first
    assert pothole["type"] == "realtime"
    assert pothole["metadata"] in (True, "true")
    assert by_code["streetlight"]["metadata"] in (False, "false")
    if fmt == "json":
        assert isinstance(pothole["metadata"], bool)


def test_services_speak_english_on_request(web, city):
    by_header = items(web.get(f"{BASE}/services.json", HTTP_ACCEPT_LANGUAGE="en"),
                      "json", "services", "service")
    by_param = items(web.get(f"{BASE}/services.json", {"locale": "en_US"}),
                     "json", "services", "service")
    for services in (by_header, by_param):
        assert {s["service_code"]: s["service_name"] for s in services}["pothole"] == "Pothole"


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_lists_attributes(web, depth, fmt):
    response = web.get(f"{BASE}/services/pothole.{fmt}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    data = parse(response, fmt)
    if fmt == "xml":
        tag, _, data = data
        assert tag == "service_definition"
        attributes = data["attributes"]["attribute"]
        for attribute in attributes:
            attribute["values"] = attribute["values"]["value"]
    else:
        attributes = data["attributes"]
    assert data["service_code"] == "pothole"
    assert [a["code"] for a in attributes] == ["depth", "hazards"]
    first = attributes[0]
    assert set(first) == {"variable", "code", "datatype", "required", "datatype_description",
                          "order", "description", "values"}
    assert first["datatype"] == "singlevaluelist"
    assert str(first["required"]).lower() == "true"
    assert str(first["variable"]).lower() == "true"
    assert first["description"] == "Depth"
    assert first["values"] == [{"key": "shallow", "name": "Shallow"},
                               {"key": "deep", "name": "Deep"}]
    assert attributes[1]["datatype"] == "multivaluelist"
    if fmt == "json":
        assert first["required"] is True and first["order"] == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_without_attributes_is_an_empty_array(web, city, fmt):
    response = web.get(f"{BASE}/services/streetlight.{fmt}")
    data = parse(response, fmt)
    if fmt == "json":
        assert data == {"service_code": "streetlight", "attributes": []}
    else:
        assert data[2] == {"service_code": "streetlight", "attributes": None}


# --- requests and one request ---------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_use_spec_fields_and_types(web, report, fmt):
    response = web.get(f"{BASE}/requests.{fmt}")
    assert response.status_code == 200
    [request] = items(response, fmt, "service_requests", "request")
    assert set(request) == REQUEST_FIELDS
    assert request["service_request_id"] == str(report.pk)
    assert request["status"] == "open"
    assert request["service_code"] == "pothole"
    assert request["service_name"] == "Яма"
    assert request["description"] == "Яма біля школи"
    assert request["agency_responsible"] == "Міськдор"
    assert request["address"] == "вулиця Тестова, 1"
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(request[field]), request[field]
        assert parse_datetime(request[field]).utcoffset() is not None
    lat, lon = float(request["lat"]), float(request["long"])
    assert abs(lat - 48.4647) < 0.01 and abs(lon - 35.0462) < 0.01
    if fmt == "json":
        assert isinstance(request["service_request_id"], str)
        assert isinstance(request["lat"], float) and isinstance(request["long"], float)


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_request_is_an_array_of_one(web, report, fmt):
    response = web.get(f"{BASE}/requests/{report.pk}.{fmt}")
    assert response.status_code == 200
    [request] = items(response, fmt, "service_requests", "request")
    assert request["service_request_id"] == str(report.pk)
    assert set(request) == REQUEST_FIELDS


def test_status_notes_carry_the_latest_public_note(web, report, users):
    from reports.services import report_transition

    report_transition(report_id=report.pk, actor=users["roads"], to_status=Status.IN_PROGRESS,
                      note="Бригаду призначено", internal_note="внутрішнє")
    [request] = items(web.get(f"{BASE}/requests/{report.pk}.json"), "json",
                      "service_requests", "request")
    assert request["status_notes"] == "Бригаду призначено"
    assert "внутрішнє" not in web.get(f"{BASE}/requests/{report.pk}.json").content.decode()


# --- tokens ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_token_gives_the_request_id(web, report, fmt):
    response = web.get(f"{BASE}/tokens/{report.token}.{fmt}")
    assert response.status_code == 200
    assert items(response, fmt, "service_requests", "request") == [
        {"service_request_id": str(report.pk), "token": str(report.token)}
    ]


# --- errors ---------------------------------------------------------------------------------

NOT_FOUND = [
    "services/no-such-service",
    "requests/999999",
    "requests/abc",
    "requests/99999999999999999999999",
    "requests/²",
    f"tokens/{uuid.uuid4()}",
    "tokens/not-a-uuid",
    "nothing",
    "service/pothole",  # a typo some old clients make
    "requests",  # no format
    "requests.csv",
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", NOT_FOUND)
def test_unknown_resources_are_404_arrays(web, city, report, path, fmt):
    suffix = "" if "." in path or path == "requests" else f".{fmt}"
    response = web.get(f"{BASE}/{path}{suffix}")
    assert response.status_code == 404
    answer_fmt = "xml" if response.wsgi_request.path.endswith(".xml") else "json"
    errors(response, answer_fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_hidden_report_is_unknown(web, report, fmt):
    report.is_hidden = True
    report.save()
    for path in (f"requests/{report.pk}", f"tokens/{report.token}"):
        response = web.get(f"{BASE}/{path}.{fmt}")
        assert response.status_code == 404
        errors(response, fmt)
    assert items(web.get(f"{BASE}/requests.{fmt}"), fmt, "service_requests", "request") == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_jurisdiction_is_404_and_ours_is_accepted(web, city, fmt, settings):
    response = web.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": "elsewhere.example"})
    assert response.status_code == 404
    assert "jurisdiction" in errors(response, fmt)[0]["description"]
    # settings.OPEN311_JURISDICTION (by default the host of SITE_URL) is ours; empty = absent
    ours = settings.OPEN311_JURISDICTION
    assert ours
    assert web.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": ours}).status_code == 200
    assert web.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": ""}).status_code == 200
    # a configured jurisdiction replaces it, for reads and posts alike
    settings.OPEN311_JURISDICTION = "chernivtsi.example.ua"
    assert web.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": ours}).status_code == 404
    response = web.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": "chernivtsi.example.ua"})
    assert response.status_code == 200
    response = web.post(f"{BASE}/requests.{fmt}", {"jurisdiction_id": "elsewhere.example"})
    assert response.status_code == 404
    assert "chernivtsi.example.ua" in errors(response, fmt)[0]["description"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("method,path", [
    ("post", "services"), ("delete", "requests"), ("put", "discovery"),
    ("post", "tokens/x"), ("patch", "servicerequestupdates"),
])
def test_wrong_method_is_405_array(web, city, method, path, fmt):
    response = getattr(web, method)(f"{BASE}/{path}.{fmt}")
    assert response.status_code == 405
    assert "GET" in response["Allow"]
    errors(response, fmt)


BAD_GET = [
    {"start_date": "yesterday"},
    {"start_date": "2026-13-45T00:00:00Z"},
    {"end_date": "0000-01-01"},
    {"end_date": "2026-02-30"},
    {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
    {"status": "pending"},
    {"extensions": "maybe"},
    {"page": "0"},
    {"page": "x"},
    {"page_size": "1001"},
    {"page_size": "-5"},
    {"lat": "48.46"},
    {"lat": "91", "long": "35"},
    {"lat": "abc", "long": "35"},
    {"lat": "48.46", "long": "35.04", "radius": "0"},
    {"lat": "48.46", "long": "35.04", "radius": "nan"},
    {"radius": "100"},
    {"bbox": "1,2,3"},
    {"bbox": "35,48,34,49"},
    {"bbox": "a,b,c,d"},
    {"service_request_id": "1,x"},
    {"service_request_id": "99999999999999999999999"},
    {"updated_after": "not a date"},
    {"service_code": "pot\x00hole"},
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("params", BAD_GET,
                         ids=lambda p: "&".join(f"{k}={v!r}" for k, v in p.items()))
def test_malformed_filters_are_400_arrays(web, city, params, fmt):
    response = web.get(f"{BASE}/requests.{fmt}", params)
    assert response.status_code == 400
    errors(response, fmt)


def test_xml_output_survives_control_characters(web, city):
    # given a description with characters XML 1.0 cannot carry
    report_create(category=city.pothole, location=city.centre,
                  description="bell\x07 and <script>alert(1)</script> & more")
    response = web.get(f"{BASE}/requests.xml")
    # then the document still parses and markup is escaped text
    [request] = items(response, "xml", "service_requests", "request")
    assert request["description"] == "bell and <script>alert(1)</script> & more"
    assert b"<script>" not in response.content
