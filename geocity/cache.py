"""A Redis cache that degrades instead of failing: when Redis is down, reads miss and
writes are dropped, so pages, the API and tiles keep answering (uncached, unthrottled)
rather than turning an outage of a cache into an outage of the city's service.

Only `incr` still raises (`CacheUnavailable`): a version counter bump that did not reach
the cache must not be forgotten, and `geocity.versions` keeps it to replay once Redis
answers again (otherwise tiles cached before the outage would be served after a change).
Selected by `settings.CACHES` for a `redis://` CACHE_URL.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)
LOG_EVERY_S = 30  # an outage is logged once per this many seconds per process, not per call


class CacheUnavailable(ConnectionError):
    """The cache could not be reached."""


def _redis_errors() -> tuple[type[Exception], ...]:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (RedisConnectionError, RedisTimeoutError, OSError)


class ResilientRedisCache(RedisCache):
    _last_logged = 0.0

    def _failed(self, operation: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - ResilientRedisCache._last_logged > LOG_EVERY_S:
            ResilientRedisCache._last_logged = now
            logger.warning("Cache unavailable (%s failed: %s); serving uncached", operation, exc)

    def _safely(self, operation: str, default, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except _redis_errors() as exc:
            self._failed(operation, exc)
            return default

    def get(self, key, default=None, version=None):
        return self._safely("get", default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self._safely("get_many", {}, super().get_many, keys, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safely("set", None, super().set, key, value, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safely("add", False, super().add, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safely("set_many", list(data), super().set_many, data, timeout, version)

    def delete(self, key, version=None):
        return self._safely("delete", False, super().delete, key, version)

    def delete_many(self, keys, version=None):
        return self._safely("delete_many", None, super().delete_many, keys, version)

    def has_key(self, key, version=None):
        return self._safely("has_key", False, super().has_key, key, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safely("touch", False, super().touch, key, timeout, version)

    def clear(self):
        return self._safely("clear", None, super().clear)

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except _redis_errors() as exc:
            self._failed("incr", exc)
            raise CacheUnavailable(str(exc)) from exc
