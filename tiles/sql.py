"""The one place tiles run SQL the ORM cannot say: wrapping a queryset in `ST_AsMVT`.

Every statement is built from an ORM queryset's own SQL and parameters; nothing from the
request is ever formatted into the string (identifiers here are constants of this module or
of a layer class). Connections use client-side binding (settings: no server-side prepared
statements), which is also what lets `serial=True` send its `SET LOCAL` in the same round
trip as the query: one `execute()`, one query in Django's count.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from django.contrib.gis.db.models import GeometryField
from django.db import InterfaceError, OperationalError, connection
from django.db.models import Expression, Lookup, QuerySet
from psycopg.errors import QueryCanceled

from geocity.db import on_cursor

# On 2 cores, parallel workers double the latency of small tiles (platform notes): small
# queries turn them off for themselves only. SET LOCAL lasts until the end of the implicit
# transaction of this multi-statement query (or of the caller's transaction block).
SERIAL_PREFIX = "SET LOCAL max_parallel_workers_per_gather = 0; "
# No tile is worth more database time than this: past it the request gets a 503 and the
# database its worker back. (A z10 tile over 1M reports takes 1-6 s on the 2-core box.)
STATEMENT_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Slot:
    """Marks, in a compiled template's parameters, where a per-tile value goes."""

    name: str


class TileParam(Expression):
    """A value supplied per tile: compiled once into a `Template`, bound for every tile.

    Compiling the ORM queryset of a tile costs more than running it at high zooms (10-20 ms
    of Python on the 2-core box against a few ms of SQL). A tile's SQL differs from its
    neighbour's only in values (its box, the time), so the ORM compiles each *shape* once
    with TileParams in place of those values and `Template.bind` fills them in.

    Values are plain numbers, dates, times and lists, which the driver adapts by itself
    (no adapter call per value: a tile binds ~20 of them).
    """

    def __init__(self, name: str, output_field) -> None:
        if isinstance(output_field, GeometryField):
            raise TypeError(f"TileParam {name!r}: bind coordinates, not geometries.")
        super().__init__(output_field=output_field)
        self.name = name

    def as_sql(self, compiler, connection):
        return "%s", [Slot(self.name)]

    def get_group_by_cols(self):
        return []


class AnyOf(Lookup):
    """`lhs = ANY(%s)`: a list of values as one array parameter, where the ORM's `__in` sends
    one parameter per value.

    Why: psycopg parses a statement's placeholders on every execute unless the statement has
    at most 50 parameters (then it caches the parse). A point tile's statement had 51, and
    that parse cost ~0.15 ms warm, ~0.3 ms of process time per cold tile, as much as the
    rest of the view; listing the statuses as arrays brings it to 48.
    Use: `AnyOf(F("status"), [...])` in a filter, a Q or an aggregate's `filter=`.
    """

    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]


class Template:
    """A compiled statement whose Slot parameters are filled in per tile."""

    def __init__(self, sql: str, params: Sequence[Any], serial: bool) -> None:
        self.sql, self.params, self.serial = sql, list(params), serial
        slots = [(i, p.name) for i, p in enumerate(self.params) if isinstance(p, Slot)]
        self.positions = [i for i, _ in slots]
        self.slot_values = _getter([name for _, name in slots])

    def bind(self, values: Mapping[str, Any]) -> Statement:
        params = self.params.copy()
        # Each value into its position, in C (no Python loop over the ~20 slots of a tile).
        _consume(map(params.__setitem__, self.positions, self.slot_values(values)))
        return Statement(self.sql, params, self.serial)


def _getter(names: list[str]) -> Callable[[Mapping[str, Any]], tuple]:
    """`values -> (values[name] for name in names)` as a tuple, whatever the count."""
    if len(names) > 1:
        return itemgetter(*names)
    return lambda values: tuple(values[name] for name in names)


_consume = deque(maxlen=0).extend


class Templates:
    """A small LRU of compiled templates by shape key (per process)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Template] = OrderedDict()

    def get(self, key: tuple, build) -> Template:
        template = self._items.get(key)
        if template is None:
            template = build()
            self._items[key] = template
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return template

    def clear(self) -> None:
        self._items.clear()


class TileTimeout(Exception):
    """The tile's statement ran past STATEMENT_TIMEOUT_MS and was cancelled."""


@dataclass(frozen=True)
class Statement:
    """One tile's SQL and parameters; `serial` turns parallel query off for it."""

    sql: str
    params: list[Any]
    serial: bool = False

    def text(self) -> str:
        """The SQL as sent, after the SET LOCAL statements of `_prefix`."""
        return "".join(_prefix(self.serial)) + self.sql

    def fetch_row(self) -> tuple:
        return fetch_row(self.sql, self.params, serial=self.serial)

    def fetch_all(self) -> list[tuple]:
        return fetch_all(self.sql, self.params, serial=self.serial)


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def select_columns(columns: Mapping[str, str] | Sequence[str], source: str) -> str:
    """`s."inner" AS "outer", ...` for a mapping outer -> inner (or a list of names)."""
    pairs = columns.items() if isinstance(columns, Mapping) else ((c, c) for c in columns)
    return ", ".join(f"{source}.{quote(inner)} AS {quote(outer)}" for outer, inner in pairs)


def queryset_sql(queryset: QuerySet) -> tuple[str, list[Any]]:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def union_all_sql(querysets: Sequence[QuerySet]) -> tuple[str, list[Any]]:
    """`(q1) UNION ALL (q2) ...` of the querysets' own SQL, with their parameters in order."""
    parts, params = [], []
    for queryset in querysets:
        sql, qs_params = queryset_sql(queryset)
        parts.append(f"({sql})")
        params += qs_params
    return " UNION ALL ".join(parts), params


def mvt_sql(queryset: QuerySet, *, name: str, extent: int,
            columns: Mapping[str, str] | Sequence[str]) -> tuple[str, list[Any]]:
    """`SELECT ST_AsMVT(...)` over a values() queryset whose geometry column is `geom`.

    `columns` names the MVT attributes (outer name -> queryset column), `geom` included.
    """
    inner, params = queryset_sql(queryset)
    sql = (
        "SELECT ST_AsMVT(t.*, %s, %s, 'geom') FROM "  # noqa: S608 - constant identifiers
        f"(SELECT {select_columns(columns, 's')} FROM ({inner}) AS s) AS t"
    )
    return sql, [name, extent, *params]


def _prefix(serial: bool) -> list[str]:
    out = [f"SET LOCAL statement_timeout = {int(STATEMENT_TIMEOUT_MS)}; "]
    if serial:
        out.append(SERIAL_PREFIX)
    return out


def _execute(cursor, sql: str, params: Sequence[Any], serial: bool) -> None:
    """One round trip: the SET LOCAL statements, then the query; positioned on its result."""
    prefix = _prefix(serial)
    cursor.execute("".join(prefix) + sql, params)
    for _ in prefix:
        cursor.nextset()


def fetch_row(sql: str, params: Sequence[Any], *, serial: bool = False) -> tuple:
    """Run one statement (optionally with parallel query off) and return its one row."""
    return _run(sql, params, serial, lambda cursor: cursor.fetchone())


def fetch_all(sql: str, params: Sequence[Any], *, serial: bool = False) -> list[tuple]:
    """Like `fetch_row`, all rows."""
    return _run(sql, params, serial, lambda cursor: cursor.fetchall())


def _run(sql: str, params: Sequence[Any], serial: bool, fetch):
    """Execute and fetch on the driver's cursor (`geocity.db.on_cursor`: Django's when
    something watches the queries); on a broken connection (a database restart, an idle
    timeout), reconnect and run it once more. Tile statements only read, so a retry is
    safe; inside a transaction block there is nothing to reconnect to, so the error stands.
    """

    def run_on(cursor):
        _execute(cursor, sql, params, serial)
        return fetch(cursor)

    try:
        return _attempt(run_on)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block or connection.is_usable():
            raise
        connection.close()
    return _attempt(run_on)


def _attempt(run):
    """`on_cursor(run)`, a statement cancelled by its timeout as a TileTimeout (either cursor
    hands it over as Django's OperationalError caused by the driver's QueryCanceled)."""
    try:
        return on_cursor(run)
    except OperationalError as exc:
        if isinstance(exc.__cause__, QueryCanceled):
            raise TileTimeout(str(exc)) from exc
        raise


def as_bytes(value) -> bytes:
    if value is None:
        return b""
    return value.tobytes() if isinstance(value, memoryview) else bytes(value)
