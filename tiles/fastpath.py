"""Anonymous vector tiles served straight from WSGI, beside Django's request cycle.

Why: a z16 tile's SQL takes 3-6 ms, and Django's generic request cycle (the middleware
chain, URL resolving, the per-request connection health check, a `SELECT 1` round trip,
the response object) adds about 1.5 ms to it. The map asks for dozens of tiles per pan,
almost all of them anonymous. `TileFastPath` wraps the WSGI application and answers those
requests itself: the same Django request object and the request hooks of the middleware
that matter for them, the view's own reply (`tiles.apis.vector_tile_reply`, which the
Django view sends too), and the headers the middleware add. Everything else goes to Django
unchanged.

A request takes the fast path only when all of these hold; otherwise Django serves it:
- GET or HEAD of `/tiles/{layer}/{z}/{x}/{y}.pbf` for a layer that is not staff-only;
- no credentials: no session cookie, no `Authorization` header (so the audience is the
  public, exactly what `AuthenticationMiddleware` would give);
- a Host in ALLOWED_HOSTS, and no HTTPS redirect due (SECURE_SSL_REDIRECT);
- the view raises nothing (a bad z/x/y or filter, or a failure, goes to Django, which
  answers with its JSON error and logs as always);
- settings.MIDDLEWARE holds only the middleware listed below (`HOOKED_MIDDLEWARE`, whose
  request hooks the fast path calls and whose response headers it adds, and
  `INERT_MIDDLEWARE`, which does nothing for such a request), and TILE_FAST_PATH is on. A
  project that adds middleware gets a warning at start-up and every tile through Django
  until this module knows it.

Response: no `HttpResponse` and no response hooks per tile. The hooked middleware add the
same headers to every tile reply of a kind of request (plain or HTTPS), so
`TileFastPath.added_headers` finds them once per kind by running the hooks over an empty
response; the rare request whose response needs more (a malformed CSRF cookie, renewed
with a Set-Cookie) goes through the hooks as a Django response. That work comes after the
database wait, where Python runs slowest on this kind of machine (any pause of a few
milliseconds leaves the CPU's caches cold), so it is worth ~0.1 ms of a 5 ms tile.

Request signals: none. Their receivers in Django do housekeeping: close a database
connection past CONN_MAX_AGE or broken, close cache connections (nothing to do for the
local-memory and Redis caches), reset the query log of DEBUG and the URLconf (which the fast
path never sets). The fast path does the first itself when the body is closed, and skips
the per-request `SELECT 1` health check: tile statements are read-only, and `tiles.sql`
reconnects and retries once when the connection turns out broken. Sending both signals cost
0.11-0.18 ms a cold z16 tile here, a fifth of what the fast path adds to the statement.
Like WhiteNoise's files, a tile served here is not seen by receivers of those signals;
`tests/tiles/test_fastpath.py` pins the receivers Django connects, so that one added by a
dependency is noticed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest
from django.db import connection
from django.http import HttpResponse, parse_cookie
from django.utils.module_loading import import_string

from . import apis
from .layers import LAYERS
from .serving import TileReply
from .urls import MOUNT, VECTOR_TILE

logger = logging.getLogger(__name__)

TILE_PATH = re.compile(rf"^{MOUNT}{VECTOR_TILE}$")  # the view's own route (tiles.urls)
# Middleware whose process_request the fast path calls, in Django's order (host check,
# HTTPS redirect, the CSRF cookie), and whose process_response gives the headers they add
# (security headers, X-Frame-Options; see TileFastPath.added_headers).
HOOKED_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)
# Middleware that does nothing for an anonymous GET of a tile: no static file at that path,
# no session to load or save (no session cookie, and the view does not touch the session),
# no messages, and no error to turn into JSON (errors are left to Django).
INERT_MIDDLEWARE = (
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tiles.middleware.LocaleMiddleware",  # leaves /tiles/ alone by design
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "geocity.errors.JsonErrorMiddleware",
)
FAST_LAYERS = frozenset(name for name, cls in LAYERS.items() if not cls.staff_only)

StartResponse = Callable[..., object]
Answer = tuple[str, list[tuple[str, str]], Iterable[bytes]]
STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def _unknown_middleware() -> list[str]:
    known = set(HOOKED_MIDDLEWARE) | set(INERT_MIDDLEWARE)
    return [name for name in settings.MIDDLEWARE if name not in known]


def _no_response(request):
    raise AssertionError("the fast path only calls process_request and process_response")


class TileFastPath:
    """WSGI middleware: anonymous vector tiles here, every other request to `app`."""

    def __init__(self, app: Callable[[dict, StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        wanted = settings.TILE_FAST_PATH
        unknown = _unknown_middleware()
        if wanted and unknown:
            logger.warning("Tile fast path off: it does not know the middleware %s.",
                           ", ".join(unknown))
        self.enabled = wanted and not unknown
        middleware = [import_string(name)(_no_response)
                      for name in settings.MIDDLEWARE if name in HOOKED_MIDDLEWARE]
        self.request_middleware = [m for m in middleware if hasattr(m, "process_request")]
        self.response_middleware = [m for m in reversed(middleware)
                                    if hasattr(m, "process_response")]
        self._added_headers: dict[tuple[bool, str], tuple[tuple[str, str], ...]] = {}

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        answer = self.serve(environ) if self.enabled else None
        if answer is None:
            return self.app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return body  # the server calls its close() once the body is sent (Body)

    def serve(self, environ: dict) -> Answer | None:
        """(status line, headers, body) of the tile, or None when Django must handle the
        request."""
        match = TILE_PATH.match(environ.get("PATH_INFO", ""))
        if (
            match is None
            or match["layer"] not in FAST_LAYERS
            or environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or environ.get("HTTP_AUTHORIZATION")
            or _has_session_cookie(environ)
        ):
            return None
        request = WSGIRequest(environ)
        request.user = AnonymousUser()
        try:
            # Host check, HTTPS redirect, user-agent ban: a middleware that would answer
            # by itself (a redirect, a 400/403) leaves the request to Django.
            if any(m.process_request(request) is not None for m in self.request_middleware):
                return None
        except (SuspiciousOperation, PermissionDenied):
            return None
        # No SELECT 1 health check: tiles.sql reconnects and retries once instead.
        connection.health_check_done = True
        try:
            reply = apis.vector_tile_reply(request, match["layer"], match["z"], match["x"],
                                           match["y"])
        except Exception:
            # Bad input (a domain error) or a failure: Django answers it as it always does,
            # with its JSON error body and its error logging.
            return None
        if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
            return self._through_middleware(request, reply)
        headers = [("Content-Type", reply.content_type), *reply.headers,
                   *self.added_headers(request, reply.content_type),
                   ("Content-Length", str(len(reply.body)))]
        return STATUS_LINES[reply.status], headers, Body(reply.body)

    def added_headers(self, request: WSGIRequest,
                      content_type: str) -> tuple[tuple[str, str], ...]:
        """The headers the hooked middleware add to a tile response, besides Content-Length.

        They depend on the request only through `is_secure()` (HSTS) and the CSRF cookie's
        renewal (which `serve` leaves to `_through_middleware`), and on none of the tile's
        own headers, so they are found once per kind of request and content type by
        running the middleware over an empty response; a tile then costs no response
        object and no middleware calls. (The middleware read most of their settings when
        built, as in Django.)
        """
        kind = (request.is_secure(), content_type)
        added = self._added_headers.get(kind)
        if added is None:
            sample = HttpResponse(content_type=content_type)
            own = {name.lower() for name in sample.headers}
            for middleware in self.response_middleware:
                sample = middleware.process_response(request, sample)
            added = tuple((name, value) for name, value in sample.items()
                          if name.lower() not in own and name.lower() != "content-length")
            self._added_headers[kind] = added
        return added

    def _through_middleware(self, request: WSGIRequest, reply: TileReply) -> Answer:
        """The reply as a Django response through the middleware's response hooks: for the
        rare request whose response carries a cookie (a malformed CSRF cookie renewed)."""
        response = apis.as_response(reply)
        for middleware in self.response_middleware:
            response = middleware.process_response(request, response)
        headers = [*response.items(),
                   *(("Set-Cookie", c.output(header="")) for c in response.cookies.values())]
        return STATUS_LINES[response.status_code], headers, Body(response.content)


def _has_session_cookie(environ: dict) -> bool:
    cookies = environ.get("HTTP_COOKIE")
    return bool(cookies) and settings.SESSION_COOKIE_NAME in parse_cookie(cookies)


class Body:
    """A tile body as a WSGI iterable. Its `close()`, which the server calls once the body
    is sent, drops the database connection when it is past CONN_MAX_AGE or broken: what
    the request signals do for a tile (see the module docstring)."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def __iter__(self):
        yield self.content

    def close(self) -> None:
        # Never in the middle of a transaction: only a test starts a request inside one.
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
