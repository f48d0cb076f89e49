"""Answering a tile request from the server cache or a render: status, headers and bytes.

`tile_reply()` holds the whole tile protocol in one place, apart from HTTP plumbing: the
server cache and its version counters (`tiles.cache`), no dog-pile while a tile re-renders,
conditional requests (If-None-Match → 304), gzip, and the cache headers that the HTTP cache
in front (nginx, deploy/) and browsers honour. It returns a `TileReply` (plain data), which
the views in `tiles.apis` turn into Django's response.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils.http import parse_etags

from . import cache as tcache
from .layers import RenderedTile
from .sql import TileTimeout

TIMEOUT_RETRY_AFTER_S = 10


@dataclass(frozen=True)
class Served:
    """What the cache layer needs to know about a tile besides its bytes."""

    layer: str  # version counter name
    key: str  # everything the content depends on besides the counter
    content_type: str
    public: bool
    vary: tuple[str, ...] = ()
    empty_status: int = 204
    grace: float = 0  # seconds an invalidated tile may still be served (tiles.cache)


@dataclass(frozen=True)
class TileReply:
    """An answer as plain data. `headers` hold everything but Content-Type (a field),
    Content-Length (the body's length, added by whoever sends it) and the headers the
    middleware add."""

    status: int
    content_type: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def with_headers(self, *extra: tuple[str, str]) -> TileReply:
        return TileReply(self.status, self.content_type, (*self.headers, *extra), self.body)


def tile_reply(spec: Served, render: Callable[[], RenderedTile], *, accepts_gzip: bool,
               if_none_match: str | None) -> TileReply:
    """The tile from the server cache, or rendered (and cached), as a 200/204/304 reply;
    a 503 when its statement ran past the timeout.

    `if_none_match` is the request's If-None-Match header as sent; `accepts_gzip` says
    whether the client takes `Content-Encoding: gzip`.
    """
    lookup = tcache.tile_get(spec.layer, spec.key, grace=spec.grace)
    entry = lookup.entry
    if not lookup.usable:
        # An invalidated tile that another request is already re-rendering is served as it
        # was (see tiles.cache: no dog-pile); otherwise this request renders it.
        locked = entry is not None and tcache.render_lock(spec.layer, spec.key)
        if entry is None or locked:
            try:
                try:
                    rendered = render()
                except TileTimeout:
                    return timeout_reply(vary=spec.vary)
                entry = tcache.CachedTile.build(spec.layer, lookup.version, rendered.content,
                                                compress=spec.content_type != "image/png")
                tcache.tile_put(lookup, entry, expires_in=rendered.expires_in)
            finally:
                if locked:
                    tcache.render_unlock(spec.layer, spec.key)
    gzipped = entry.gzipped and accepts_gzip
    headers = [("ETag", entry.etag_gz if gzipped else entry.etag),
               ("Cache-Control",
                f"{'public' if spec.public else 'private'}, "
                f"max-age={settings.TILE_BROWSER_MAX_AGE}")]
    vary = (*spec.vary, "Accept-Encoding") if entry.gzipped else spec.vary
    if vary:
        headers.append(("Vary", ", ".join(vary)))
    if if_none_match and _matches(if_none_match, entry):
        return TileReply(304, spec.content_type, tuple(headers))
    if entry.empty:
        return TileReply(spec.empty_status, spec.content_type, tuple(headers))
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
        return TileReply(200, spec.content_type, tuple(headers), entry.content)
    return TileReply(200, spec.content_type, tuple(headers), entry.body())


def _matches(if_none_match: str, entry: tcache.CachedTile) -> bool:
    """Whether the client holds this tile (either representation; weak tags compare equal
    for a GET, as RFC 9110 has If-None-Match compare them)."""
    tags = {t.removeprefix("W/") for t in parse_etags(if_none_match)}
    return "*" in tags or entry.etag in tags or entry.etag_gz in tags


def timeout_reply(*, vary: tuple[str, ...] = ()) -> TileReply:
    """503 with Retry-After: the tile's statement was cancelled by its timeout. `vary`: the
    request headers the tile would have depended on."""
    body = json.dumps({"code": "tile_timeout",
                       "message": "This tile took too long to render; retry later."})
    headers = [("Retry-After", str(TIMEOUT_RETRY_AFTER_S))]
    if vary:
        headers.append(("Vary", ", ".join(vary)))
    return TileReply(503, "application/json", tuple(headers), body.encode())
