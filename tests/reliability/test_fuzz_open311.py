"""Open311 GeoReport v2 fuzzed with a Hypothesis strategy of its own: the protocol has no
OpenAPI document (form-encoded bodies, `.json`/`.xml` resources), so the strategy below
knows its resources, methods and parameter names and mixes plausible values with hostile
ones (NUL, SQL metacharacters, huge numbers, markup, unpaired surrogates' replacements).

Checks on every response: no 5xx; the body is well-formed in the requested format; an
error is the spec's array of `{code, description}` (`<errors><error>` in XML) with `code`
equal to the HTTP status; a success is a list (an object for discovery) or the XML root of
that resource. Anonymous and API-client requests alike (the key is drawn).
"""

from __future__ import annotations

import json
import os
from xml.etree import ElementTree as ET

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.geometry import lat_lon

from .figures import tally

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25")) * 16
LONG = EXAMPLES > 50 * 16

pytestmark = pytest.mark.django_db
BASE = "/open311/v2"

HOSTILE = st.sampled_from([
    "", " ", "0", "-1", "1e309", "NaN", "Infinity", "99999999999999999999999", "1,2,3",
    "' OR 1=1 --", "'; DROP TABLE reports_report; --", "\" OR \"\"=\"", "%", "_", "\\",
    "<script>alert(1)</script>", "]]>", "&amp;", "\x00", "a\x00b", "\u202e", "🙂", "ї" * 300,
    "x" * 5000, "2026-13-45", "2026-01-01T00:00:00+99:00", "0000-00-00", "true", "maybe",
    "open,closed", "OPEN", "FIXED", "-90", "180.0000001", "48.4647", "35.0462",
])


def _values(city, numbers):
    lat, lon = lat_lon(city.centre)
    plausible = {
        "service_code": st.sampled_from(["pothole", "streetlight", "explosive", "graffiti"]),
        "lat": st.floats(lat - 0.05, lat + 0.05).map(str),
        "long": st.floats(lon - 0.05, lon + 0.05).map(str),
        "service_request_id": st.sampled_from([str(n) for n in numbers]) | st.lists(
            st.sampled_from([str(n) for n in numbers]), min_size=1, max_size=3).map(",".join),
        "status": st.sampled_from(["open", "closed", "open,closed", "FIXED", "IN_PROGRESS"]),
        "start_date": st.datetimes().map(lambda d: d.isoformat() + "Z"),
        "end_date": st.datetimes().map(lambda d: d.isoformat() + "Z"),
        "updated_datetime": st.datetimes().map(lambda d: d.isoformat() + "+02:00"),
        "description": st.text(min_size=1, max_size=300),
        "email": st.emails(),
        "phone": st.just("+380501234567"),
        "bbox": st.just(f"{lon - .05},{lat - .05},{lon + .05},{lat + .05}"),
        "radius": st.integers(-10, 100_000).map(str),
        "page": st.integers(-3, 10**6).map(str),
        "page_size": st.integers(-3, 10**4).map(str),
        "extensions": st.sampled_from(["true", "false", "1", "yes"]),
        "media_url": st.sampled_from(["http://example.org/a.jpg", "javascript:alert(1)",
                                      "file:///etc/passwd", "ftp://x"]),
        "duplicate_of": st.sampled_from([str(n) for n in numbers]),
        "address_string": st.text(max_size=100),
    }
    names = [*plausible, "jurisdiction_id", "api_key", "first_name", "last_name",
             "device_id", "account_id", "address_id", "update_id", "attribute[size]",
             "attribute[]", "attribute[x][y]", "q"]
    return plausible, names


@st.composite
def open311_requests(draw, *, city, numbers, key):
    """(method, path, params): one request to any Open311 resource."""
    plausible, names = _values(city, numbers)
    fmt = draw(st.sampled_from(["json", "xml", "json", "xml", "html", "JSON"]))
    ident = draw(st.sampled_from([str(n) for n in numbers]) | HOSTILE.filter(
        lambda s: "/" not in s and s.strip() and "\x00" not in s) | st.uuids().map(str))
    resource = draw(st.sampled_from([
        "discovery", "services", f"services/{ident}", "requests", f"requests/{ident}",
        f"tokens/{ident}", "servicerequestupdates", "nope", f"requests/{ident}/x",
    ]))
    method = draw(st.sampled_from(["GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD"]))
    params = {}
    for name in draw(st.lists(st.sampled_from(names), max_size=10, unique=True)):
        strategy = plausible.get(name, st.text(max_size=40))
        if name == "api_key":
            strategy = st.sampled_from([key, key + "x", ""])
        params[name] = draw(strategy | HOSTILE)
    return method, f"{BASE}/{resource}.{fmt}", params


def check_body(response, path: str) -> None:
    """Well-formed in the requested format; errors the spec's way."""
    status = response.status_code
    assert status < 500, (status, response.content[:500])
    if status in (204, 304) or not response.content:
        assert status in (204, 304) or response.request["REQUEST_METHOD"] == "HEAD"
        return
    xml = path.endswith(".xml")
    content_type = response["Content-Type"]
    if xml:
        assert content_type.startswith("text/xml"), content_type
        root = ET.fromstring(response.content)
        if status >= 400:
            assert root.tag == "errors", response.content[:300]
            errors = root.findall("error")
            assert errors and all(e.findtext("code") == str(status) and e.findtext(
                "description") for e in errors), response.content[:300]
        return
    assert content_type.startswith("application/json"), content_type
    body = json.loads(response.content)
    if status >= 400:
        assert isinstance(body, list) and body, body
        for error in body:
            assert set(error) == {"code", "description"}, error
            assert error["code"] == status and isinstance(error["description"], str), error
    else:
        assert isinstance(body, list | dict), body


def test_fuzz_open311(seeded, city):
    # given the seeded city and an API client's key
    client = Client()
    statuses: list[int] = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG, database=None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(request=open311_requests(city=city, numbers=seeded.numbers, key=seeded.open311_key))
    def run(request):
        method, path, params = request
        # when the generated request is sent (a POST form-encoded, the rest in the query)
        if method == "POST":
            response = client.post(path, params)
        else:
            response = client.generic(method, path + "?" + _query(params))
        statuses.append(response.status_code)
        # then it is well-formed and never a server error
        check_body(response, path)

    run()
    tally("fuzz_open311", operation="open311", examples=len(statuses),
          statuses=sorted(set(statuses)))
    assert statuses


def _query(params: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(params)
