"""Routing benchmark: route_report and the bulk re-route against the raw PostGIS queries.

Setup (in a database of its own, next to DATABASE_URL's, dropped at the end unless --keep):
the demo city's categories, departments and ~31 x 21 km service area around Dnipro; 2,000
generated responsibility polygons (three nested grids with overlaps, category subsets and
priorities); `manage.py generate_reports --count N` (1M by default).

Measured in the same run, each beside its raw baseline:
- single-report routing, p50/p95 over --samples random points: `route_report` through
  Django vs. the same `geocity_route()` SQL raw through psycopg, and vs. a plain
  point-in-polygon query; target route_report <= 1.3x raw geocity_route;
- bulk re-route of --reroute reports (untouched, open) after a layer change:
  `reports_reroute()` vs. the raw `UPDATE ... FROM` point-in-polygon join; target <= 1.3x.
  Every run is one transaction rolled back, so each starts from the same state.

Run: `make bench` (benchmarks/__main__.py calls run(args); --count and --quick apply), or
standalone with its own options (--help):
    DATABASE_URL=postgis://postgres@127.0.0.1:5433/geocity python -m benchmarks.routing
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

NAME = "routing"
DEFAULT_DB = "geocity_bench_routing"
RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 1.3


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="benchmarks.routing",
                                               description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000,
                        help="reports to generate (default 1M)")
    parser.add_argument("--polygons", type=int, default=2000,
                        help="responsibility polygons (default 2,000)")
    parser.add_argument("--samples", type=int, default=2000,
                        help="single-report routings per variant")
    parser.add_argument("--reroute", type=int, default=100_000,
                        help="reports the bulk re-route moves (default 100k)")
    parser.add_argument("--repeat", type=int, default=3, help="bulk runs per variant")
    parser.add_argument("--database", default=DEFAULT_DB, help="the benchmark's own database")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database (and reuse it next time)")
    parser.add_argument("--only", choices=["single", "bulk"],
                        help="run one of the two measurements")
    parser.add_argument("--setup-only", action="store_true",
                        help="only build the data set (kept for the next run)")
    parser.add_argument("--seed", type=int, default=7)
    return parser


# --- Database and Django --------------------------------------------------------------------

def _bench_url(database: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise SystemExit("DATABASE_URL is not set (make bench sets it).")
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{database}"))


def _admin_conninfo(url: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(scheme="postgresql", path="/postgres"))


def _create_database(url: str, database: str) -> bool:
    """Create the benchmark database (with PostGIS); False if it already existed."""
    import psycopg

    with psycopg.connect(_admin_conninfo(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')  # a name, not a value: no binding
    with psycopg.connect(urlunparse(urlparse(url)._replace(scheme="postgresql")),
                         autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return not exists


def drop_database(url: str, database: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(_admin_conninfo(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _setup_django(database: str) -> str | None:
    """Point Django's default connection at the benchmark database (configured or not).

    Returns the database name it replaced (None if Django was not set up yet)."""
    url = _bench_url(database)
    from django.conf import settings

    previous = None
    if not settings.configured:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geocity.settings.test")
        import django

        django.setup()
    else:
        previous = _switch_database(database)
    settings.DEBUG = False  # no query log: it would cost memory and time
    return previous


def _switch_database(database: str) -> str:
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    previous = settings.DATABASES["default"]["NAME"]
    settings.DATABASES["default"]["NAME"] = database
    connections["default"].settings_dict["NAME"] = database
    return previous


def _raw_connection():
    """A psycopg connection configured like Django's: client-side binding, no prepare."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    conn = psycopg.connect(
        dbname=db["NAME"], host=db.get("HOST") or None, port=db.get("PORT") or None,
        user=db.get("USER") or None, password=db.get("PASSWORD") or None,
        cursor_factory=psycopg.ClientCursor, prepare_threshold=None, autocommit=True,
    )
    return conn


# --- Data -----------------------------------------------------------------------------------

def _grid_polygons(count: int, rng: random.Random) -> list[dict]:
    """Three nested grids over the service area's bounds: 5% large (all categories), 20%
    medium, 75% small cells, each grown 10-25% so neighbours overlap, with category subsets,
    priorities by level and a few validity windows."""
    from django.contrib.gis.db.models import Extent
    from django.contrib.gis.geos import MultiPolygon, Polygon

    from layers.models import Department, ServiceArea
    from reports.models import Category

    x1, y1, x2, y2 = ServiceArea.objects.aggregate(e=Extent("geometry"))["e"]
    categories = list(Category.objects.filter(is_hazard=False).values_list("id", flat=True))
    departments = list(Department.objects.filter(is_emergency_service=False)
                       .values_list("id", flat=True))
    levels = [(0.05, 0), (0.20, 1), (0.75, 2)]
    rows: list[dict] = []
    for share, priority in levels:
        n = max(1, round(count * share)) if priority < 2 else count - len(rows)
        cols = max(1, round((n * (x2 - x1) / (y2 - y1)) ** 0.5))
        lines = -(-n // cols)
        w, h = (x2 - x1) / cols, (y2 - y1) / lines
        for k in range(n):
            i, j = k % cols, k // cols
            grow = rng.uniform(0.10, 0.25)
            cx, cy = x1 + (i + 0.5) * w, y1 + (j + 0.5) * h
            hw, hh = w * (0.5 + grow / 2), h * (0.5 + grow / 2)
            poly = Polygon.from_bbox((cx - hw, cy - hh, cx + hw, cy + hh))
            subset = [] if priority == 0 else rng.sample(categories, rng.randint(1, 4))
            rows.append({
                "name": f"Bench L{priority} #{k}", "priority": priority,
                "department_id": rng.choice(departments), "categories": subset,
                "geometry": MultiPolygon(poly, srid=ServiceArea._meta.get_field(
                    "geometry").srid),
                "valid_to": "2000-01-01" if rng.random() < 0.02 else None,
            })
    return rows


def _load_polygons(count: int, seed: int) -> None:
    from django.db import connection, transaction

    from layers.models import ResponsibilityArea

    rng = random.Random(seed)
    with transaction.atomic():
        ResponsibilityArea.objects.all().delete()
        rows = _grid_polygons(count, rng)
        areas = ResponsibilityArea.objects.bulk_create([
            ResponsibilityArea(name=r["name"], priority=r["priority"],
                               department_id=r["department_id"], geometry=r["geometry"],
                               valid_from="1999-01-01" if r["valid_to"] else None,
                               valid_to=r["valid_to"])
            for r in rows
        ])
        through = ResponsibilityArea.categories.through
        through.objects.bulk_create([
            through(responsibilityarea_id=a.pk, category_id=c)
            for a, r in zip(areas, rows, strict=True) for c in r["categories"]
        ])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE layers_responsibilityarea")
        cursor.execute("VACUUM ANALYZE layers_responsibilityarea_categories")


def setup(args, log: Callable[[str], None]) -> None:
    from django.core.management import call_command

    from layers.models import ResponsibilityArea
    from reports.models import Report

    call_command("migrate", verbosity=0)
    if not Report.objects.exists() and not ResponsibilityArea.objects.filter(
            name__startswith="Bench ").exists():
        log("loading the demo city's layers and categories")
        call_command("load_demo_city", reports=0, verbosity=0)
    if ResponsibilityArea.objects.filter(name__startswith="Bench ").count() != args.polygons:
        log(f"creating {args.polygons} responsibility polygons")
        _load_polygons(args.polygons, args.seed)
    have = Report.objects.count()
    if have < args.reports:
        log(f"generating {args.reports - have} reports (manage.py generate_reports)")
        started = time.perf_counter()
        call_command("generate_reports", count=args.reports - have, seed=args.seed,
                     no_progress=True, verbosity=0)
        log(f"  took {time.perf_counter() - started:.0f} s")


# --- Measurements ---------------------------------------------------------------------------

def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(pick(0.50) * 1000, 3), "p95_ms": round(pick(0.95) * 1000, 3),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3), "n": len(ordered)}


def _sample_points(n: int, seed: int):
    """Random points inside the service area with random (non-hazard) categories."""
    from django.contrib.gis.geos import Point
    from django.db import connection

    from reports.models import Category

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(p.geom), ST_Y(p.geom) FROM layers_servicearea sa, "
            "LATERAL ST_Dump(ST_GeneratePoints(sa.geometry, %s, %s)) p LIMIT %s",
            [n, seed, n])
        coords = cursor.fetchall()
    categories = list(Category.objects.filter(is_hazard=False))
    rng = random.Random(seed)
    from django.conf import settings

    return [(Point(x, y, srid=settings.STORAGE_SRID), rng.choice(categories))
            for x, y in coords]


DJANGO = "route_report (Django)"
SAME_SQL = "same SQL raw (psycopg)"
PIP = "point-in-polygon raw (psycopg)"

PIP_SQL = (
    "SELECT ra.id, ra.department_id FROM layers_responsibilityarea ra "
    "WHERE ST_Intersects(ra.geometry, %s::geometry) "
    "ORDER BY ra.priority DESC, ST_Area(ra.geometry) LIMIT 1"
)


def bench_single(args, log) -> dict:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from layers.services import ROUTE_REPORT_SQL, ROUTE_SQL, route_report

    points = _sample_points(args.samples, args.seed)
    warm = points[: min(200, len(points))]
    raw = _raw_connection()
    today = timezone.localdate()
    tol, buf = float(settings.ROUTING_BORDER_TOLERANCE_M), float(settings.HAZARD_BUFFER_M)

    def django_route(point, category):
        route_report(location=point, category=category)

    def raw_sql(sql):
        def call(point, category):
            with raw.cursor() as cur:
                cur.execute(sql, [point.ewkb, category.pk, today, tol, buf])
                cur.fetchone()
        return call

    def raw_function_inline(point, category):
        # the SQL function called directly: inlined and planned on every call
        with raw.cursor() as cur:
            cur.execute("SELECT * FROM geocity_route(%s, %s, %s, %s, %s)",
                        [point.ewkb, category.pk, today, tol, buf])
            cur.fetchone()

    def raw_pip(point, category):
        with raw.cursor() as cur:
            cur.execute(PIP_SQL, [point.ewkb])
            cur.fetchone()

    variants = {
        DJANGO: django_route,
        SAME_SQL: raw_sql(ROUTE_REPORT_SQL),
        "geocity_route_one facts raw": raw_sql(ROUTE_SQL),
        "geocity_route inlined, re-planned raw": raw_function_inline,
        PIP: raw_pip,
    }
    connection.ensure_connection()
    for fn in variants.values():
        for point, category in warm:
            fn(point, category)
    timings: dict[str, list[float]] = {name: [] for name in variants}
    # Interleaved, so drift hits every variant alike; the order rotates per point, since the
    # first variant to route a point pays for bringing its polygons into the caches.
    names = list(variants)
    for i, (point, category) in enumerate(points):
        for name in names[i % len(names):] + names[: i % len(names)]:
            fn = variants[name]
            started = time.perf_counter()
            fn(point, category)
            timings[name].append(time.perf_counter() - started)
    raw.close()
    result: dict = {"variants": {name: _percentiles(t) for name, t in timings.items()}}
    django_, same, pip = (result["variants"][k] for k in (DJANGO, SAME_SQL, PIP))
    result["ratio_p50"] = round(django_["p50_ms"] / same["p50_ms"], 2)
    result["ratio_p95"] = round(django_["p95_ms"] / same["p95_ms"], 2)
    result["ratio_vs_pip_p50"] = round(django_["p50_ms"] / pip["p50_ms"], 2)
    result["ratio_vs_pip_p95"] = round(django_["p95_ms"] / pip["p95_ms"], 2)
    result["target"] = TARGET
    result["met"] = result["ratio_p50"] <= TARGET and result["ratio_p95"] <= TARGET
    return result


OPEN = ["new", "moderation", "assigned"]

RAW_REROUTE_SQL = """
UPDATE reports_report r
SET department_id = m.department_id, updated = now()
FROM (
    SELECT DISTINCT ON (r.id) r.id, ra.department_id
    FROM reports_report r
    JOIN layers_responsibilityarea ra ON ST_Intersects(ra.geometry, r.location)
    WHERE r.status IN ('new', 'moderation', 'assigned') AND r.touched_at IS NULL
      AND r.routing_rule <> 'manual'
    ORDER BY r.id, ra.priority DESC, ST_Area(ra.geometry), ra.id
) m
WHERE r.id = m.id AND r.department_id IS DISTINCT FROM m.department_id
"""

RAW_REROUTE_CATEGORY_SQL = """
UPDATE reports_report r
SET department_id = m.department_id, updated = now()
FROM (
    SELECT DISTINCT ON (r.id) r.id, ra.department_id
    FROM reports_report r
    JOIN layers_responsibilityarea ra ON ST_Intersects(ra.geometry, r.location)
    WHERE r.status IN ('new', 'moderation', 'assigned') AND r.touched_at IS NULL
      AND r.routing_rule <> 'manual'
      AND (NOT EXISTS (SELECT 1 FROM layers_responsibilityarea_categories c
                       WHERE c.responsibilityarea_id = ra.id)
           OR EXISTS (SELECT 1 FROM layers_responsibilityarea_categories c
                      WHERE c.responsibilityarea_id = ra.id AND c.category_id = r.category_id))
    ORDER BY r.id, ra.priority DESC, ST_Area(ra.geometry), ra.id
) m
WHERE r.id = m.id AND r.department_id IS DISTINCT FROM m.department_id
"""


def _prepare_reroute(n: int, seed: int, log) -> int:
    """Exactly `n` untouched open reports (the rest touched), and a layer change that moves
    most of them: every area's department rotated."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE reports_report SET touched_at = coalesce(touched_at, created) "
                       "WHERE touched_at IS NULL")
        cursor.execute(
            "SELECT count(*) FROM reports_report "
            "WHERE status = ANY(%s) AND routing_rule <> 'manual'",
            [OPEN])
        available = cursor.fetchone()[0]
        if available < n:
            log(f"  only {available} open reports: reopening {n - available} closed ones")
            cursor.execute(
                "UPDATE reports_report SET status = 'assigned' WHERE id IN ("
                " SELECT id FROM reports_report WHERE NOT (status = ANY(%s)) ORDER BY id LIMIT %s)",
                [OPEN, n - available])
        cursor.execute(
            "UPDATE reports_report SET touched_at = NULL WHERE id IN ("
            " SELECT id FROM reports_report WHERE status = ANY(%s) AND routing_rule <> 'manual'"
            " ORDER BY md5(id::text || %s) LIMIT %s)", [OPEN, str(seed), n])
        cursor.execute(
            "WITH d AS (SELECT id, lead(id, 1, (SELECT min(id) FROM layers_department"
            "   WHERE NOT is_emergency_service)) OVER (ORDER BY id) AS next_id"
            " FROM layers_department WHERE NOT is_emergency_service) "
            "UPDATE layers_responsibilityarea ra SET department_id = d.next_id "
            "FROM d WHERE ra.department_id = d.id")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reports_report")
        cursor.execute("ANALYZE layers_responsibilityarea")
        cursor.execute("SELECT count(*) FROM reports_report WHERE touched_at IS NULL")
        return cursor.fetchone()[0]


def _timed_rollback(conn, sql: str, params=None) -> tuple[float, int]:
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        started = time.perf_counter()
        cur.execute(sql, params)
        rows = cur.rowcount
        elapsed = time.perf_counter() - started
    return elapsed, rows


def _timed_count(conn, sql: str, params=None) -> tuple[float, int]:
    with conn.cursor() as cur:
        started = time.perf_counter()
        cur.execute(sql, params)
        rows = int(cur.fetchone()[0])
        elapsed = time.perf_counter() - started
    conn.rollback()
    return elapsed, rows


DECIDE_TAIL = """
SELECT count(*) + sum(coalesce(department_id, 0) + length(rule) + is_hazard::int) * 0
FROM decided
"""

RAW_DECIDE_SQL = """
SELECT count(*) + sum(coalesce(department_id, 0)) * 0 FROM (
    SELECT DISTINCT ON (r.id) r.id, ra.department_id
    FROM reports_report r
    JOIN layers_responsibilityarea ra ON ST_Intersects(ra.geometry, r.location)
    WHERE r.status IN ('new', 'moderation', 'assigned') AND r.touched_at IS NULL
      AND r.routing_rule <> 'manual'
    ORDER BY r.id, ra.priority DESC, ST_Area(ra.geometry), ra.id
) m
"""

OURS, RAW_PIP, RAW_PIP_CAT = ("reports_reroute (Django)", "raw UPDATE ... FROM PIP join",
                              "raw UPDATE ... FROM PIP join + category")
OURS_DECIDE, RAW_DECIDE = "decide only: geocity_route (LATERAL)", "decide only: raw PIP join"


def bench_bulk(args, log) -> dict:
    from django.conf import settings
    from django.utils import timezone

    from reports.services import REROUTE_DECIDE_SQL, reports_reroute

    candidates = _prepare_reroute(args.reroute, args.seed, log)
    log(f"  {candidates} untouched open reports to re-route")
    raw = _raw_connection()
    raw.autocommit = False
    maintenance = _raw_connection()  # autocommit: VACUUM between runs
    decide_params = {"today": timezone.localdate(),
                     "tolerance": float(settings.ROUTING_BORDER_TOLERANCE_M),
                     "buffer": float(settings.HAZARD_BUFFER_M)}
    # Every decided column is used, or the planner would skip the probes behind it.
    ours_decide_sql = "WITH " + REROUTE_DECIDE_SQL + DECIDE_TAIL  # noqa: S608

    def ours():
        started = time.perf_counter()
        result = reports_reroute(dry_run=True)  # the full statement, then rolled back
        return time.perf_counter() - started, result.changed

    variants = {
        OURS: (ours, True),
        RAW_PIP: (lambda: _timed_rollback(raw, RAW_REROUTE_SQL), True),
        RAW_PIP_CAT: (lambda: _timed_rollback(raw, RAW_REROUTE_CATEGORY_SQL), True),
        OURS_DECIDE: (lambda: _timed_count(raw, ours_decide_sql, decide_params), False),
        RAW_DECIDE: (lambda: _timed_count(raw, RAW_DECIDE_SQL), False),
    }
    runs: dict[str, list[float]] = {name: [] for name in variants}
    rows: dict[str, int] = {}
    names = list(variants)
    for i in range(args.repeat):
        order = names[i % len(names):] + names[: i % len(names)]  # no fixed position
        for name in order:
            fn, writes = variants[name]
            elapsed, count = fn()
            runs[name].append(elapsed)
            rows[name] = count
            if writes:  # the rolled-back rows are dead tuples: clear them for the next one
                maintenance.execute("VACUUM reports_report")
                maintenance.execute("VACUUM reports_reportevent")
        log(f"  run {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in runs.items()))
    raw.close()
    maintenance.close()
    result: dict = {"candidates": candidates, "variants": {
        name: {"median_s": round(statistics.median(t), 3), "runs_s": [round(x, 3) for x in t],
               "rows": rows[name]} for name, t in runs.items()}}
    med = {name: v["median_s"] for name, v in result["variants"].items()}
    result["ratio_vs_pip"] = round(med[OURS] / med[RAW_PIP], 2)
    result["ratio_vs_pip_category"] = round(med[OURS] / med[RAW_PIP_CAT], 2)
    result["ratio_decide_only"] = round(med[OURS_DECIDE] / med[RAW_DECIDE], 2)
    result["target"] = TARGET
    result["met"] = result["ratio_vs_pip"] <= TARGET
    return result


# --- Entry points ---------------------------------------------------------------------------

def run(args=None) -> dict:
    """Run the benchmark; `args` is an argparse Namespace, a list of strings, or None."""
    if args is None or isinstance(args, list | tuple):
        args = build_parser().parse_args(list(args or []))
    else:  # the runner's namespace (benchmarks/__main__.py): --count, --quick
        runner = args
        args = build_parser().parse_args([])
        args.reports = getattr(runner, "count", None) or args.reports
        if getattr(runner, "quick", False):
            args.samples, args.repeat, args.reroute = 500, 1, min(args.reroute, 20_000)

    def log(message: str) -> None:
        print(f"[routing] {message}", file=sys.stderr, flush=True)

    url = _bench_url(args.database)
    created = _create_database(url, args.database)
    log(f"database {args.database} ({'created' if created else 'reused'})")
    previous = _setup_django(args.database)
    if args.setup_only:
        setup(args, log)
        log(f"data set ready in {args.database}")
        if previous:
            _switch_database(previous)
        return {}
    try:
        setup(args, log)
        from layers.models import ResponsibilityArea
        from reports.models import Report

        report = {
            "benchmark": NAME,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "reports": Report.objects.count(),
            "polygons": ResponsibilityArea.objects.count(),
        }
        if args.only != "bulk":
            log("single-report routing")
            report["single"] = bench_single(args, log)
        if args.only != "single":
            log("bulk re-route")
            report["bulk"] = bench_bulk(args, log)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / "routing.json"
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
        _print(report)
    finally:
        if not args.keep:
            log(f"dropping {args.database}")
            drop_database(url, args.database)
        if previous:  # other benchmarks in this process go on with the runner's database
            _switch_database(previous)
    return report


def _print(report: dict) -> None:
    print(f"\nRouting benchmark: {report['reports']:,} reports, {report['polygons']:,} "
          "responsibility polygons")
    single = report.get("single")
    if single:
        print("Single-report routing (client-side latency, one round trip each):")
        for name, s in single["variants"].items():
            print(f"  {name:40s} p50 {s['p50_ms']:7.3f} ms   p95 {s['p95_ms']:7.3f} ms")
        print(f"  route_report / same SQL raw: p50 {single['ratio_p50']}x, p95 "
              f"{single['ratio_p95']}x (target <= {TARGET}x: "
              f"{'met' if single['met'] else 'MISSED'}); / point-in-polygon: p50 "
              f"{single['ratio_vs_pip_p50']}x, p95 {single['ratio_vs_pip_p95']}x")
    bulk = report.get("bulk")
    if bulk:
        print(f"Bulk re-route of {bulk['candidates']:,} untouched open reports (median of "
              "runs, each rolled back):")
        for name, b in bulk["variants"].items():
            print(f"  {name:42s} {b['median_s']:7.2f} s   ({b['rows']:,} rows)")
        print(f"  reports_reroute / raw PIP UPDATE: {bulk['ratio_vs_pip']}x, / raw PIP + "
              f"category: {bulk['ratio_vs_pip_category']}x (target <= {TARGET}x: "
              f"{'met' if bulk['met'] else 'MISSED'}); decide only: "
              f"{bulk['ratio_decide_only']}x")


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    run(sys.argv[1:])


if __name__ == "__main__":
    main()
