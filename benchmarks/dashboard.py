"""Dashboard benchmark: the officials' dashboard on generated data (1M reports by default).

For several filter sets (periods, one department, one district, one category), measured side
by side in the same run, each repeated --repeat times:
- **request, cold**: GET /dashboard/ through the whole Django stack (middleware, session,
  filters, the aggregates, folium map, templates) with the aggregate cache cleared;
  target <= 1 s at 1M reports;
- **request, warm**: the same request again (aggregates cached for kpis.CACHE_SECONDS);
- **aggregates**: `dashboard.selectors.dashboard_data(use_cache=False)` alone (the ORM path);
- **raw SQL**: the very statements the aggregates ran (captured with an execute wrapper),
  replayed through a separate psycopg connection, summed; and each statement on its own.
The query count per render is reported too (it must not depend on the data size).

Run: `make bench` (benchmarks/__main__.py calls run(args)), or standalone on a database of
your own (it is filled with `manage.py generate_reports` when it holds fewer reports):
    DATABASE_URL=postgis://postgres@127.0.0.1:5433/geocity_dash \\
        .venv/bin/python -m benchmarks.dashboard --count 1000000
"""

from __future__ import annotations

import argparse
import contextlib
import re
import time
from collections.abc import Iterator

from . import common

NAME = "dashboard"
TARGET_MS = 1000.0
# The covering indexes the dashboard's plans rely on (see dashboard.kpis); without them every
# aggregate reads the whole table. Reported, never created, by this benchmark.
EXPECTED_INDEXES = ("report_dash_created", "report_dash_resolved", "report_dash_closed",
                    "report_dash_open")
REFERENCE_SQL = "SELECT count(*) FROM generate_series(1, 2000000)"


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="python -m benchmarks.dashboard",
                                               description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000,
                        help="reports the database must hold (generated when fewer)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per filter set")
    parser.add_argument("--quick", action="store_true", help="two runs per filter set")
    return parser


# --- Capturing and replaying the SQL ------------------------------------------------------

class Recorder:
    """A Django execute wrapper that keeps every statement with its parameters."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, params))
        return execute(sql, params, many, context)


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    from django.db import connection

    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        yield recorder


def _label(sql: str) -> str:
    """A short name for a statement."""
    text = " ".join(sql.split())
    if "GROUPING SETS ((), (department_id), (district_id)" in text:
        return "one pass: KPIs, departments, districts, trend"
    if "percentile_cont" in text:
        return "percentiles (overall, per department)"
    if "resolve_bucket" in text:
        return "percentiles from a histogram (overall, per department)"
    if "width_bucket" in text:
        return "backlog age histogram"
    if "FLOOR" in text and "mode()" in text:
        return "hotspots"
    if '"layers_department"' in text:
        return "department names"
    if "reports_category" in text:
        return "hotspot category names"
    if "layers_district" in text:
        return "district outlines"
    match = re.search(r'FROM "(\w+)"', text)
    return match.group(1) if match else text[:40]


def replay(conninfo: str, statements: list[tuple[str, object]]) -> tuple[float, list[float]]:
    """Run the statements raw through psycopg (client-side binding, as Django does);
    returns (total ms, per-statement ms)."""
    import psycopg

    each = []
    with psycopg.connect(conninfo, autocommit=True, prepare_threshold=None,
                         options="-c TimeZone=UTC") as conn:
        cursor = psycopg.ClientCursor(conn)
        cursor.execute("SELECT 1")  # connection warm-up, outside the timing
        for sql, params in statements:
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            each.append((time.perf_counter() - started) * 1000)
    return sum(each), each


# --- The benchmark ------------------------------------------------------------------------

def missing_indexes() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'reports_report'")
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in EXPECTED_INDEXES if name not in present]


def reference_ms(conninfo: str) -> float:
    """A fixed CPU-bound query, timed in the same run: how loaded the shared machine is."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute(REFERENCE_SQL).fetchall()
        return (time.perf_counter() - started) * 1000


def _official():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username="bench.official")
    user.groups.add(Group.objects.get_or_create(name="official")[0])
    return user


def _filter_sets() -> list[tuple[str, dict[str, str]]]:
    """Filter sets that exist in the data: the busiest department and category."""
    from django.db.models import Count

    from layers.models import District
    from reports.models import Report

    dept = (Report.objects.exclude(department=None).values("department__code")
            .annotate(n=Count("pk")).order_by("-n").first())
    cat = (Report.objects.values("category__service_code").annotate(n=Count("pk"))
           .order_by("-n").first())
    district = District.objects.order_by("code").first()
    sets = [("30 days, all", {"period": "30d"}),
            ("12 months, all", {"period": "365d"})]
    if dept:
        sets.append(("90 days, busiest department",
                     {"period": "90d", "department": dept["department__code"]}))
    if district:
        sets.append(("30 days, one district", {"period": "30d", "district": district.code}))
    if cat:
        sets.append(("30 days, busiest category",
                     {"period": "30d", "category": cat["category__service_code"]}))
    return sets


def _filters(params: dict[str, str]):
    from django.test import RequestFactory

    from dashboard.views import parse_filters

    filters, form = parse_filters(RequestFactory().get("/dashboard/", params))
    if form.errors:
        raise RuntimeError(f"bad filters {params}: {form.errors.as_json()}")
    return filters


def run(args) -> dict:
    from urllib.parse import urlencode

    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dashboard import selectors
    from reports.models import Report
    from reports.workflow import OPEN_STATUSES

    repeat = 2 if getattr(args, "quick", False) else max(1, getattr(args, "repeat", 5))
    have = common.ensure_reports(args.count)
    open_now = Report.objects.filter(status__in=list(OPEN_STATUSES)).count()
    print(f"dashboard: {have:,} reports, {open_now:,} open; {repeat} runs per filter set",
          flush=True)
    client = Client()
    client.force_login(_official())
    conninfo = common.libpq_url()
    missing = missing_indexes()
    if missing:
        print(f"dashboard: WARNING, indexes missing: {', '.join(missing)} (whole-table scans)",
              flush=True)

    rows = []
    results = []
    for label, params in _filter_sets():
        url = "/dashboard/?" + urlencode(params)
        filters = _filters(params)
        cold, warm, aggregates, raw, reference = [], [], [], [], []
        per_statement: dict[str, list[float]] = {}
        queries = None
        for _ in range(repeat):
            reference.append(reference_ms(conninfo))
            cache.clear()
            with CaptureQueriesContext(connection) as ctx:
                ms, response = common.timed(lambda url=url: client.get(url))
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            cold.append(ms)
            queries = len(ctx.captured_queries)
            ms, _ = common.timed(lambda url=url: client.get(url))
            warm.append(ms)
            with recording() as rec:
                ms, _ = common.timed(lambda f=filters: selectors.dashboard_data(f, use_cache=False))
            aggregates.append(ms)
            total, each = replay(conninfo, rec.statements)
            raw.append(total)
            for (sql, _params), t in zip(rec.statements, each, strict=True):
                per_statement.setdefault(_label(sql), []).append(t)
        entry = {
            "filters": label, "params": params, "queries_per_render": queries,
            "request_cold_ms": common.summary(cold), "request_warm_ms": common.summary(warm),
            "aggregates_orm_ms": common.summary(aggregates), "aggregates_raw_ms":
                common.summary(raw),
            "orm_vs_raw": common.ratio(common.percentile(aggregates, 50),
                                       common.percentile(raw, 50)),
            "request_vs_raw": common.ratio(common.percentile(cold, 50),
                                           common.percentile(raw, 50)),
            "raw_per_statement_p50_ms": {k: round(common.percentile(v, 50), 1)
                                         for k, v in per_statement.items()},
            "within_target": common.percentile(cold, 50) <= TARGET_MS,
            "reference_ms": common.summary(reference),
        }
        results.append(entry)
        rows.append([label, queries, entry["request_cold_ms"]["p50"],
                     entry["request_cold_ms"]["p95"], entry["request_warm_ms"]["p50"],
                     entry["aggregates_orm_ms"]["p50"], entry["aggregates_raw_ms"]["p50"],
                     entry["request_vs_raw"], entry["reference_ms"]["p50"],
                     "yes" if entry["within_target"] else "NO"])
        print(f"  {label}: cold p50 {entry['request_cold_ms']['p50']:.0f} ms, "
              f"raw {entry['aggregates_raw_ms']['p50']:.0f} ms", flush=True)

    common.print_table(
        f"Dashboard on {have:,} reports ({open_now:,} open), ms",
        ["filters", "queries", "cold p50", "cold p95", "warm p50", "ORM aggregates p50",
         "raw SQL p50", "cold/raw", "reference p50", "<= 1 s"], rows)
    print(f"reference p50: `{REFERENCE_SQL}` timed in the same run; it grows with the load "
          "of the shared machine, so compare figures measured at similar references")
    print("\nRaw SQL per statement, p50 ms (first filter set):")
    for name, t in results[0]["raw_per_statement_p50_ms"].items():
        print(f"  {name:<28} {t:>8.1f}")
    return {"machine": common.machine(), "reports": have, "open": open_now, "repeat": repeat,
            "target_ms": TARGET_MS, "missing_indexes": missing, "reference_sql": REFERENCE_SQL,
            "results": results}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    common.setup_django()
    result = run(args)
    path = common.write_results(NAME, result)
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
