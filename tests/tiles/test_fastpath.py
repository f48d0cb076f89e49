"""The WSGI tile fast path (`tiles.fastpath`): which requests it answers, that its answers
are byte for byte Django's, and that everything else reaches Django untouched."""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import mapbox_vector_tile
import pytest
from django.conf import settings
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, connection, connections
from django.test import Client, RequestFactory, override_settings
from rest_framework.authtoken.models import Token

from tiles import sql as tsql
from tiles.fastpath import HOOKED_MIDDLEWARE, TileFastPath
from tiles.layers import ReportsLayer

from .. import factories as f
from .conftest import by_id, tile_of


@dataclass
class Reply:
    status: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class CountingApp:
    """Django's WSGI handler, counting the requests the fast path left to it."""

    def __init__(self) -> None:
        self.django = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.django(environ, start_response)


@contextmanager
def _test_transaction_kept() -> Iterator[None]:
    """As Django's test client does: the request signals must not close the connection
    that holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def call(app, method: str, path: str, *, keep_transaction: bool = True, **extra) -> Reply:
    """One request as a WSGI server makes it. `keep_transaction=False` lets the request
    signals manage the connection as in production (for transactional tests)."""
    environ = getattr(RequestFactory(), method.lower())(path, **extra).environ
    started: list = []

    def start_response(status, headers, exc_info=None):
        started[:] = [status, headers]

    with _test_transaction_kept() if keep_transaction else nullcontext():
        chunks = app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            chunks.close()
    return Reply(started[0], started[1], body)


@pytest.fixture
def apps():
    """(the fast path in front of a counting Django, a plain Django to compare with)."""
    inner = CountingApp()
    return TileFastPath(inner), inner, WSGIHandler()


def _comparable(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sorted headers, a new cookie's random value masked."""
    return sorted((k, re.sub(r"^ ?([\w-]+)=[^;]*", r"\1=*", v) if k == "Set-Cookie" else v)
                  for k, v in headers)


def assert_same(a: Reply, b: Reply) -> None:
    assert a.status == b.status
    assert _comparable(a.headers) == _comparable(b.headers)
    assert a.body == b.body


@pytest.fixture
def scene(city):
    """Reports, a hazard report, a mine-hazard zone and a shelter around the centre."""
    for i in range(40):
        f.ReportFactory(category=city.pothole, department=city.roads,
                        location=f.offset(city.centre, 15 * i, 9 * (i % 7)))
    f.ReportFactory(category=city.explosive, department=city.dsns, is_hazard=True,
                    location=f.offset(city.centre, 180, 120))
    f.HazardZoneFactory(geometry=f.around_centre(300))
    f.InfrastructureFeatureFactory()
    return city


def _fast_cases(city) -> list[tuple[str, dict]]:
    z16, z14, z10 = (tile_of(city.centre, z) for z in (16, 14, 10))
    gz = {"HTTP_ACCEPT_ENCODING": "gzip"}
    return [
        (z16.url(), gz),  # points
        (z16.url(), {}),  # points, uncompressed
        (z10.url(), gz),  # cells
        (z14.url() + "?category=pothole&status=assigned", gz),
        ("/tiles/reports/3/0/0.pbf", gz),  # the Americas: 204
        (z14.url("hazard-zones"), gz),
        (z14.url("infrastructure") + "?kind=shelter", gz),
        (z10.url("districts"), {"HTTP_ACCEPT_LANGUAGE": "en"}),
        (z10.url("districts"), {"HTTP_ACCEPT_LANGUAGE": "uk"}),
        (z10.url("districts"), {"HTTP_COOKIE": f"{settings.LANGUAGE_COOKIE_NAME}=en"}),
        (z10.url("service-area"), {}),
        (z16.url(), {**gz, "HTTP_COOKIE": f"{settings.CSRF_COOKIE_NAME}={'a' * 32}; x=1"}),
        # a malformed CSRF cookie: Django renews it on any response, so does the fast path
        (z16.url(), {**gz, "HTTP_COOKIE": f"{settings.CSRF_COOKIE_NAME}=abc"}),
    ]


@pytest.mark.parametrize("case", range(13))
def test_anonymous_tiles_take_the_fast_path_and_match_django(scene, apps, case):
    fast, inner, django = apps
    path, headers = _fast_cases(scene)[case]
    # when an anonymous client asks both ways, each with a cold server cache
    through_fast = call(fast, "GET", path, **headers)
    cache.clear()
    through_django = call(django, "GET", path, **headers)
    # then the fast path answered by itself, with exactly Django's status, headers and bytes
    assert inner.calls == 0
    assert_same(through_fast, through_django)
    assert through_fast.status.split()[0] in ("200", "204")


def test_fast_path_tiles_carry_the_security_and_cache_headers(scene, apps):
    fast, inner, _ = apps
    for i in range(200):  # enough points for the tile to be worth compressing
        f.ReportFactory(category=scene.pothole, department=scene.roads,
                        location=f.offset(scene.centre, (i % 20) * 10, (i // 20) * 10))
    url = tile_of(scene.centre, 16).url()
    reply = call(fast, "GET", url, HTTP_ACCEPT_ENCODING="gzip")
    assert inner.calls == 0
    assert reply.header("Content-Encoding") == "gzip"
    assert reply.header("Cache-Control") == "public, max-age=60"
    assert reply.header("X-Content-Type-Options") == "nosniff"
    assert reply.header("X-Frame-Options") == "DENY"
    assert reply.header("Content-Length") == str(len(reply.body))
    assert "Accept-Encoding" in reply.header("Vary")


def test_fast_path_languages_differ_like_djangos(scene, apps):
    fast, inner, _ = apps
    url = tile_of(scene.centre, 10).url("districts")
    english = call(fast, "GET", url, HTTP_ACCEPT_LANGUAGE="en")
    ukrainian = call(fast, "GET", url, HTTP_ACCEPT_LANGUAGE="uk")
    assert inner.calls == 0
    assert english.header("Content-Language") == "en"
    assert ukrainian.header("Content-Language") == "uk"
    assert english.body != ukrainian.body


def test_revalidation_and_head_on_the_fast_path(scene, apps):
    fast, inner, django = apps
    url = tile_of(scene.centre, 16).url()
    etag = call(fast, "GET", url).header("ETag")
    # a client holding the tile revalidates: 304, no body, same headers as Django's
    revalidated = call(fast, "GET", url, HTTP_IF_NONE_MATCH=etag)
    assert revalidated.status.startswith("304") and revalidated.body == b""
    assert_same(revalidated, call(django, "GET", url, HTTP_IF_NONE_MATCH=etag))
    assert_same(call(fast, "HEAD", url), call(django, "HEAD", url))
    assert inner.calls == 0


def test_a_fast_tile_is_one_query_and_a_cached_one_none(scene, apps,
                                                        django_assert_num_queries):
    fast, _, _ = apps
    url = tile_of(scene.centre, 16).url()
    with django_assert_num_queries(1):
        assert call(fast, "GET", url).status.startswith("200")
    with django_assert_num_queries(0):
        assert call(fast, "GET", url).status.startswith("200")


@pytest.mark.django_db(transaction=True)  # a cancelled statement aborts a test transaction
def test_a_timed_out_tile_is_the_same_503_on_both_paths(scene, apps, monkeypatch):
    # given a tile statement slower than the (lowered) statement timeout
    fast, inner, django = apps
    monkeypatch.setattr(tsql, "STATEMENT_TIMEOUT_MS", 50)
    monkeypatch.setattr(ReportsLayer, "statement",
                        lambda self, box, now: tsql.Statement("SELECT pg_sleep(1), NULL", []))
    url = tile_of(scene.centre, 16).url()
    # when an anonymous client asks for it
    through_fast = call(fast, "GET", url, keep_transaction=False)
    # then the fast path itself says so, exactly as Django does: 503, JSON, Retry-After
    assert inner.calls == 0
    assert through_fast.status.startswith("503")
    assert through_fast.header("Retry-After") == "10"
    assert_same(through_fast, call(django, "GET", url, keep_transaction=False))


def test_middleware_headers_are_worked_out_once_per_kind_of_request(scene, monkeypatch):
    # given the fast path, counting the calls of a middleware's response hook
    from django.middleware.clickjacking import XFrameOptionsMiddleware

    calls = []
    hook = XFrameOptionsMiddleware.process_response

    def counted(self, request, response):
        calls.append(request.is_secure())
        return hook(self, request, response)

    monkeypatch.setattr(XFrameOptionsMiddleware, "process_response", counted)
    fast = TileFastPath(CountingApp())
    z16, z14 = tile_of(scene.centre, 16), tile_of(scene.centre, 14)
    # when plain and HTTPS clients ask for several tiles
    replies = [call(fast, "GET", url, **extra)
               for url in (z16.url(), z14.url(), z16.url("hazard-zones"))
               for extra in ({}, {"secure": True})]
    # then the hook ran once for plain requests and once for HTTPS, not once a tile
    assert sorted(calls) == [False, True]
    assert all(reply.header("X-Frame-Options") == "DENY" for reply in replies)


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.mark.parametrize(
    "method, path, headers, status",
    [
        ("OPTIONS", "/tiles/reports/1/0/0.pbf", {}, "405"),
        ("POST", "/tiles/reports/1/0/0.pbf", {}, "403"),  # no CSRF token
        ("GET", "/tiles/reports/23/0/0.pbf", {}, "400"),  # bad z
        ("GET", "/tiles/reports/2/4/0.pbf", {}, "400"),  # bad x
        ("GET", "/tiles/secrets/1/0/0.pbf", {}, "404"),  # unknown layer
        ("GET", "/tiles/responsibility/10/0/0.pbf", {}, "403"),  # staff only
        ("GET", "/tiles/reports/10/0/0.pbf?status=nonsense", {}, "400"),
        ("GET", "/tiles/infrastructure/10/0/0.pbf?kind=volcano", {}, "400"),
        ("GET", "/tiles/reports/10/0/0.pbf", {"HTTP_HOST": "evil.example.com"}, "400"),
        ("GET", "/tiles/heat/10/0/0.png", {}, "200"),
        ("GET", "/tiles/reports.json", {}, "200"),
        ("GET", "/api/v1/stats/grid/", {}, "200"),
    ],
)
def test_other_requests_reach_django_untouched(scene, apps, method, path, headers, status):
    fast, inner, django = apps
    through_fast = call(fast, method, path, **headers)
    cache.clear()
    assert inner.calls == 1
    assert through_fast.status.startswith(status)
    assert_same(through_fast, call(django, method, path, **headers))


def test_a_failing_tile_is_djangos_json_500(scene, apps, monkeypatch):
    fast, inner, _ = apps

    def broken(self, box):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ReportsLayer, "render", broken)
    reply = call(fast, "GET", tile_of(scene.centre, 16).url())
    assert inner.calls == 1
    assert reply.status.startswith("500")
    assert reply.header("Content-Type") == "application/json"


def test_signed_in_staff_go_through_django_and_see_staff_tiles(scene, users, apps):
    fast, inner, _ = apps
    hidden = f.ReportFactory(category=scene.pothole, department=scene.roads, is_hidden=True,
                             location=scene.centre)
    url = tile_of(scene.centre, 16).url()
    # an anonymous request does not show the hidden report
    public = call(fast, "GET", url)
    assert hidden.pk not in by_id(_features(public))
    # the same URL with a staff session is Django's: the staff tile
    staff = call(fast, "GET", url, HTTP_COOKIE=_session_cookie(users["roads"]))
    assert inner.calls == 1
    assert hidden.pk in by_id(_features(staff))
    assert staff.header("Cache-Control") == "private, max-age=60"


def test_token_clients_go_through_django(scene, users, apps):
    fast, inner, _ = apps
    token = Token.objects.create(user=users["roads"])
    url = tile_of(scene.centre, 10).url("responsibility")
    reply = call(fast, "GET", url, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert inner.calls == 1
    assert reply.status.startswith("200")


@override_settings(SECURE_SSL_REDIRECT=True)
def test_https_redirect_is_left_to_django(scene):
    inner = CountingApp()
    fast = TileFastPath(inner)  # middleware read their settings when built
    url = tile_of(scene.centre, 16).url()
    reply = call(fast, "GET", url)
    assert inner.calls == 1
    assert reply.status.startswith("301")
    assert reply.header("Location").startswith("https://")
    # over HTTPS the fast path serves it, with HSTS as Django would add it
    secure = call(fast, "GET", url, secure=True)
    assert inner.calls == 1
    assert secure.status.startswith("200")


@override_settings(SECURE_HSTS_SECONDS=3600, SECURE_SSL_REDIRECT=True)
def test_hsts_matches_django_over_https(scene):
    fast, django = TileFastPath(CountingApp()), WSGIHandler()
    url = tile_of(scene.centre, 16).url()
    reply = call(fast, "GET", url, secure=True)
    assert reply.header("Strict-Transport-Security") == "max-age=3600"
    cache.clear()
    assert_same(reply, call(django, "GET", url, secure=True))


def test_unknown_middleware_turns_the_fast_path_off(scene, caplog):
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, "tests.tiles.test_fastpath.Noop"]):
        with caplog.at_level(logging.WARNING, logger="tiles.fastpath"):
            inner = CountingApp()
            fast = TileFastPath(inner)
        reply = call(fast, "GET", tile_of(scene.centre, 16).url())
    assert not fast.enabled
    assert "tests.tiles.test_fastpath.Noop" in caplog.text
    assert inner.calls == 1 and reply.status.startswith("200")


@override_settings(TILE_FAST_PATH=False)
def test_the_fast_path_can_be_switched_off(scene):
    inner = CountingApp()
    reply = call(TileFastPath(inner), "GET", tile_of(scene.centre, 16).url())
    assert inner.calls == 1 and reply.status.startswith("200")


def test_the_header_middleware_is_in_the_settings():
    # the fast path calls these for their headers: they must be what Django runs too
    assert set(HOOKED_MIDDLEWARE) <= set(settings.MIDDLEWARE)


def test_the_wsgi_entry_point_has_the_fast_path():
    from geocity.wsgi import application

    assert isinstance(application, TileFastPath) and application.enabled


@pytest.mark.django_db(transaction=True)
def test_the_fast_path_survives_a_connection_broken_while_idle(scene, apps, monkeypatch):
    # given a kept-alive connection whose server process went away between requests
    fast, inner, _ = apps
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    connection.close()
    connection.ensure_connection()
    before = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [before])
    other.close()
    # when an anonymous tile is asked for (no SELECT 1 health check on this path)
    reply = call(fast, "GET", tile_of(scene.centre, 16).url(), keep_transaction=False)
    # then the tile statement reconnected and the tile came
    assert reply.status.startswith("200") and inner.calls == 0
    assert connection.connection.info.backend_pid != before
    connection.close()


def _receivers(signal) -> list[str]:
    found = []
    for _, receiver, _ in signal.receivers:
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        found.append(f"{receiver.__module__}.{receiver.__qualname__}")
    return sorted(found)


def test_the_request_signals_have_only_djangos_housekeeping_receivers():
    # the fast path sends no request signals and does what these receivers do for a tile
    # itself (tiles.fastpath): a receiver added by a dependency must be looked at first
    assert _receivers(signals.request_started) == [
        "django.db.close_old_connections", "django.db.reset_queries"]
    assert _receivers(signals.request_finished) == [
        "django.core.cache.close_caches", "django.core.handlers.base.reset_urlconf",
        "django.db.close_old_connections"]


@pytest.mark.django_db(transaction=True)
def test_a_fast_tile_closes_a_connection_past_its_age_as_djangos_signals_would(scene, apps,
                                                                              monkeypatch):
    # given a connection kept alive for at most 600 s, opened 601 s ago
    fast, inner, _ = apps
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    connection.close()
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1
    # when an anonymous tile is served on it
    reply = call(fast, "GET", tile_of(scene.centre, 16).url(), keep_transaction=False)
    # then the tile came, and the connection was closed once the body was sent
    assert reply.status.startswith("200") and inner.calls == 0
    assert connection.connection is None
    # while a young connection is kept for the next tile
    connection.ensure_connection()
    call(fast, "GET", tile_of(scene.centre, 14).url(), keep_transaction=False)
    assert connection.connection is not None
    connection.close()


def test_a_fast_tile_sends_no_request_signals(scene, apps):
    fast, inner, _ = apps
    sent = []

    def record(sender, **kwargs):
        sent.append(sender)

    signals.request_started.connect(record)
    signals.request_finished.connect(record)
    try:
        call(fast, "GET", tile_of(scene.centre, 16).url())
        assert inner.calls == 0 and sent == []
        # while a request left to Django sends both, as always
        call(fast, "GET", "/tiles/reports.json")
        assert inner.calls == 1 and len(sent) == 2
    finally:
        signals.request_started.disconnect(record)
        signals.request_finished.disconnect(record)


class Noop:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


def _features(reply: Reply) -> list[dict]:
    if not reply.body:
        return []
    return mapbox_vector_tile.decode(reply.body)["reports"]["features"]
