"""tiles.cache: the server tile cache keeps a city's worth of tiles per process, and names
each tile by its content."""

import gzip
import struct
import zlib

import pytest
from django.conf import settings
from django.core.cache import cache

from tiles import cache as tcache

from ..test_settings import manage


@pytest.fixture
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_local_cache_keeps_more_tiles_than_djangos_default_of_300(empty_cache):
    # given the process-local cache of the default configuration
    assert settings.CACHES["default"]["BACKEND"].endswith(".LocMemCache")
    # when a thousand tiles are stored, the first one first
    for i in range(1000):
        entry = tcache.CachedTile.build("reports", 1, f"tile {i}".encode())
        tcache.tile_put(tcache.tile_get("reports", f"16/{i}/0|public"), entry)
    # then the first one is still served (Django's default would have culled it at 300)
    found = tcache.tile_get("reports", "16/0/0|public")
    assert found.entry is not None and found.entry.body() == b"tile 0"


@pytest.mark.parametrize(("cache_url", "expected"), [
    (None, "5000"),
    ("locmemcache://city?max_entries=20000", "20000"),
])
def test_local_cache_size_is_the_default_or_the_urls_own(cache_url, expected):
    # given CACHE_URL unset or naming its own size
    overrides = {"CACHE_URL": cache_url} if cache_url else {}
    # when the settings are loaded by a real process
    result = manage("shell", "-v", "0", "-c",
                    "from django.core.cache import cache; print(cache._max_entries)",
                    env_overrides=overrides, drop=("CACHE_URL",))
    # then the cache keeps that many entries
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("size", [10, 5_000])  # stored as is / compressed
def test_etag_names_the_body_by_its_crc32_and_length(size):
    # given a tile body, small enough to be stored as is or worth compressing
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    # when it is cached
    entry = tcache.CachedTile.build("reports", 1, body)
    # then its ETag is the CRC-32 and length a gzip trailer holds, for either storage
    trailer = struct.pack("<II", zlib.crc32(body), len(body))
    assert entry.etag == f'"reports-{trailer.hex()}"'
    assert entry.gzipped == (size >= tcache.GZIP_MIN_BYTES)
    assert entry.body() == body
    if entry.gzipped:
        assert gzip.decompress(entry.content) == body and entry.content.endswith(trailer)
    # and the same body always gets the same ETag; another body another one
    assert tcache.CachedTile.build("reports", 2, body).etag == entry.etag
    assert tcache.CachedTile.build("reports", 1, body + b"!").etag != entry.etag
