"""Open311 POSTs are throttled per API client (settings.OPEN311_RATE, sliding windows in the
Django cache): over the limit -> 429 with Retry-After and the spec's error array; reads and
other clients are unaffected. The throttle's clock is frozen and moved by hand."""

# ruff: noqa: F811 - the fixtures imported from test_open311_support are test parameters.

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from layers.geometry import lat_lon
from open311 import apis as open311
from open311.services import api_key_create
from reports.models import Report, ReportEvent
from reports.services import report_create

from .. import factories as f
from .support import BASE, FORMATS, errors, items, key, web  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
MINUTE, DAY = 60, 86_400


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(open311.ClientThrottle, "timer", staticmethod(frozen))
    return frozen


def new_request(web, city, api_key: str, fmt: str = "json"):
    lat, lon = lat_lon(f.offset(city.centre, 15, 15))
    body = urlencode({"api_key": api_key, "service_code": "pothole", "lat": lat, "long": lon,
                      "description": "Яма"})
    return web.post(f"{BASE}/requests.{fmt}", body, content_type=FORM)


def new_update(web, report, api_key: str, update_id: str, fmt: str = "json"):
    body = urlencode({"api_key": api_key, "service_request_id": str(report.pk),
                      "update_id": update_id, "status": "IN_PROGRESS"})
    return web.post(f"{BASE}/servicerequestupdates.{fmt}", body, content_type=FORM)


@pytest.mark.parametrize("fmt", FORMATS)
def test_over_the_minute_limit_is_429_with_retry_after(web, city, key, clock, settings, fmt):
    # given a limit of two POSTs a minute
    settings.OPEN311_RATE = ["2/min", "100/day"]
    assert [new_request(web, city, key.key, fmt).status_code for _ in range(2)] == [201, 201]
    # when the client posts a third time 20 seconds later
    clock.now += 20
    response = new_request(web, city, key.key, fmt)
    # then it is refused with the time until the oldest POST leaves the window, as an array
    assert response.status_code == 429
    assert response["Retry-After"] == str(MINUTE - 20)
    [error] = errors(response, fmt)
    assert "2 per minute" in error["description"] and "40 s" in error["description"]
    assert Report.objects.count() == 2
    # and once that POST has left the window, the client may post again
    clock.now += MINUTE - 20
    assert new_request(web, city, key.key, fmt).status_code == 201


def test_the_daily_limit_holds_across_minutes(web, city, key, clock, settings):
    settings.OPEN311_RATE = "2/min,3/day"  # the environment's comma form works as well
    for _ in range(3):
        assert new_request(web, city, key.key).status_code == 201
        clock.now += MINUTE
    response = new_request(web, city, key.key)
    assert response.status_code == 429
    assert response["Retry-After"] == str(DAY - 3 * MINUTE)
    clock.now += DAY
    assert new_request(web, city, key.key).status_code == 201


def test_refused_posts_are_not_counted(web, city, key, clock, settings):
    settings.OPEN311_RATE = ["1/min"]
    assert new_request(web, city, key.key).status_code == 201
    for _ in range(5):  # a client hammering while refused does not push its wait further
        clock.now += 10
        assert new_request(web, city, key.key).status_code == 429
    clock.now += 10
    assert new_request(web, city, key.key).status_code == 201


def test_requests_and_updates_share_one_budget_per_client(web, city, key, clock, settings):
    # given a limit of three POSTs a minute, and a second client of its own
    settings.OPEN311_RATE = ["3/min"]
    report = report_create(category=city.pothole, location=city.centre, description="Яма")
    other_client, other_key = api_key_create(name="Another app")
    other_client.departments.set([city.roads])
    # when the first client spends its budget on a request and two updates
    assert new_request(web, city, key.key).status_code == 201
    assert new_update(web, report, key.key, "U-1").status_code == 201
    assert new_update(web, report, key.key, "U-2").status_code == 201
    # then both kinds of POST are refused for it, and nothing is recorded
    for fmt in FORMATS:
        response = new_update(web, report, key.key, "U-3", fmt)
        assert response.status_code == 429 and response["Retry-After"] == str(MINUTE)
        errors(response, fmt)
    assert new_request(web, city, key.key).status_code == 429
    assert not ReportEvent.objects.filter(open311_update__update_id="U-3").exists()
    # while reads stay open and the other client keeps its own budget
    listed = web.get(f"{BASE}/requests.json")
    assert listed.status_code == 200
    assert len(items(listed, "json", "service_requests", "request")) == 2
    assert new_request(web, city, other_key).status_code == 201
    assert new_update(web, report, other_key, "U-3").status_code == 201


@pytest.mark.parametrize("case,api_key,status", [
    ("no key", "", 403),
    ("wrong key", "not-a-key", 403),
])
def test_posts_without_a_valid_key_are_403_not_throttled(web, city, key, clock, settings, case,
                                                         api_key, status):
    # a key that is not a client's has no budget: it is refused as a key, every time
    settings.OPEN311_RATE = ["1/min"]
    for _ in range(3):
        assert new_request(web, city, api_key).status_code == status
    assert new_request(web, city, key.key).status_code == 201


def test_default_rates_when_the_setting_is_absent(city, key, settings):
    del settings.OPEN311_RATE
    throttle = open311.ClientThrottle(key.client)
    assert throttle.rates() == [(60, MINUTE), (5000, DAY)]
    assert throttle.identity(None) == f"client:{key.client.pk}"
