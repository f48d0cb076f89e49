"""Version counters in the shared cache: what cached derived data is keyed by.

A writer bumps a counter after its commit; readers put the current value in their cache
keys, so nothing computed before the change is served after it. A counter never expires;
if the cache lost it, it starts again at 1 and the next bump moves it on (a lost counter
only costs a recomputation, never a stale answer, since the keyed entries went with it).
"""

from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)
# Bumps that did not reach the cache (it was down: geocity.cache.CacheUnavailable), replayed
# by this process at its next use of a counter once the cache answers again.
_pending: set[str] = set()


def replay_pending() -> None:
    """Apply the bumps an outage held back (a set look-up when there are none)."""
    if not _pending:
        return
    for key in list(_pending):
        try:
            _bump(key)
        except ConnectionError:
            return
        _pending.discard(key)
        logger.info("Replayed the version bump of %s held back by a cache outage", key)


def version(key: str) -> int:
    replay_pending()
    value = cache.get(key)
    if value is None:
        cache.add(key, 1, timeout=None)
        value = cache.get(key, 1)
    return int(value)


def bump(key: str) -> None:
    replay_pending()
    try:
        _bump(key)
    except ConnectionError as exc:
        _pending.add(key)
        logger.warning("Cache unavailable: the bump of %s is held back (%s)", key, exc)


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # not there (evicted, or a new cache)
        cache.set(key, 2, timeout=None)
