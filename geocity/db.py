"""Hot read statements on the database driver's own cursor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connections

from .dbrouter import read_alias

T = TypeVar("T")


def on_cursor(run: Callable[[Any], T], *, using: str | None = None) -> T:
    """`run(cursor)` on the driver's cursor of Django's connection, inside Django's error
    translation; on Django's own cursor when something watches the queries (DEBUG's query
    log, the tests' query counts, execute wrappers of tracing or debug tools).

    Why: Django's cursor wrapper costs ~20 us a statement warm and ten times that right
    after a database wait (any pause of a few ms leaves the CPU caches cold): 0.2 ms of a
    3-5 ms map tile or of a 1 ms routing decision, measured here. Nothing is lost when
    nothing watches: the same connection and transaction, Django's health check and
    Django's exceptions. (A tool that patches Django's cursor wrapper instead of installing
    an execute wrapper, as Sentry's Django integration does, would not see these
    statements; instrumentation of psycopg itself would.) Preconditions: `run` only
    executes and fetches (no `callproc`, no cursor kept). `using`: by default the database
    the current request may read (`geocity.dbrouter.read_alias`: a replica for public reads).
    """
    db = connections[using or read_alias()]
    if db.queries_logged or db.execute_wrappers:
        with db.cursor() as cursor:
            return run(cursor)
    db.close_if_health_check_failed()
    if db.connection is None:
        db.ensure_connection()
    with db.wrap_database_errors, db.connection.cursor() as cursor:
        return run(cursor)
