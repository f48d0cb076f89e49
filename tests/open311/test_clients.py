"""Existing public Open311 clients, as they are, against a live server, in both formats.

- `georeport` (PyPI, 0.3.1): a maintained GeoReport v2 wrapper; reads services, service
  definitions, requests and one request, parsing JSON with `requests` and XML with
  `xmltodict`. It cannot POST, so posting is driven the way the other public clients do it
  (Code for America's `open311`: form body, api_key in the query string, XML parsed into
  dicts), with the same parsers.
- georeport's XML path cannot read an empty list (it indexes `['service_requests']
  ['request']` of an empty element): a client limitation, checked on the raw document.
- `open311` 1.1 and `three` 0.8.0 (PyPI) are Python 2 only and cannot be imported on 3.11.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
import xmltodict
from georeport import GeoReport

from layers.geometry import lat_lon
from open311.services import api_key_create
from reports.services import report_create

from .. import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

FORMATS = ("json", "xml")


def as_list(value) -> list:
    """xmltodict gives a dict for one repeated element and a list for several."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@pytest.fixture
def endpoint(live_server) -> str:
    return f"{live_server.url}/open311/v2"


@pytest.fixture
def seeded(city):
    f.CategoryAttributeFactory(
        category=city.pothole, code="depth", datatype="singlevaluelist", required=True,
        values=[{"key": "shallow", "name_uk": "Мілка"}, {"key": "deep", "name_uk": "Глибока"}],
    )
    f.CategoryAttributeFactory(
        category=city.pothole, code="hazards", datatype="multivaluelist",
        values=[{"key": "cars", "name_uk": "Авто"}, {"key": "bikes", "name_uk": "Вело"}],
    )
    reports = [
        report_create(category=city.pothole, location=f.offset(city.centre, 10 * i, 0),
                      description=f"Яма {i}", attributes={"depth": "deep"})
        for i in range(2)
    ]
    client, key = api_key_create(name="Live client")
    client.departments.set([city.roads])
    return reports, key


@pytest.mark.parametrize("fmt", FORMATS)
def test_georeport_reads_services_and_definitions(endpoint, seeded, fmt):
    client = GeoReport(endpoint, output_format=fmt)
    services = client.get_service_list()
    codes = {s["service_code"] for s in services}
    assert {"pothole", "streetlight", "explosive"} <= codes
    definition = client.get_service_definition("pothole")
    assert definition["service_code"] == "pothole"
    attributes = (definition["attributes"] if fmt == "json"
                  else as_list(definition["attributes"]["attribute"]))
    assert [a["code"] for a in attributes] == ["depth", "hazards"]
    values = attributes[0]["values"] if fmt == "json" else as_list(
        attributes[0]["values"]["value"])
    assert [v["key"] for v in values] == ["shallow", "deep"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_georeport_reads_requests_with_filters(endpoint, seeded, fmt):
    reports, _ = seeded
    client = GeoReport(endpoint, output_format=fmt)
    everything = as_list(client.get_service_requests())
    assert {r["service_request_id"] for r in everything} == {str(r.pk) for r in reports}
    one = as_list(client.get_service_requests(service_request_id=str(reports[0].pk)))
    assert [r["service_request_id"] for r in one] == [str(reports[0].pk)]
    assert as_list(client.get_service_requests(status="open", service_code="pothole,other"))
    empty = {"start_date": "2001-01-01T00:00:00Z", "end_date": "2001-02-01T00:00:00Z"}
    if fmt == "json":
        assert client.get_service_requests(**empty) == []
    else:
        # georeport indexes ['service_requests']['request'] without a guard, so an empty
        # (spec-valid) <service_requests/> makes it raise TypeError; check the document itself
        raw = requests.get(f"{endpoint}/requests.xml", params=empty, timeout=30)
        assert xmltodict.parse(raw.content) == {"service_requests": None}
    detail = client.get_service_request(str(reports[1].pk))
    assert detail["service_request_id"] == str(reports[1].pk)
    assert detail["status"] == "open" and detail["service_code"] == "pothole"
    assert float(detail["lat"]) == pytest.approx(lat_lon(reports[1].location)[0], abs=1e-6)


def test_georeport_raises_on_unknown_service(endpoint, seeded):
    client = GeoReport(endpoint, output_format="xml")
    with pytest.raises(requests.HTTPError) as err:
        client.get_service_definition("volcano")
    assert err.value.response.status_code == 404
    parsed = xmltodict.parse(err.value.response.content)
    assert parsed["errors"]["error"]["code"] == "404"


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_then_read_back_like_the_public_clients(endpoint, seeded, city, fmt):
    _, key = seeded
    lat, lon = lat_lon(f.offset(city.centre, 300, 300))
    body = urlencode({
        "service_code": "pothole", "lat": lat, "long": lon, "description": "Нова яма",
        "attribute[depth]": "shallow", "attribute[hazards][]": ["cars", "bikes"],
        "email": "client@private.example.org", "jurisdiction_id": "",
    }, doseq=True)
    # as Code for America's client does: form body, api_key and jurisdiction in the URL
    response = requests.post(f"{endpoint}/requests.{fmt}?{urlencode({'api_key': key})}",
                             data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"},
                             timeout=30)
    assert response.status_code == 201
    if fmt == "json":
        answer = response.json()[0]
    else:
        answer = xmltodict.parse(response.content)["service_requests"]["request"]
    number, token = answer["service_request_id"], answer["token"]
    # the token resolves, and the new request is readable through georeport
    tokens = requests.get(f"{endpoint}/tokens/{token}.{fmt}", timeout=30)
    resolved = (tokens.json()[0] if fmt == "json"
                else xmltodict.parse(tokens.content)["service_requests"]["request"])
    assert resolved["service_request_id"] == number
    detail = GeoReport(endpoint, output_format=fmt).get_service_request(number)
    assert detail["description"] == "Нова яма"
    assert "client@private.example.org" not in tokens.text


@pytest.mark.parametrize("fmt", FORMATS)
def test_back_office_round_trip(endpoint, seeded, fmt):
    reports, key = seeded
    response = requests.post(f"{endpoint}/servicerequestupdates.{fmt}", data={
        "api_key": key, "service_request_id": str(reports[0].pk), "update_id": f"live-{fmt}",
        "status": "FIXED", "updated_datetime": "2026-11-21T09:00:00Z", "description": "Готово",
    }, timeout=30)
    assert response.status_code == 201
    listed = requests.get(f"{endpoint}/servicerequestupdates.{fmt}", timeout=30)
    if fmt == "json":
        updates = listed.json()
    else:
        updates = as_list(xmltodict.parse(listed.content)["service_request_updates"]
                          ["request_update"])
    assert [(u["status"], u["description"]) for u in updates] == [("FIXED", "Готово")]
    repeat = requests.post(f"{endpoint}/servicerequestupdates.{fmt}", data={
        "api_key": key, "service_request_id": str(reports[0].pk), "update_id": f"live-{fmt}",
        "status": "FIXED",
    }, timeout=30)
    assert repeat.status_code == 400
