"""Tiles through the WSGI entry point (`geocity.wsgi`, what gunicorn serves): every tile goes
through Django's request cycle and middleware, with the headers, conditional requests,
errors and connection housekeeping a production server relies on.

These replace the tests of the retired WSGI fast path: the same requests and the same
assertions, now about the one request path there is.
"""

from __future__ import annotations

import time
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

    @property
    def code(self) -> int:
        return int(self.status.split()[0])


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


def call(method: str, path: str, *, app=None, keep_transaction: bool = True, **extra) -> Reply:
    """One request as a WSGI server makes it. `keep_transaction=False` lets the request
    signals manage the connection as in production (for transactional tests)."""
    app = app or WSGIHandler()
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


def _features(reply: Reply) -> list[dict]:
    if not reply.body:
        return []
    return mapbox_vector_tile.decode(reply.body)["reports"]["features"]


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


def test_the_wsgi_entry_point_is_djangos_own_application():
    from geocity.wsgi import application

    assert type(application) is WSGIHandler


@pytest.mark.parametrize("kind", ["points", "cells", "filtered", "empty", "hazard-zones",
                                  "infrastructure", "service-area"])
def test_anonymous_tiles_through_wsgi(scene, kind):
    z16, z14, z10 = (tile_of(scene.centre, z) for z in (16, 14, 10))
    path = {
        "points": z16.url(), "cells": z10.url(),
        "filtered": z14.url() + "?category=pothole&status=assigned",
        "empty": "/tiles/reports/3/0/0.pbf",  # the Americas
        "hazard-zones": z14.url("hazard-zones"),
        "infrastructure": z14.url("infrastructure") + "?kind=shelter",
        "service-area": z10.url("service-area"),
    }[kind]
    reply = call("GET", path, HTTP_ACCEPT_ENCODING="gzip")
    assert reply.code == (204 if kind == "empty" else 200)
    assert reply.header("Cache-Control") == "public, max-age=60"
    if reply.code == 200:
        assert reply.header("Content-Type") == "application/vnd.mapbox-vector-tile"
        assert reply.header("ETag")


def test_tiles_carry_the_security_and_cache_headers(scene):
    for i in range(200):  # enough points for the tile to be worth compressing
        f.ReportFactory(category=scene.pothole, department=scene.roads,
                        location=f.offset(scene.centre, (i % 20) * 10, (i // 20) * 10))
    reply = call("GET", tile_of(scene.centre, 16).url(), HTTP_ACCEPT_ENCODING="gzip")
    assert reply.header("Content-Encoding") == "gzip"
    assert reply.header("Cache-Control") == "public, max-age=60"
    assert reply.header("X-Content-Type-Options") == "nosniff"
    assert reply.header("X-Frame-Options") == "DENY"
    assert reply.header("Content-Length") == str(len(reply.body))
    assert "Accept-Encoding" in reply.header("Vary")


def test_district_tiles_follow_the_language(scene):
    url = tile_of(scene.centre, 10).url("districts")
    english = call("GET", url, HTTP_COOKIE=f"{settings.LANGUAGE_COOKIE_NAME}=en")
    ukrainian = call("GET", url, HTTP_COOKIE=f"{settings.LANGUAGE_COOKIE_NAME}=uk")
    assert english.header("Content-Language") == "en"
    assert ukrainian.header("Content-Language") == "uk"
    assert english.body != ukrainian.body


def test_revalidation_and_head(scene):
    url = tile_of(scene.centre, 16).url()
    first = call("GET", url)
    etag = first.header("ETag")
    # a client holding the tile revalidates: 304, no body, the same validator
    revalidated = call("GET", url, HTTP_IF_NONE_MATCH=etag)
    assert revalidated.code == 304 and revalidated.body == b""
    assert revalidated.header("ETag") == etag
    head = call("HEAD", url)  # the WSGI server drops a HEAD's body; the headers are GET's
    assert head.code == 200
    assert (head.header("ETag"), head.header("Content-Length")) == (
        etag, first.header("Content-Length"))


def test_a_cold_tile_is_one_query_and_a_cached_one_none(scene, django_assert_num_queries):
    url = tile_of(scene.centre, 16).url()
    with django_assert_num_queries(1):
        assert call("GET", url).code == 200
    with django_assert_num_queries(0):
        assert call("GET", url).code == 200


@pytest.mark.django_db(transaction=True)  # a cancelled statement aborts a test transaction
def test_a_timed_out_tile_is_a_503_with_retry_after(scene, monkeypatch):
    # given a tile statement slower than the (lowered) statement timeout
    monkeypatch.setattr(tsql, "STATEMENT_TIMEOUT_MS", 50)
    monkeypatch.setattr(ReportsLayer, "statement",
                        lambda self, box, now: tsql.Statement("SELECT pg_sleep(1), NULL", []))
    # when a client asks for it
    reply = call("GET", tile_of(scene.centre, 16).url(), keep_transaction=False)
    # then it is told to come back, in JSON
    assert reply.code == 503
    assert reply.header("Retry-After") == "10"
    assert reply.header("Content-Type") == "application/json"


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.mark.parametrize(
    "method, path, headers, status",
    [
        ("OPTIONS", "/tiles/reports/1/0/0.pbf", {}, 405),
        ("POST", "/tiles/reports/1/0/0.pbf", {}, 403),  # no CSRF token
        ("GET", "/tiles/reports/23/0/0.pbf", {}, 400),  # bad z
        ("GET", "/tiles/reports/2/4/0.pbf", {}, 400),  # bad x
        ("GET", "/tiles/secrets/1/0/0.pbf", {}, 404),  # unknown layer
        ("GET", "/tiles/responsibility/10/0/0.pbf", {}, 403),  # staff only
        ("GET", "/tiles/reports/10/0/0.pbf?status=nonsense", {}, 400),
        ("GET", "/tiles/infrastructure/10/0/0.pbf?kind=volcano", {}, 400),
        ("GET", "/tiles/reports/10/0/0.pbf", {"HTTP_HOST": "evil.example.com"}, 400),
        ("GET", "/tiles/heat/10/0/0.png", {}, 200),
        ("GET", "/tiles/reports.json", {}, 200),
        ("GET", "/api/v1/stats/grid/", {}, 200),
    ],
)
def test_errors_and_other_tile_requests(scene, method, path, headers, status):
    reply = call(method, path, **headers)
    assert reply.code == status
    if status >= 400:  # machine-readable errors, never an HTML page
        assert reply.header("Content-Type") == "application/json", reply.body[:200]


def test_a_failing_tile_is_a_json_500(scene, monkeypatch):
    def broken(self, box):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ReportsLayer, "render", broken)
    reply = call("GET", tile_of(scene.centre, 16).url())
    assert reply.code == 500
    assert reply.header("Content-Type") == "application/json"


def test_signed_in_staff_see_staff_tiles(scene, users):
    hidden = f.ReportFactory(category=scene.pothole, department=scene.roads, is_hidden=True,
                             location=scene.centre)
    url = tile_of(scene.centre, 16).url()
    # an anonymous request does not show the hidden report
    assert hidden.pk not in by_id(_features(call("GET", url)))
    # the same URL with a staff session is the staff tile, privately cached
    staff = call("GET", url, HTTP_COOKIE=_session_cookie(users["roads"]))
    assert hidden.pk in by_id(_features(staff))
    assert staff.header("Cache-Control") == "private, max-age=60"


def test_token_clients_get_staff_layers(scene, users):
    token = Token.objects.create(user=users["roads"])
    url = tile_of(scene.centre, 10).url("responsibility")
    assert call("GET", url, HTTP_AUTHORIZATION=f"Token {token.key}").code == 200


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=3600)
def test_https_redirect_and_hsts(scene):
    url = tile_of(scene.centre, 16).url()
    plain = call("GET", url)
    assert plain.code == 301
    assert plain.header("Location").startswith("https://")
    secure = call("GET", url, secure=True)
    assert secure.code == 200
    assert secure.header("Strict-Transport-Security") == "max-age=3600"
    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_a_connection_broken_while_idle_is_replaced(scene, monkeypatch):
    # given a kept-alive connection whose server process went away between requests
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    connection.close()
    connection.ensure_connection()
    before = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [before])
    other.close()
    # when a tile is asked for
    reply = call("GET", tile_of(scene.centre, 16).url(), keep_transaction=False)
    # then a new connection served it
    assert reply.code == 200
    assert connection.connection.info.backend_pid != before
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_connection_past_its_age_is_closed_after_the_tile(scene, monkeypatch):
    # given a connection kept alive for at most 600 s, opened 601 s ago
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    connection.close()
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1
    # when a tile is served
    reply = call("GET", tile_of(scene.centre, 16).url(), keep_transaction=False)
    # then the tile came (on a fresh connection), which is kept for the next tile
    assert reply.code == 200
    young = connection.connection
    call("GET", tile_of(scene.centre, 14).url(), keep_transaction=False)
    assert connection.connection is young is not None
    connection.close()
