"""Anonymous vector tiles served straight from WSGI, beside Django's request cycle.

Why: a z16 tile's SQL takes 2-6 ms, and Django's generic request cycle (the middleware
chain, URL resolving, the request signals and the per-request connection health check, a
`SELECT 1` round trip) adds about 1.5 ms to it. The map asks for dozens of tiles per pan,
almost all of them anonymous. `TileFastPath` wraps the WSGI application and answers those
requests with the same view (`tiles.apis.vector_tile`), the same Django request and
response objects and the same headers, without the generic cycle. Everything else goes to
Django unchanged.

A request takes the fast path only when all of these hold; otherwise Django serves it:
- GET or HEAD of `/tiles/{layer}/{z}/{x}/{y}.pbf` for a layer that is not staff-only;
- no credentials: no session cookie, no `Authorization` header (so the audience is the
  public, exactly what `AuthenticationMiddleware` would give);
- a Host in ALLOWED_HOSTS, and no HTTPS redirect due (SECURE_SSL_REDIRECT);
- the view raises nothing (a bad z/x/y or filter, or a failure, goes to Django, which
  answers with its JSON error and logs as always);
- settings.MIDDLEWARE holds only the middleware listed below (`HOOKED_MIDDLEWARE`, whose
  request and response hooks the fast path calls, and `INERT_MIDDLEWARE`, which does
  nothing for such a request), and TILE_FAST_PATH is on. A project that adds middleware
  gets a warning at start-up and every tile through Django until this module knows it.

Connections: Django's request signals still run (old connections are closed, the response
closes with `request_finished`), but the `SELECT 1` health check is skipped; tile
statements are read-only, and `tiles.sql` reconnects and retries once when the
connection turns out broken.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import signals
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest
from django.db import connection
from django.http import HttpResponse, parse_cookie
from django.utils.module_loading import import_string

from . import apis
from .layers import LAYERS
from .urls import MOUNT, VECTOR_TILE

logger = logging.getLogger(__name__)

TILE_PATH = re.compile(rf"^{MOUNT}{VECTOR_TILE}$")  # the view's own route (tiles.urls)
# Middleware whose process_request and process_response the fast path calls, in Django's
# order: host check, HTTPS redirect, the CSRF cookie's renewal, and the headers they add
# (security headers, Content-Length, X-Frame-Options).
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

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        response = self.serve(environ) if self.enabled else None
        if response is None:
            return self.app(environ, start_response)
        headers = [*response.items(),
                   *(("Set-Cookie", c.output(header="")) for c in response.cookies.values())]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return response  # its close() sends request_finished, as Django's handler does

    def serve(self, environ: dict) -> HttpResponse | None:
        """The tile response, or None when Django must handle the request."""
        match = TILE_PATH.match(environ.get("PATH_INFO", ""))
        if (
            match is None
            or match["layer"] not in FAST_LAYERS
            or environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or environ.get("HTTP_AUTHORIZATION")
            or settings.SESSION_COOKIE_NAME in parse_cookie(environ.get("HTTP_COOKIE", ""))
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
        signals.request_started.send(sender=type(self), environ=environ)
        # No SELECT 1 health check: tiles.sql reconnects and retries once instead.
        connection.health_check_done = True
        try:
            response = apis.vector_tile(request, match["layer"], match["z"], match["x"],
                                        match["y"])
        except Exception:
            # Bad input (a domain error) or a failure: Django answers it as it always does,
            # with its JSON error body and its error logging.
            signals.request_finished.send(sender=type(self))
            return None
        for middleware in self.response_middleware:
            response = middleware.process_response(request, response)
        response._handler_class = type(self)
        return response
