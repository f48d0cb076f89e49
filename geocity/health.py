"""/healthz: what a load balancer asks before sending a node traffic.

Each dependency has a status: the primary database, the cache, the broker (503 when one
fails), and each read replica with its lag (reported, never fatal: reads fall back to the
primary when a replica lags or is down, `geocity.dbrouter`). Nothing is cached and nothing
needs a session, so a probe costs three round trips.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .dbrouter import measure_lag, replica_aliases

BROKER_TIMEOUT_S = 2.0
Check = dict[str, Any]


def _timed(check: Callable[[], Check]) -> Check:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, with its message
        result = {"status": "fail", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> Check:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok"}


def _replica(alias: str) -> Check:
    try:
        lag = measure_lag(alias)
    except DatabaseError:
        connections[alias].close()
        raise
    status = "ok" if lag <= settings.DATABASE_REPLICA_MAX_LAG else "lagging"
    return {"status": status, "lag_seconds": None if lag == float("inf") else round(lag, 3)}


def _cache() -> Check:
    key, value = f"healthz:{secrets.token_hex(8)}", secrets.token_hex(8)
    cache.set(key, value, timeout=10)
    found = cache.get(key)
    cache.delete(key)
    if found != value:
        return {"status": "fail", "error": "the cache did not return what was stored"}
    return {"status": "ok", "backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


def _broker() -> Check:
    if not settings.CELERY_BROKER_URL:
        return {"status": "off", "detail": "no CELERY_BROKER_URL: tasks run in-process"}
    from .celery import app

    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_S)
    return {"status": "ok"}


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, Any] = {
        "database": _timed(_database),
        "cache": _timed(_cache),
        "broker": _timed(_broker),
    }
    replicas = {alias: _timed(lambda a=alias: _replica(a)) for alias in replica_aliases()}
    if replicas:
        checks["replicas"] = replicas
    failed = [name for name in ("database", "cache", "broker")
              if checks[name]["status"] == "fail"]
    body = {"status": "fail" if failed else "ok", "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)
