"""Tile caches: per-layer version counters, the server tile cache, and the staleness bound.

Services that change a layer's data bump its counter on commit (`bump_layer_version`, from
`transaction.on_commit`). Every cached tile is stored with the counter it was rendered
under and served only while the counter is unchanged, so a committed change is never served
from the server cache once its `on_commit` callback has run. One cache round trip per
request reads the counter and the tile together (`get_many`).

Staleness bound (what a user may see after a change commits):
- server cache, shared backend (Redis via CACHE_URL): none beyond the instant between the
  COMMIT and its `on_commit` bump. A render that raced the bump is stored under the old
  counter and is never served;
- server cache, process-local backend (locmem: one per worker process): a bump reaches only
  the process that made the change, so other processes may serve a tile for up to
  TILE_LOCAL_CACHE_SECONDS (60 s) after a change: local-memory caches keep tiles no longer;
- browsers and proxies: TILE_BROWSER_MAX_AGE seconds (Cache-Control max-age), after which
  they revalidate with If-None-Match (ETag = CRC-32 and length of the content, so a 304
  means "identical" but for odds of 1 in 2^32 per change: `CachedTile.build`);
- aggregated tiles (report cells below z13, heat tiles up to z12, the stats grid) are
  expensive at scale (they read most of the table at city zooms), so after a bump they may
  still be served for up to AGGREGATE_GRACE_SECONDS (30 s) after they were rendered: under
  a steady stream of writes each is re-rendered at most twice a minute, not on every write.
  Point tiles (z >= 13) and the other layers have no grace;
- while one request re-renders an invalidated tile, concurrent requests for the same tile
  get the previous one instead of rendering it again (no dog-pile): add one render time;
- time itself: `overdue` flips are honoured to the second (a point tile is cached no longer
  than until the earliest deadline it shows); `age_days` (calendar days) and today's
  responsibility areas are keyed by the local date.
In short, with a shared cache: a committed change reaches every user within
TILE_BROWSER_MAX_AGE (60 s) on point tiles and the other layers, and within
AGGREGATE_GRACE_SECONDS + TILE_BROWSER_MAX_AGE (90 s) on report cells, heat tiles and the
grid, plus one render time; with per-process local memory, within 60 s + 60 s.
Writes that bypass services (raw SQL, COPY, `queryset.update()`) must bump the counter
themselves; admin edits and imports of layers call `layers.services.layer_changed`.
"""

from __future__ import annotations

import hashlib
import struct
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from isal import igzip, isal_zlib

from geocity import versions

LAYERS = ("reports", "hazard-zones", "infrastructure", "districts", "service-area",
          "responsibility", "heat", "grid", "basemap")
# Layers whose tiles derive from another layer's data.
DERIVED = {"reports": ("heat", "grid")}
TILE_LOCAL_CACHE_SECONDS = 60
AGGREGATE_GRACE_SECONDS = 30
RENDER_LOCK_SECONDS = 30
GZIP_MIN_BYTES = 1024
# ISA-L's gzip at level 1: a 134 KB tile in 0.26 ms (zlib level 1: 1.35 ms) for 3% more
# bytes; the compressed copy is made once per render and served from the cache after.
GZIP_LEVEL = 1
GZIP_WBITS = 31  # a gzip member with a zero mtime: the same bytes for the same tile
GZIP_TRAILER = struct.Struct("<II")  # CRC-32 and length (mod 2^32) of the uncompressed body
STORED_FORMAT = "tile/1"  # first item of a cached tile's tuple


def _key(layer: str) -> str:
    return f"tiles:version:{layer}"


def layer_version(layer: str) -> int:
    return versions.version(_key(layer))


def bump_layer_version(layer: str) -> None:
    """Invalidate every cached tile of `layer` (and the layers derived from it)."""
    for name in (layer, *DERIVED.get(layer, ())):
        versions.bump(_key(name))


def is_process_local(backend: BaseCache) -> bool:
    """Whether `backend` lives in each worker process (local memory, or no cache at all)."""
    return isinstance(backend, LocMemCache | DummyCache)


def tile_timeout(backend: BaseCache, expires_in: int | None = None) -> int:
    """Seconds a rendered tile may stay in the server cache (see the staleness bound)."""
    timeout = settings.TILE_CACHE_SECONDS
    if is_process_local(backend):
        timeout = min(timeout, TILE_LOCAL_CACHE_SECONDS)
    if expires_in is not None:
        timeout = min(timeout, expires_in)
    return max(1, timeout)


@dataclass(frozen=True)
class CachedTile:
    """A rendered tile as stored: the counter it was rendered under, its ETag and its bytes,
    gzip-compressed once at render time for bodies worth it. Only the compressed copy is
    kept (half the memory, half the pickling): browsers and map clients ask for gzip, and
    the rare client that does not gets it decompressed per request.

    Stored as a plain tuple (`stored()`): pickling an instance of a class looks the class
    up by name on every store and load, ~25 us of a cold tile here.
    """

    version: int
    etag: str
    content: bytes
    gzipped: bool = False
    rendered_at: float = field(default_factory=time.time)

    @classmethod
    def build(cls, layer: str, version: int, body: bytes, *, compress: bool = True):
        """The entry of a freshly rendered `body`.

        The ETag names the body by its CRC-32 and length: exactly what the trailer of a
        gzip member holds, so a compressed tile's ETag costs no second pass over its bytes
        (a cryptographic hash cost ~20 us a cold tile here). A tile that changes keeps its
        ETag with odds of 1 in 2^32 at equal length; a client would then keep the old tile
        until the next change. The same body always gets the same ETag (the gzip member
        has no timestamp), so one rendered again after the cache lost it still revalidates.
        """
        if compress and len(body) >= GZIP_MIN_BYTES:
            gz = isal_zlib.compress(body, GZIP_LEVEL, wbits=GZIP_WBITS)
            return cls(version, _etag(layer, gz[-GZIP_TRAILER.size:]), gz, gzipped=True)
        trailer = GZIP_TRAILER.pack(isal_zlib.crc32(body), len(body) & 0xFFFFFFFF)
        return cls(version, _etag(layer, trailer), body)

    @property
    def empty(self) -> bool:
        return not self.content

    def body(self) -> bytes:
        """The uncompressed bytes."""
        return igzip.decompress(self.content) if self.gzipped else self.content

    def usable(self, version: int, grace: float) -> bool:
        """Rendered under `version`, or recently enough to be served within the grace."""
        return self.version == version or (grace > 0 and time.time() - self.rendered_at <= grace)

    @property
    def etag_gz(self) -> str:
        return self.etag[:-1] + '-gz"'

    def stored(self) -> tuple:
        """The cache's copy: builtins only."""
        return (STORED_FORMAT, self.version, self.etag, self.content, self.gzipped,
                self.rendered_at)

    @classmethod
    def from_stored(cls, value: object) -> CachedTile | None:
        """The tile of a cache's copy; None for anything else (a value of another format)."""
        if type(value) is tuple and len(value) == 6 and value[0] == STORED_FORMAT:
            return cls(*value[1:])
        return None


def _etag(layer: str, trailer: bytes) -> str:
    return f'"{layer}-{trailer.hex()}"'


def tile_key(layer: str, key: str) -> str:
    digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return f"tiles:t:{layer}:{digest}"


class Lookup(NamedTuple):
    """What the server cache holds for a tile, as `tile_get` found it."""

    version: int  # the layer's current counter
    entry: CachedTile | None  # the cached tile, current or not
    usable: bool  # whether `entry` may be served as is
    cache_key: str  # where the tile is stored (for `tile_put`)
    backend: BaseCache  # this thread's cache connection (for `tile_put`)


def tile_get(layer: str, key: str, *, grace: float = 0) -> Lookup:
    """The current counter of `layer` and the cached tile, in one round trip.

    A tile rendered under an older counter is returned too (not usable unless within
    `grace`): it is what concurrent requests get while one re-renders.
    """
    versions.replay_pending()  # bumps a cache outage held back (nothing to do, usually)
    backend = caches[DEFAULT_CACHE_ALIAS]
    vkey, tkey = _key(layer), tile_key(layer, key)
    found = backend.get_many([vkey, tkey])
    version = found.get(vkey)
    version = layer_version(layer) if version is None else int(version)
    entry = CachedTile.from_stored(found.get(tkey))
    if entry is None:
        return Lookup(version, None, False, tkey, backend)
    return Lookup(version, entry, entry.usable(version, grace), tkey, backend)


def render_lock(layer: str, key: str) -> bool:
    """Claim the re-render of a tile; False when another request is already on it."""
    return cache.add(tile_key(layer, key) + ":r", 1, timeout=RENDER_LOCK_SECONDS)


def render_unlock(layer: str, key: str) -> None:
    cache.delete(tile_key(layer, key) + ":r")


def tile_put(lookup: Lookup, entry: CachedTile, *, expires_in: int | None = None) -> None:
    """Store a tile rendered after `lookup` missed (or found it stale)."""
    lookup.backend.set(lookup.cache_key, entry.stored(),
                       timeout=tile_timeout(lookup.backend, expires_in))
