"""The dashboard's aggregates in SQL: filters, the statements, and their one pass.

The KPIs, tables and charts built from them are in `dashboard.selectors`. Every aggregate is
computed in SQL.

Nothing here loops over reports in Python: a dashboard render runs a fixed number of
statements whatever the data size (two for the KPIs, department table, district rates and
weekly trend; one each for the backlog histogram and the hotspots; a few tiny look-ups), and
their cost depends only on the rows PostgreSQL reads. See "The one pass over the reports".

Definitions (shown to users in the dashboard's help text):
- *received*: reports created in the period;
- *resolved*: reports whose `resolved_at` falls in the period;
- *time to resolve*: `resolved_at - created`, wall-clock, for reports resolved in the period;
  its median and p90 are exact (`percentile_cont`) up to EXACT_PERCENTILES_UP_TO resolved
  reports and within 0.5% of exact above that (from 1%-wide buckets, see below);
- *within SLA*: resolved in the period no later than `due_at`. `due_at` already carries the
  needs_info pause (reports.services shifts it on resume), so a report that waited for the
  reporter and was resolved within its shifted deadline counts as within SLA;
- *open backlog* and *overdue* are snapshots at the end of the period (now, for periods that
  end now); for a past instant T a report was open if it was created before T and is still
  open or was resolved/closed at or after T;
- *reopen rate*: of the reports received in the period that were ever resolved, the share
  reopened at least once (`reopen_count > 0`);
- *supporters*: "me too" supporters of the reports received in the period.
Hidden (moderated-out) reports are left out everywhere.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connections, transaction
from django.db.models import (
    Aggregate,
    DateTimeField,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
)
from django.utils import timezone

from geocity import dbrouter
from layers.models import Department, District
from reports.models import RESOLVE_BUCKETS_PER_E, Category, Report
from reports.workflow import OPEN_STATUSES, SLA_RUNNING_STATUSES

from . import services as rollups
from .services import local_midnight

OPEN = sorted(OPEN_STATUSES)
RUNNING = sorted(SLA_RUNNING_STATUSES)
# Backlog age buckets, in days: [0,1) [1,3) [3,7) [7,15) [15,30) [30,45) [45,90) [90,∞)
AGE_THRESHOLDS = (1, 3, 7, 15, 30, 45, 90)
HOTSPOT_CELL_M = 500
HOTSPOT_LIMIT = 10
TREND_MIN_WEEKS = 12
CACHE_SECONDS = 60  # staleness bound of the cached aggregates (writes bust it sooner)


# --- SQL building blocks ------------------------------------------------------------------

class Mode(Aggregate):
    """`mode() WITHIN GROUP (ORDER BY expr)`: the most frequent value."""

    function = "mode"
    name = "Mode"
    template = "%(function)s() WITHIN GROUP (ORDER BY %(expressions)s)"


class EpochHours(Func):
    """An interval in hours, as double precision."""

    template = "(EXTRACT(EPOCH FROM %(expressions)s) / 3600.0)::double precision"
    output_field = FloatField()


class EpochDays(Func):
    template = "(EXTRACT(EPOCH FROM %(expressions)s) / 86400.0)::double precision"
    output_field = FloatField()


class WidthBucket(Func):
    """`width_bucket(value, thresholds[])`: 0 below the first threshold, i for [t_i, t_i+1)."""

    function = "width_bucket"
    output_field = IntegerField()


class SimplifyPreserveTopology(Func):
    """`ST_SimplifyPreserveTopology(geom, tolerance)`; same geometry type as the input."""

    function = "ST_SimplifyPreserveTopology"

    def __init__(self, expression, tolerance: float, **extra):
        super().__init__(expression, Value(tolerance), **extra)

    def _resolve_output_field(self):
        return self.source_expressions[0].output_field


def ts_value(value: datetime) -> Value:
    return Value(value, output_field=DateTimeField())


def hours_to_resolve():
    return EpochHours(F("resolved_at") - F("created"))


def in_range(field_name: str, start: datetime, end: datetime) -> Q:
    return Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})


# --- Filters ------------------------------------------------------------------------------

PERIOD_PRESETS = ("7d", "30d", "90d", "365d", "month", "quarter", "year")


@dataclass(frozen=True)
class DashboardFilters:
    """A half-open period [start, end) plus optional district, department and category."""

    start: datetime
    end: datetime
    period: str = "30d"  # a preset name, or "custom"
    district: District | None = None
    department: Department | None = None
    category: Category | None = None

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def prev_start(self) -> datetime:
        return self.start - self.length

    @property
    def prev_end(self) -> datetime:
        return self.start

    def cache_key(self) -> str:
        return ":".join(str(p) for p in (
            self.start.isoformat(), self.end.isoformat(),
            self.district.pk if self.district else "-",
            self.department.pk if self.department else "-",
            self.category.pk if self.category else "-",
        ))

    def as_query(self) -> dict[str, str]:
        """The filters as GET parameters (for links, exports and tile URLs)."""
        params: dict[str, str] = {}
        if self.period == "custom":
            params["from"] = timezone.localtime(self.start).date().isoformat()
            params["to"] = (timezone.localtime(self.end) - timedelta(days=1)).date().isoformat()
        else:
            params["period"] = self.period
        if self.district:
            params["district"] = self.district.code
        if self.department:
            params["department"] = self.department.code
        if self.category:
            params["category"] = self.category.service_code
        return params



def period_bounds(preset: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) for a preset. Rolling presets end at the next local midnight."""
    today = timezone.localtime(now).date()
    end = local_midnight(today + timedelta(days=1))
    if preset.endswith("d") and preset[:-1].isdigit():
        return end - timedelta(days=int(preset[:-1])), end
    if preset == "month":
        return local_midnight(today.replace(day=1)), end
    if preset == "quarter":
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        return local_midnight(first), end
    if preset == "year":
        return local_midnight(today.replace(month=1, day=1)), end
    raise ValueError(f"unknown period {preset!r}")


def custom_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, last+1 00:00) local time; both dates inclusive."""
    if last < first:
        first, last = last, first
    return local_midnight(first), local_midnight(last + timedelta(days=1))


def base_reports(f: DashboardFilters) -> QuerySet[Report]:
    qs = Report.objects.filter(is_hidden=False)
    if f.district is not None:
        qs = qs.filter(district_id=f.district.pk)
    if f.department is not None:
        qs = qs.filter(department_id=f.department.pk)
    if f.category is not None:
        qs = qs.filter(category_id=f.category.pk)
    return qs


# --- Weeks of the trend -------------------------------------------------------------

def trend_range(f: DashboardFilters) -> tuple[datetime, datetime]:
    """The weeks shown: the period, widened to at least TREND_MIN_WEEKS ending at its end."""
    start = min(f.start, f.end - timedelta(weeks=TREND_MIN_WEEKS))
    return start, f.end


def trend_weeks(f: DashboardFilters) -> list[date]:
    """The local Monday of every week of `trend_range`, in order."""
    start, end = trend_range(f)
    week = timezone.localtime(start).date()
    week -= timedelta(days=week.weekday())
    last = timezone.localtime(end - timedelta(microseconds=1)).date()
    weeks = []
    while week <= last:
        weeks.append(week)
        week += timedelta(weeks=1)
    return weeks



# --- The counts: the daily rollup, plus today and the reports open now ---------------------
#
# KPIs (both periods), the department table, the district rates and the weekly trend come
# from ONE statement over the daily rollup (dashboard.services: one row per local day ×
# department × district × category) for the closed days since `lo`, plus today's rows
# computed live from the reports by the same SQL, summed with GROUPING SETS ((),
# (department), (district), (week)). Snapshots (open backlog, overdue) also need the reports
# open now: a second small statement over them (the `report_dash_open` index). A snapshot at
# a past midnight T: open = open now − received on days ≥ T + done on days ≥ T; overdue =
# running now and due before T + late_done on days ≥ T − late_due on days ≥ T.
#
# Exact percentiles do not add up, so the times to resolve are a third statement over the
# reports resolved in the two periods: exact with GROUPING SETS ((), (department_id)) for
# small sets, counts per duration bucket for large ones (`histogram_statement`).

# GROUPING(department_id, district_id, wk): a bit is 1 where the column is rolled up.
SET_TOTAL, SET_DEPARTMENT, SET_DISTRICT, SET_WEEK = 7, 3, 5, 6
# GROUPING(department_id, district_id) of the open-reports statement.
OPEN_TOTAL, OPEN_DEPARTMENT, OPEN_DISTRICT = 3, 1, 2

COUNT_NAMES = [
    *(f"{p}_{name}" for p in ("cur", "prev") for name in (
        "received", "resolved", "within_sla", "resolved_with_due", "backlog", "overdue",
        "reopened", "ever_resolved", "supporters")),
    "received_resolved", "received_within_sla",
]
# COUNT_NAME suffix -> rollup column, summed over the period's days
_PERIOD_SUMS = {"received": "received", "resolved": "resolved", "within_sla":
                "resolved_within_sla", "resolved_with_due": "resolved_with_due",
                "reopened": "reopened", "ever_resolved": "ever_resolved",
                "supporters": "supporters"}
# rollup columns summed over the days from a snapshot on
_AFTER_SUMS = ("received", "done", "late_done", "late_due")


class _Sql:
    """Bound parameters in the order their placeholders are written: call it (or `embed`)
    exactly where the placeholder goes, once per occurrence."""

    def __init__(self) -> None:
        self.params: list = []

    def __call__(self, value) -> str:
        self.params.append(value)
        return "%s"

    def embed(self, qs: QuerySet) -> str:
        sql, params = qs.query.sql_with_params()
        self.params.extend(params)
        return sql


def _day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _periods(f: DashboardFilters, now: datetime) -> list[tuple[str, date, date, date | None]]:
    """(name, first day, day after the last, snapshot day or None for "now") per period."""
    out = []
    for p, start, end in (("cur", f.start, f.end), ("prev", f.prev_start, f.prev_end)):
        out.append((p, _day(start), _day(end), None if end >= now else _day(end)))
    return out


def _dimension_filter(f: DashboardFilters) -> tuple[str, dict]:
    """" AND t.<dimension> = ..." for the chosen district, department and category (the
    rollup and the reports name these columns alike)."""
    sql, params = "", {}
    for column, value in (("district_id", f.district), ("department_id", f.department),
                          ("category_id", f.category)):
        if value is not None:
            sql += f" AND t.{column} = %(f_{column})s"
            params[f"f_{column}"] = value.pk
    return sql, params


def counts_statement(f: DashboardFilters, now: datetime) -> tuple[str, dict]:
    """The rollup statement (see above): returns (sql, named parameters)."""
    today = _day(now)
    weeks = trend_weeks(f)
    trend_start, trend_end = (_day(moment) for moment in trend_range(f))
    periods = _periods(f, now)
    lo = min(_day(f.prev_start), trend_start, weeks[0])
    where, params = _dimension_filter(f)
    live, live_params = rollups.day_rows_sql([(today, today + timedelta(days=1))], where=where)
    params.update(live_params)
    params.update({"lo": lo, "today": today, "week0": weeks[0], "trend_start": trend_start,
                   "trend_end": trend_end})
    columns = ", ".join(("day", *rollups.DIMENSIONS, *rollups.ROLLUP_COLUMNS))
    cols = []
    for p, first, after, snapshot in periods:
        params[f"{p}_first"], params[f"{p}_after"] = first, after
        within = f"day >= %({p}_first)s AND day < %({p}_after)s"
        cols += [f"SUM({col}) FILTER (WHERE {within}) AS {p}_{name}"
                 for name, col in _PERIOD_SUMS.items()]
        if snapshot is not None:
            params[f"{p}_snapshot"] = snapshot
            cols += [f"SUM({col}) FILTER (WHERE day >= %({p}_snapshot)s) AS {p}_{col}_after"
                     for col in _AFTER_SUMS]
    cols += ["SUM(received_resolved) FILTER (WHERE day >= %(cur_first)s AND day < "
             "%(cur_after)s) AS received_resolved",
             "SUM(received_within_sla) FILTER (WHERE day >= %(cur_first)s AND day < "
             "%(cur_after)s) AS received_within_sla",
             "SUM(received) AS week_received", "SUM(resolved) AS week_resolved"]
    wk = ("CASE WHEN day >= %(trend_start)s AND day < %(trend_end)s "
          "THEN (day - %(week0)s::date) / 7 END")
    sql = (
        f"WITH s AS (SELECT {columns} FROM dashboard_dailystat t "  # noqa: S608 - constants
        f"WHERE t.day >= %(lo)s AND t.day < %(today)s{where} "
        f"UNION ALL SELECT {columns} FROM ({live}) AS t) "
        f"SELECT GROUPING(department_id, district_id, wk) AS grp, department_id, district_id, "
        f"wk, {', '.join(cols)} FROM (SELECT *, {wk} AS wk FROM s) AS s "
        f"GROUP BY GROUPING SETS ((), (department_id), (district_id), (wk))"
    )
    return sql, params


def open_statement(f: DashboardFilters, now: datetime) -> tuple[str, list]:
    """The reports open now, per department and district: how many, how many overdue now,
    and how many running ones were already due at each past snapshot."""
    s = _Sql()
    cols = ["COUNT(*) AS open_now",
            f"COUNT(*) FILTER (WHERE status = ANY({s(RUNNING)}) AND due_at < {s(now)}) "
            f"AS overdue_now"]
    for p, _, _, snapshot in _periods(f, now):
        if snapshot is not None:
            cols.append(f"COUNT(*) FILTER (WHERE status = ANY({s(RUNNING)}) AND due_at < "
                        f"{s(local_midnight(snapshot))}) AS {p}_running_late")
    rows = s.embed(base_reports(f).filter(status__in=OPEN)
                   .values("department_id", "district_id", "status", "due_at"))
    sql = (f"SELECT GROUPING(department_id, district_id) AS grp, department_id, "  # noqa: S608
           f"district_id, {', '.join(cols)} FROM ({rows}) x "
           f"GROUP BY GROUPING SETS ((), (department_id), (district_id))")
    return sql, s.params


def _combine(periods: list, rolled: dict | None, live: dict | None) -> dict:
    """One group's COUNT_NAMES from its rollup row and its open-reports row (`periods` from
    `_periods`)."""
    rolled, live = rolled or {}, live or {}

    def r(name: str) -> int:
        return rolled.get(name) or 0

    out = {name: r(name) for name in COUNT_NAMES}
    open_now = live.get("open_now") or 0
    for p, _, _, snapshot in periods:
        if snapshot is None:
            out[f"{p}_backlog"] = open_now
            out[f"{p}_overdue"] = live.get("overdue_now") or 0
        else:
            out[f"{p}_backlog"] = open_now - r(f"{p}_received_after") + r(f"{p}_done_after")
            out[f"{p}_overdue"] = ((live.get(f"{p}_running_late") or 0)
                                   + r(f"{p}_late_done_after") - r(f"{p}_late_due_after"))
    return out


def percentiles_statement(f: DashboardFilters) -> tuple[str, list]:
    """Median and p90 hours to resolve, both periods, overall and per department. The array
    form of percentile_cont gives both fractions from one sort."""
    s = _Sql()
    cols = []
    for p, start, end in (("cur", f.start, f.end), ("prev", f.prev_start, f.prev_end)):
        cols.append(
            f"percentile_cont({s([0.5, 0.9])}::float8[]) WITHIN GROUP (ORDER BY hours) FILTER "
            f"(WHERE resolved_at >= {s(start)} AND resolved_at < {s(end)}) AS {p}_hours")
    rows = s.embed(base_reports(f).filter(resolved_at__gte=f.prev_start, resolved_at__lt=f.end)
                   .values("department_id", "created", "resolved_at"))
    sql = (
        f"SELECT GROUPING(department_id) AS grp, department_id, {', '.join(cols)} "  # noqa: S608
        f"FROM (SELECT department_id, resolved_at, (EXTRACT(EPOCH FROM resolved_at - created)"
        f" / 3600.0)::double precision AS hours FROM ({rows}) x) r "
        f"GROUP BY GROUPING SETS ((), (department_id))"
    )
    return sql, s.params


def _percentile_row(row: dict) -> dict:
    out = {}
    for p in ("cur", "prev"):
        values = row.get(f"{p}_hours") or [None, None]
        out[f"{p}_median_hours"], out[f"{p}_p90_hours"] = values
    return out


# Exact percentiles sort every duration of both periods (870k at 1M reports over a year);
# the default work_mem spills that sort to disk. Raised for that one statement only.
PERCENTILE_WORK_MEM = "96MB"

# Past EXACT_PERCENTILES_UP_TO resolved reports (both periods together) the percentiles come
# from a histogram instead: times to resolve counted in buckets 1% wide on a log scale, in
# one hash aggregate over a stored column (no sort), each bucket read at its geometric
# middle. Every percentile is then within 0.5% of the exact value (a median of 92 h reads
# 91.6-92.4 h) at a sixth of the cost: 870k durations take ~0.15 s instead of ~0.85 s.
# Below the limit they are exact (`percentile_cont`), which is what small filters see.
EXACT_PERCENTILES_UP_TO = 100_000


def histogram_statement(f: DashboardFilters) -> tuple[str, list]:
    """Counts per (department, `Report.resolve_bucket`) for each period."""
    s = _Sql()
    cols = []
    for p, start, end in (("cur", f.start, f.end), ("prev", f.prev_start, f.prev_end)):
        cols.append(f"COUNT(*) FILTER (WHERE resolved_at >= {s(start)} AND resolved_at < "
                    f"{s(end)}) AS {p}")
    rows = s.embed(base_reports(f).filter(resolved_at__gte=f.prev_start, resolved_at__lt=f.end)
                   .values("department_id", "resolved_at", "resolve_bucket"))
    sql = (f"SELECT department_id, resolve_bucket AS bucket, {', '.join(cols)} "  # noqa: S608
           f"FROM ({rows}) x GROUP BY 1, 2")
    return sql, s.params


def _bucket_hours(bucket: int) -> float:
    """The geometric middle of a bucket, in hours (durations under a second are bucket 0)."""
    return math.exp((bucket + 0.5) / RESOLVE_BUCKETS_PER_E) / 3600.0


def _histogram_quantiles(counts: dict[int, int], fractions=(0.5, 0.9)) -> list[float | None]:
    """percentile_cont's interpolation (between ranks floor and ceil of f*(n-1)) on a
    histogram: each rank read as its bucket's middle."""
    n = sum(counts.values())
    if not n:
        return [None for _ in fractions]
    ordered = sorted(counts.items())

    def value_at(rank: int) -> float:
        seen = 0
        for bucket, count in ordered:
            seen += count
            if rank < seen:
                return _bucket_hours(bucket)
        return _bucket_hours(ordered[-1][0])

    out = []
    for fraction in fractions:
        r = fraction * (n - 1)
        low, high = math.floor(r), math.ceil(r)
        v_low, v_high = value_at(low), value_at(high)
        out.append(v_low + (r - low) * (v_high - v_low))
    return out


def histogram_percentiles(rows: list[dict]) -> tuple[dict, dict[int | None, dict]]:
    """(overall, per department) {cur,prev}_{median,p90}_hours from `histogram_statement`."""
    overall: dict[str, Counter] = {"cur": Counter(), "prev": Counter()}
    by_dept: dict[int | None, dict[str, Counter]] = {}
    for row in rows:
        dept = by_dept.setdefault(row["department_id"], {"cur": Counter(), "prev": Counter()})
        for p in ("cur", "prev"):
            if row[p]:
                dept[p][row["bucket"]] += row[p]
                overall[p][row["bucket"]] += row[p]

    def pack(hist: dict[str, Counter]) -> dict:
        out = {}
        for p in ("cur", "prev"):
            out[f"{p}_median_hours"], out[f"{p}_p90_hours"] = _histogram_quantiles(hist[p])
        return out

    return pack(overall), {dept: pack(hist) for dept, hist in by_dept.items()}


def fetch_rows(sql: str, params: list | dict, *, work_mem: str | None = None) -> list[dict]:
    """Rows as dicts, from the database the request may read (a replica for the public
    dashboard: `geocity.dbrouter`). `work_mem` is set for the current transaction only (one
    is opened unless the caller is already in one)."""
    alias = dbrouter.read_alias()
    db = connections[alias]
    scope = transaction.atomic(using=alias) if work_mem and not db.in_atomic_block else (
        contextlib.nullcontext())
    with scope, db.cursor() as cursor:
        if work_mem:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass
class MainAggregates:
    """What the two statements return, by grouping set."""

    total: dict
    departments: dict[int | None, dict]
    districts: dict[int | None, dict]
    received_weeks: dict[date, int]
    resolved_weeks: dict[date, int]
    percentiles: dict
    department_percentiles: dict[int | None, dict]


def main_aggregates(f: DashboardFilters, *, now: datetime | None = None) -> MainAggregates:
    """A fixed number of queries whatever the data size: the rollup refresh (one statement,
    five when days are dirty), the counts, the open reports, the percentiles (see the
    comment above `SET_TOTAL`). Precondition: the period starts and ends at local midnights."""
    now = now or timezone.now()
    rollups.dailystats_refresh(today=_day(now))
    rolled = {SET_TOTAL: {}, SET_DEPARTMENT: {}, SET_DISTRICT: {}}
    agg = MainAggregates(total={}, departments={}, districts={}, received_weeks={},
                         resolved_weeks={}, percentiles={}, department_percentiles={})
    weeks = trend_weeks(f)
    for row in fetch_rows(*counts_statement(f, now)):  # one row per grouping-set group
        grp = row["grp"]
        if grp == SET_WEEK:
            if row["wk"] is not None:
                agg.received_weeks[weeks[row["wk"]]] = row["week_received"] or 0
                agg.resolved_weeks[weeks[row["wk"]]] = row["week_resolved"] or 0
        elif grp in rolled:
            key = {SET_TOTAL: None, SET_DEPARTMENT: row["department_id"],
                   SET_DISTRICT: row["district_id"]}[grp]
            rolled[grp][key] = row
    live = {OPEN_TOTAL: {}, OPEN_DEPARTMENT: {}, OPEN_DISTRICT: {}}
    for row in fetch_rows(*open_statement(f, now)):
        key = {OPEN_TOTAL: None, OPEN_DEPARTMENT: row["department_id"],
               OPEN_DISTRICT: row["district_id"]}[row["grp"]]
        live[row["grp"]][key] = row
    periods = _periods(f, now)
    agg.total = _combine(periods, rolled[SET_TOTAL].get(None), live[OPEN_TOTAL].get(None))
    for target, by_rollup, by_live in ((agg.departments, rolled[SET_DEPARTMENT],
                                        live[OPEN_DEPARTMENT]),
                                       (agg.districts, rolled[SET_DISTRICT], live[OPEN_DISTRICT])):
        for key in by_rollup.keys() | by_live.keys():
            target[key] = _combine(periods, by_rollup.get(key), by_live.get(key))
    resolved = agg.total["cur_resolved"] + agg.total["prev_resolved"]
    if resolved <= EXACT_PERCENTILES_UP_TO:
        for row in fetch_rows(*percentiles_statement(f), work_mem=PERCENTILE_WORK_MEM):
            if row["grp"] == 1:
                agg.percentiles = _percentile_row(row)
            else:
                agg.department_percentiles[row["department_id"]] = _percentile_row(row)
    else:
        agg.percentiles, agg.department_percentiles = histogram_percentiles(
            fetch_rows(*histogram_statement(f)))
    return agg
