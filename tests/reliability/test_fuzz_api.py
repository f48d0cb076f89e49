"""Schema-driven fuzzing of the REST API with schemathesis, against the project's own
OpenAPI document at /api/schema/: every operation, as anonymous, a resident, a clerk and a
moderator (token auth), with valid and invalid inputs generated from the schema.

Checks on every response: no 5xx; every error (4xx) is the `{"code", "message", "errors"?}`
JSON; status, content type and body conform to the schema. Report numbers are drawn from
the seeded reports as often as from the schema, so detail and action endpoints are reached.

`make test` runs FUZZ_EXAMPLES examples per operation and role (derandomized: the same
inputs in every run, so CI is repeatable); `make fuzz` runs many more, freshly random.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from layers.geometry import lat_lon
from reports.workflow import Status

from .conftest import FUZZ_ROLES
from .figures import tally

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
LONG = EXAMPLES > 50

pytestmark = pytest.mark.django_db

APP = get_wsgi_application()
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", APP)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def plausible(seeded, city) -> dict:
    """Values the API accepts, keyed by field or parameter name: a generated request has
    some of its fields swapped for these, so it gets past validation into the services."""
    lat, lon = lat_lon(city.centre)
    return {
        "category": st.sampled_from(["pothole", "streetlight", "fallen-tree", "graffiti",
                                     "explosive"]),
        "lat": st.floats(lat - 0.05, lat + 0.05),
        "lon": st.floats(lon - 0.05, lon + 0.05),
        "bbox": st.just(f"{lon - 0.05},{lat - 0.05},{lon + 0.05},{lat + 0.05}"),
        "department": st.sampled_from(["roads", "lighting", "parks", "dsns"]),
        "status": st.sampled_from([s.value for s in Status]),
        "duplicate_of": st.sampled_from(seeded.numbers),
        "description": st.text(min_size=1, max_size=200),
        "email": st.emails(),
        "phone": st.just("+380 50 123-45-67"),
        "attributes": st.just({}),
        "address": st.text(max_size=100),
        "Idempotency-Key": st.uuids().map(str),
    }


def nudge(draw, values: dict | None, choices: dict) -> None:
    """Swap some of `values`' entries for plausible ones, in place."""
    if not isinstance(values, dict):
        return
    for name in list(values):
        if isinstance(values[name], dict):
            nudge(draw, values[name], choices)
        if name in choices and draw(st.integers(0, 3)):  # three times in four
            values[name] = draw(choices[name])


# The Error schema's properties (layers.apis.ErrorSerializer): nothing else may appear.
ERROR_KEYS = {"code", "message", "errors", "status", "distance_m", "retry_after",
              "hazard_notice"}


def error_shape(response) -> None:
    """Every 4xx of the API is `{"code": str, "message": str, "errors"?: object}` JSON."""
    if response.status_code < 400:
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith("application/json"), (response.status_code, content_type)
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    assert isinstance(body.get("code"), str) and body["code"], body
    assert isinstance(body.get("message"), str), body
    assert set(body) <= ERROR_KEYS, body
    if "errors" in body:
        assert isinstance(body["errors"], dict), body


@pytest.mark.parametrize("role", FUZZ_ROLES)
@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_fuzz_operation(operation, role, seeded, city):
    # given a signed-in (or anonymous) client and the seeded reports
    token = seeded.tokens[FUZZ_ROLES[role]] if FUZZ_ROLES[role] else None
    headers = {"Authorization": f"Token {token}"} if token else {}
    numbers = st.sampled_from(seeded.numbers)
    choices = plausible(seeded, city)
    runs = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG, database=None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(case=operation.as_strategy(), number=st.none() | numbers, data=st.data())
    def run(case, number, data):
        if number is not None and "number" in (case.path_parameters or {}):
            case.path_parameters["number"] = number
        nudge(data.draw, case.body, choices)
        nudge(data.draw, case.query, choices)
        nudge(data.draw, case.headers, choices)
        # when the generated request is sent
        response = case.call(headers=headers)
        runs.append(response.status_code)
        if os.environ.get("FUZZ_TRACE"):
            print(operation.label, response.status_code, response.content[:300])
        # then it conforms
        case.validate_response(response, checks=CHECKS, headers=headers)
        error_shape(response)

    run()
    tally("fuzz_rest", operation=operation.label, role=role, examples=len(runs),
          statuses=sorted(set(runs)))
    assert runs
