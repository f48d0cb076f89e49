"""geocity.dbrouter's rules, in-process. The real replica is exercised in tests/stack/."""

import pytest
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, transaction

from geocity import dbrouter
from geocity.dbrouter import PIN_COOKIE, ReplicaMiddleware, ReplicaRouter, RequestRouting


@pytest.mark.parametrize(("method", "path", "cookies", "expected"), [
    ("GET", "/tiles/reports/14/9787/5690.pbf", {}, True),
    ("HEAD", "/tiles/heat/12/2446/1415.png", {}, True),
    ("GET", "/api/v1/reports/", {}, True),
    ("GET", "/api/v1/reports/12/", {}, True),
    ("GET", "/open311/v2/requests.json", {}, True),
    ("GET", "/dashboard/", {}, True),
    ("GET", "/dashboard/", {PIN_COOKIE: "1"}, False),  # wrote seconds ago: the primary
    ("POST", "/api/v1/reports/", {}, False),
    ("POST", "/open311/v2/requests.json", {}, False),
    ("GET", "/workspace/", {}, False),  # staff act on what they read
    ("GET", "/my/", {}, False),
    ("GET", "/api/v1/me/", {}, False),
])
def test_which_requests_may_read_a_replica(method, path, cookies, expected):
    assert dbrouter.may_use_replica(method, path, cookies) is expected


def test_a_client_reads_the_primary_until_any_usable_replica_has_its_write(settings):
    settings.DATABASE_REPLICA_MAX_LAG = 5
    # a replica lagging at most 5 s, checked at most 1 s ago, has every write older than 6 s
    assert dbrouter.pin_seconds() == 7


@pytest.fixture
def one_replica(monkeypatch):
    """A replica alias that the lag check found usable (no second server needed)."""
    monkeypatch.setattr(dbrouter, "replica_aliases", lambda: ["replica1"])
    monkeypatch.setitem(dbrouter._health, "replica1", (float("inf"), True))


def _in_request(state: RequestRouting):
    return dbrouter._current.set(state)


def test_outside_requests_everything_reads_the_primary(one_replica):
    assert dbrouter.read_alias() == DEFAULT_DB_ALIAS


def test_a_public_read_goes_to_the_replica_until_the_request_writes(one_replica):
    token = _in_request(RequestRouting(may_use_replica=True))
    try:
        assert dbrouter.read_alias() == "replica1"
        assert ReplicaRouter().db_for_write(None) == DEFAULT_DB_ALIAS
        assert dbrouter.read_alias() == DEFAULT_DB_ALIAS
    finally:
        dbrouter._current.reset(token)


def test_a_request_that_may_not_use_replicas_reads_the_primary(one_replica):
    token = _in_request(RequestRouting(may_use_replica=False))
    try:
        assert dbrouter.read_alias() == DEFAULT_DB_ALIAS
    finally:
        dbrouter._current.reset(token)


def test_reads_inside_a_transaction_on_the_primary_stay_there(one_replica, db):
    token = _in_request(RequestRouting(may_use_replica=True))
    try:
        with transaction.atomic():
            assert dbrouter.read_alias() == DEFAULT_DB_ALIAS
    finally:
        dbrouter._current.reset(token)


def test_a_lagging_replica_is_skipped(monkeypatch):
    monkeypatch.setattr(dbrouter, "replica_aliases", lambda: ["replica1"])
    monkeypatch.setitem(dbrouter._health, "replica1", (float("inf"), False))
    token = _in_request(RequestRouting(may_use_replica=True))
    try:
        assert dbrouter.read_alias() == DEFAULT_DB_ALIAS
    finally:
        dbrouter._current.reset(token)


def test_a_primary_has_no_lag(db):
    # what a replica URL that points at a primary (a pooler, say) measures
    assert dbrouter.measure_lag(DEFAULT_DB_ALIAS) == 0.0


def test_without_replicas_the_middleware_steps_aside():
    with pytest.raises(MiddlewareNotUsed):
        ReplicaMiddleware(lambda request: None)


def test_migrations_run_on_the_primary_only():
    router = ReplicaRouter()
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "reports") is True
    assert router.allow_migrate("replica1", "reports") is False


@pytest.mark.parametrize(("may_use_replica", "expected"), [(True, 7), (False, 3600)])
def test_what_a_replica_computed_is_cached_only_until_the_replica_has_caught_up(
        one_replica, settings, may_use_replica, expected):
    settings.DATABASE_REPLICA_MAX_LAG = 5
    token = _in_request(RequestRouting(may_use_replica=may_use_replica))
    try:
        # a cache key counts a write the replica may not have replayed for up to L + 1 s
        assert dbrouter.cache_seconds(3600) == expected
        assert dbrouter.cache_seconds(2) == 2
    finally:
        dbrouter._current.reset(token)
