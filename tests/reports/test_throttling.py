"""Throttling of report creation (REPORT_RATE_IP for anonymous clients, REPORT_RATE_USER per
account), photo inspection and token requests. The throttles' clock is frozen and moved by
hand, so nothing here depends on how fast the tests run."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings

from layers.geometry import lat_lon
from reports import throttles
from reports.models import Report

from .. import factories as f

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"


@pytest.fixture
def clock(monkeypatch):
    """The throttles' time, in seconds; advance it with `clock[0] += n`."""
    now = [1_000_000.0]
    monkeypatch.setattr(throttles.MultiRateThrottle, "timer", staticmethod(lambda: now[0]))
    return now


@pytest.fixture
def post(api, city):
    lat, lon = lat_lon(city.centre)

    def _post(ip: str = "10.0.0.1", **headers):
        return api.post(URL, {"category": "pothole", "lat": lat, "lon": lon,
                              "description": "Pothole"}, format="json", REMOTE_ADDR=ip,
                        **headers)

    return _post


def assert_throttled(response, retry_after: int):
    assert response.status_code == 429, response.content
    assert response["Retry-After"] == str(retry_after)
    data = response.json()
    assert data["code"] == "throttled" and data["message"]
    assert data["retry_after"] == retry_after


@override_settings(REPORT_RATE_IP=["2/min", "3/day"])
def test_anonymous_limit_per_ip_with_retry_after(post, clock):
    # given two reports from one address within a minute
    assert [post().status_code, post().status_code] == [201, 201]
    # when a third comes 10 s later
    clock[0] += 10
    # then 429, with the seconds until the oldest leaves the minute window
    assert_throttled(post(), 50)
    # and another address is not affected
    assert post(ip="10.0.0.99").status_code == 201
    # when the minute has passed, one more fits; then the day is full
    clock[0] += 51
    assert post().status_code == 201
    clock[0] += 61
    assert_throttled(post(), 86400 - 122)
    assert Report.objects.count() == 4


@override_settings(REPORT_RATE_IP=["1/min"])
def test_refused_requests_are_not_counted(post, clock):
    # given one report, then a refused one 30 s later
    assert post().status_code == 201
    clock[0] += 30
    assert post().status_code == 429
    # when the first leaves the window (61 s after it)
    clock[0] += 31
    # then a new report is accepted: the refused attempt did not take a slot
    assert post().status_code == 201


@override_settings(REPORT_RATE_USER=["2/min"], REPORT_RATE_IP=["100/min"])
def test_signed_in_limit_per_account(api, post, users, clock):
    # given a resident who reported twice
    api.force_authenticate(users["resident"])
    assert [post().status_code, post().status_code] == [201, 201]
    # when they try a third time
    # then they are throttled
    assert_throttled(post(), 60)
    # but another account from the same address is not
    api.force_authenticate(users["other_resident"])
    assert post().status_code == 201
    # nor an anonymous client behind that address (per-IP limit applies to them)
    api.force_authenticate(None)
    assert post().status_code == 201


@override_settings(REPORT_RATE_IP=["1/min"])
def test_reading_is_never_throttled(api, post, clock):
    assert post().status_code == 201
    assert [api.get(URL).status_code for _ in range(5)] == [200] * 5


@override_settings(REPORT_RATE_IP=["1/min"])
def test_idempotent_retry_is_not_throttled(post, clock):
    # given a report made with an Idempotency-Key, which used the minute's only slot
    first = post(HTTP_IDEMPOTENCY_KEY="k-1")
    # when the client retries it (its first answer was lost)
    retry = post(HTTP_IDEMPOTENCY_KEY="k-1")
    # then the retry gets the report, not a 429; a new report is throttled
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["number"] == first.json()["number"]
    assert post(HTTP_IDEMPOTENCY_KEY="k-2").status_code == 429


@override_settings(REPORT_RATE_IP=["1/min"])
def test_photo_inspection_allows_a_report_worth_of_photos(api, clock, settings):
    # given the limit of one report a minute
    def inspect():
        return api.post("/api/v1/photos/inspect/", {"photo": f.image_file(size=(20, 20))},
                        format="multipart")

    # when photos are inspected one by one
    statuses = [inspect().status_code for _ in range(settings.PHOTO_MAX_PER_REPORT + 1)]
    # then a full report's worth passes, and the next is throttled
    assert statuses == [200] * settings.PHOTO_MAX_PER_REPORT + [429]


@override_settings(AUTH_TOKEN_RATE=["2/min"])
def test_token_requests_are_throttled(api, users, clock):
    # given someone guessing passwords
    attempts = [api.post("/api/v1/auth/token/", {"username": "resident", "password": p},
                         format="json") for p in ("a", "b", "c")]
    # then the third try is refused before the password is checked
    assert [a.status_code for a in attempts] == [400, 400, 429]


@pytest.mark.parametrize("rates, parsed", [
    (["10/min", "100/day"], [(10, 60), (100, 86400)]),
    (["5/s", "7/hour"], [(5, 1), (7, 3600)]),
    ("3/m,4/d", [(3, 60), (4, 86400)]),
    ([], []),
])
def test_rates_parse(rates, parsed):
    assert throttles.parse_rates(rates, setting="X") == parsed


@pytest.mark.parametrize("bad", [["ten/min"], ["10/fortnight"], ["10"]])
def test_bad_rates_name_the_setting(bad):
    with pytest.raises(ImproperlyConfigured, match="REPORT_RATE_IP"):
        throttles.parse_rates(bad, setting="REPORT_RATE_IP")
