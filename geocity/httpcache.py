"""Which answers the HTTP cache in front (nginx, deploy/nginx.conf.in) may keep, and how long.

Anonymous public reads (the report lists, Open311 GET, categories, stats) are the same bytes
for every anonymous client and the most requested answers after tiles; city apps poll the
same Open311 feed. An anonymous GET of such a path that answers 200 without setting a cookie
gets `X-Accel-Expires: PUBLIC_CACHE_SECONDS`: nginx keeps it that long (and does not pass the
header on), so a burst of identical requests costs one render. Browsers get no freshness at
all, so a resident's own next read is never answered from the browser's cache.

Staleness bound: an anonymous public read may miss the writes of the last
PUBLIC_CACHE_SECONDS, plus the replica bound (geocity/dbrouter.py) when it was rendered from
a replica. Nothing else is kept: requests with a session, an API token or key, or the pin
cookie of a client that has just written (it must read its own write) go past the cache to
the app, and the app marks nothing of theirs.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

from .dbrouter import PIN_COOKIE, REPLICA_PATHS

# The public reads that may come from a replica, but tiles (their own cache, with ETags) and
# the dashboard (officials only).
PUBLIC_PATHS = tuple(p for p in REPLICA_PATHS if p not in ("/tiles/", "/dashboard/"))


def may_keep(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether this answer is the same for every anonymous client."""
    user = getattr(request, "user", None)
    return (
        request.method in ("GET", "HEAD")
        and response.status_code == 200
        and request.path_info.startswith(PUBLIC_PATHS)
        and not (user is not None and user.is_authenticated)
        and "HTTP_AUTHORIZATION" not in request.META
        and "api_key" not in request.GET
        and PIN_COOKIE not in request.COOKIES
        and not response.cookies
        and not response.has_header("Cache-Control")
        and not response.streaming
    )


class PublicCacheMiddleware:
    """Adds X-Accel-Expires to anonymous public reads (see the module doc); not used at all
    when PUBLIC_CACHE_SECONDS is 0."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if settings.PUBLIC_CACHE_SECONDS <= 0:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if may_keep(request, response):
            response["X-Accel-Expires"] = str(settings.PUBLIC_CACHE_SECONDS)
        return response
