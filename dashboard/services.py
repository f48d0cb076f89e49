"""The dashboard's daily rollup (`DailyStat`): what it holds, how it stays exact, how it is read.

Why: a dashboard over a year reads every report of the year (and of the year before, for the
comparison). At 1M reports that is ~0.7 s of aggregation per render; the rollup holds the
same counts per local day × department × district × category (~300 rows a day), so a year
is ~100k small rows.

What a row counts (`ROLLUP_COLUMNS`), each keyed by the local day of the instant it is about:
- by creation day (the cohort): received, supporters, reopened, ever_resolved,
  received_resolved, received_within_sla;
- by resolution day: resolved, resolved_within_sla, resolved_with_due;
- by done day (COALESCE(resolved_at, closed_at, created), reports in a done status now):
  done, and late_done when the report was due on an earlier day;
- by due day, for those late reports: late_due.
Snapshots at a past midnight T follow from these (dashboard.kpis): open at T = open now +
done on days ≥ T − received on days ≥ T; overdue at T among done reports = late_done on
days ≥ T − late_due on days ≥ T (plus the reports still running that were due before T).

How it stays exact: a statement-level trigger on `reports_report` (dashboard migration
0001; the only trigger in the project, bookkeeping, no business rule) records in
`DailyStatDirty` the days around every created/resolved/closed/due instant of the rows any
INSERT, UPDATE or DELETE touches, whatever wrote them (services, bulk updates, the admin,
raw SQL). UTC day ±1 is recorded, which covers the local day in any time zone.
`dailystats_refresh` recomputes the dirty days before today from the reports (delete +
insert, in one transaction, with writers of those days waiting on the claimed rows); the
dashboard calls it before reading, and a periodic task keeps the backlog of dirty days
short. Today is never stored: it is computed live from the reports by the same SQL
(`day_rows_sql`) on every read.

Preconditions: periods read from the rollup start and end at local midnights (the
dashboard's presets and custom dates always do).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from reports.workflow import DONE_STATUSES

ROLLUP_COLUMNS = ("received", "supporters", "reopened", "ever_resolved", "received_resolved",
                  "received_within_sla", "resolved", "resolved_within_sla",
                  "resolved_with_due", "done", "late_done", "late_due")
DIMENSIONS = ("department_id", "district_id", "category_id")
DONE = sorted(DONE_STATUSES)


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def day_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as [first, last + 1) runs of consecutive days."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + timedelta(days=1))
        else:
            runs.append((day, day + timedelta(days=1)))
    return runs


MAX_RUNS = 8  # more runs of dirty days than this are computed as one run (their span)


def day_rows_sql(runs: Sequence[tuple[date, date]], *,
                 where: str = "") -> tuple[str, dict[str, Any]]:
    """(SQL, named parameters): rollup rows (day, DIMENSIONS, ROLLUP_COLUMNS) computed from
    the reports for the local days of `runs` (and, past MAX_RUNS, the days between them:
    callers keep the days they asked for). `where` is extra SQL on the report alias `t`
    (" AND ...", with named parameters of the caller's own).

    Each branch reads one index range per run (bounds are constants, so the planner sees how
    few rows a day has)."""
    if len(runs) > MAX_RUNS:
        runs = [(runs[0][0], runs[-1][1])]
    params: dict[str, Any] = {"rollup_tz": timezone.get_current_timezone_name(),
                              "rollup_done": DONE}
    for i, (first, after) in enumerate(runs):
        params[f"rollup_lo{i}"], params[f"rollup_hi{i}"] = (local_midnight(first),
                                                            local_midnight(after))

    def local_day(expr: str) -> str:
        return f"({expr} AT TIME ZONE %(rollup_tz)s)::date"

    on_time = "t.due_at IS NOT NULL AND t.resolved_at <= t.due_at"
    done_at = "COALESCE(t.resolved_at, t.closed_at, t.created)"
    late = f"t.due_at IS NOT NULL AND {local_day('t.due_at')} < {local_day(done_at)}"
    is_done = " AND t.status = ANY(%(rollup_done)s)"

    def branch(day_expr: str, column: str, values: dict[str, str], extra: str = "") -> list[str]:
        cols = ", ".join(f"{values.get(c, '0')} AS {c}" for c in ROLLUP_COLUMNS)
        return [
            f"SELECT {local_day(day_expr)} AS day, t.department_id, t.district_id, "  # noqa: S608
            f"t.category_id, {cols} FROM reports_report t WHERE t.{column} >= %(rollup_lo{i})s "
            f"AND t.{column} < %(rollup_hi{i})s AND NOT t.is_hidden{extra}{where}"
            for i in range(len(runs))
        ]

    branches = [
        *branch("t.created", "created", {
            "received": "1", "supporters": "t.supporters_count",
            "reopened": "(t.reopen_count > 0)::int",
            "ever_resolved": "(t.resolved_at IS NOT NULL OR t.reopen_count > 0)::int",
            "received_resolved": "(t.resolved_at IS NOT NULL)::int",
            "received_within_sla": f"(t.resolved_at IS NOT NULL AND {on_time})::int"}),
        *branch("t.resolved_at", "resolved_at", {
            "resolved": "1", "resolved_within_sla": f"({on_time})::int",
            "resolved_with_due": "(t.due_at IS NOT NULL)::int"}),
    ]
    # done, by the day of COALESCE(resolved_at, closed_at, created): one index range each
    for column, extra in (("resolved_at", ""),
                          ("closed_at", " AND t.resolved_at IS NULL"),
                          ("created", " AND t.resolved_at IS NULL AND t.closed_at IS NULL")):
        branches += branch(done_at, column, {"done": "1", "late_done": f"({late})::int"},
                           is_done + extra)
    branches += branch("t.due_at", "due_at", {"late_due": "1"}, f"{is_done} AND {late}")
    sums = ", ".join(f"SUM({c})::int AS {c}" for c in ROLLUP_COLUMNS)
    union = " UNION ALL ".join(f"({b})" for b in branches)
    sql = (f"SELECT day, department_id, district_id, category_id, {sums} "  # noqa: S608
           f"FROM ({union}) AS x GROUP BY 1, 2, 3, 4")
    return sql, params


def dailystats_refresh(*, today: date | None = None) -> int:
    """Recompute the dirty days before `today` (local); returns how many there were.

    One statement when nothing is dirty; otherwise four more (in a transaction), whatever
    the number of days."""
    today = today or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM dashboard_dailystatdirty WHERE day < %s)",
                       [today])
        if not cursor.fetchone()[0]:
            return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM dashboard_dailystatdirty WHERE day < %s RETURNING day",
                       [today])
        days = [row[0] for row in cursor.fetchall()]
        if not days:
            return 0
        cursor.execute("DELETE FROM dashboard_dailystat WHERE day = ANY(%s::date[])", [days])
        columns = ", ".join(("day", *DIMENSIONS, *ROLLUP_COLUMNS))
        rows, params = day_rows_sql(day_runs(days))
        cursor.execute(f"INSERT INTO dashboard_dailystat ({columns}) "  # noqa: S608
                       f"SELECT {columns} FROM ({rows}) AS d WHERE d.day = ANY(%(days)s::date[])",
                       {**params, "days": days})
    return len(days)


def dailystats_rebuild(*, today: date | None = None) -> int:
    """Mark every day that holds reports dirty and refresh: after bulk loads, or to repair.

    Returns the number of days recomputed."""
    today = today or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO dashboard_dailystatdirty (day) "
            "SELECT generate_series(min(created)::date - 1, %s::date, '1 day')::date "
            "FROM reports_report HAVING min(created) IS NOT NULL ON CONFLICT DO NOTHING",
            [today])
    return dailystats_refresh(today=today)
