"""Version counters in the shared cache: what cached derived data is keyed by.

A writer bumps a counter after its commit; readers put the current value in their cache
keys, so nothing computed before the change is served after it. A counter never expires;
if the cache lost it, it starts again at 1 and the next bump moves it on (a lost counter
only costs a recomputation, never a stale answer, since the keyed entries went with it).
"""

from __future__ import annotations

from django.core.cache import cache


def version(key: str) -> int:
    value = cache.get(key)
    if value is None:
        cache.add(key, 1, timeout=None)
        value = cache.get(key, 1)
    return int(value)


def bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # not there (evicted, or a new cache)
        cache.set(key, 2, timeout=None)
