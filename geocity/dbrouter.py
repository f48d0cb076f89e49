"""Read replicas: which database a request may read, decided from its URL and method.

Why here and not in the apps: the rule is about requests, not models. A public read that
tolerates seconds of lag (tiles, public lists, Open311 GET, the dashboard: `REPLICA_PATHS`)
may go to a replica; everything else reads the primary. The apps are left alone: the ORM
asks `ReplicaRouter`, raw tile statements ask `read_alias()` through `geocity.db.on_cursor`.

The staleness bound, with DATABASE_REPLICA_MAX_LAG = L seconds:
- a replica is used only while its replay lag, measured at most `LAG_CHECK_SECONDS` (1 s)
  ago in this process, is at most L; so a public read may miss at most the writes of the
  last L + 1 seconds. A replica that lags more, or does not answer, is skipped (the primary
  serves) until it catches up;
- every request with an unsafe method (POST, PUT, PATCH, DELETE), and the rest of any
  request once it has written through the ORM, reads the primary;
- the response to such a request sets the `PIN_COOKIE` for `pin_seconds()` = L + 2 s: the
  client's reads all go to the primary (and skip nginx's tile cache, deploy/nginx.conf.in)
  until every replica that may serve it has replayed its write. So a write is never read
  back stale by its own author (the browser's own tile cache aside: TILE_BROWSER_MAX_AGE).
Lag is measured on the replica: zero while it streams and has replayed all it received,
else the age of the last transaction it replayed (PostgreSQL's `pg_last_xact_replay_timestamp`;
on separate hosts this needs synchronised clocks, NTP). A replica URL that points at a
primary (a pooler in front of one) has no lag.

Caches filled from a replica: an entry computed from a replica may miss the writes of the
last L + 1 seconds although the version counter in its cache key already counts them. The
dashboard's aggregates are then kept L + 2 s only (`cache_seconds()`). Tiles are not: every
hot tile would be rendered again every L + 2 s, so a replica-rendered tile may stay stale
until the layer's next change or TILE_CACHE_SECONDS (README, known limits).

Not routed: Celery tasks and management commands (no request: the primary). Raw SQL says
where it goes: reads on `connections[read_alias()]` (the dashboard's KPI statements, tile
statements through `geocity.db.on_cursor`), writes on the primary. The dashboard's rollup
refresh is such a write: it re-derives past days from reports already committed, and the
replica serves the previous rows of those days until it replays the refresh (at most L + 1 s;
for a day that has just ended, its counts are missing from a replica's answer that long).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

PIN_COOKIE = "geocity_primary"
LAG_CHECK_SECONDS = 1.0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Public reads that tolerate seconds of lag. URLs stay put when code moves between apps.
REPLICA_PATHS = (
    "/tiles/",
    "/api/v1/reports/",
    "/api/v1/categories/",
    "/api/v1/departments/",
    "/api/v1/layers/",
    "/api/v1/stats/",
    "/open311/v2/",
    "/dashboard/",
)
LAG_SQL = """
SELECT CASE
  WHEN NOT pg_is_in_recovery() THEN 0
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
       AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
  ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()),
                'Infinity')
END::float8
"""


@dataclass
class RequestRouting:
    """What the current request may read. `replica` is chosen at its first read and kept,
    so one request sees one database."""

    may_use_replica: bool
    replica: str | None = None
    wrote: bool = False


_current: ContextVar[RequestRouting | None] = ContextVar("geocity_db_routing", default=None)
# alias -> (monotonic time of the check, usable): per process, refreshed every second.
_health: dict[str, tuple[float, bool]] = {}


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias != DEFAULT_DB_ALIAS]


def pin_seconds() -> int:
    """How long a client reads the primary after its own write (see the module doc)."""
    return settings.DATABASE_REPLICA_MAX_LAG + math.ceil(LAG_CHECK_SECONDS) + 1


def may_use_replica(method: str, path: str, cookies: dict[str, str]) -> bool:
    return method in SAFE_METHODS and path.startswith(REPLICA_PATHS) and PIN_COOKIE not in cookies


def measure_lag(alias: str) -> float:
    """Seconds the replica `alias` is behind (0 when caught up); raises DatabaseError."""
    with connections[alias].cursor() as cursor:
        cursor.execute(LAG_SQL)
        return float(cursor.fetchone()[0])


def replica_usable(alias: str) -> bool:
    now = time.monotonic()
    checked = _health.get(alias)
    if checked is not None and now - checked[0] < LAG_CHECK_SECONDS:
        return checked[1]
    try:
        usable = measure_lag(alias) <= settings.DATABASE_REPLICA_MAX_LAG
    except DatabaseError as exc:
        log.warning("replica %s skipped: %s", alias, exc)
        connections[alias].close()
        usable = False
    _health[alias] = (now, usable)
    return usable


def read_alias() -> str:
    """The database the current read goes to: a usable replica when the request allows it,
    else the primary (also inside a transaction on the primary, and outside requests)."""
    state = _current.get()
    if state is None or not state.may_use_replica or state.wrote:
        return DEFAULT_DB_ALIAS
    if state.replica is None:
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        usable = [alias for alias in replica_aliases() if replica_usable(alias)]
        state.replica = random.choice(usable) if usable else DEFAULT_DB_ALIAS  # noqa: S311
    return state.replica


def cache_seconds(seconds: int) -> int:
    """`seconds`, or at most `pin_seconds()` (L + 2 s) when the current request reads a
    replica: how long an entry computed from it may be cached (see the module doc)."""
    return min(seconds, pin_seconds()) if read_alias() != DEFAULT_DB_ALIAS else seconds


class ReplicaRouter:
    """Reads by `read_alias()`; every write, and every read after one, on the primary."""

    def db_for_read(self, model, **hints) -> str:
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        state = _current.get()
        if state is not None:
            state.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # replicas hold the same rows

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaMiddleware:
    """Marks what the request may read; pins its client to the primary after a write.
    Not used at all without DATABASE_REPLICA_URLS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not replica_aliases():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        state = RequestRouting(may_use_replica(request.method or "", request.path_info,
                                               request.COOKIES))
        token = _current.set(state)
        try:
            response = self.get_response(request)
            if state.wrote or request.method not in SAFE_METHODS:
                response.set_cookie(PIN_COOKIE, "1", max_age=pin_seconds(), httponly=True,
                                    samesite="Lax", secure=request.is_secure())
            return response
        finally:
            _current.reset(token)
