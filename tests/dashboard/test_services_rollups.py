"""dashboard.services: the dashboard's daily rollup stays exact, whatever writes the reports.

The oracle is the definition in dashboard.kpis written as plain ORM counts over the reports;
the rollup path (stored closed days + today live + the reports open now) must agree with it
for both periods, per department and per district.
"""

from __future__ import annotations

import io
import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard import kpis
from dashboard import services as rollups
from dashboard.models import DailyStat, DailyStatDirty
from reports.models import Report
from reports.workflow import DONE_STATUSES, OPEN_STATUSES, SLA_RUNNING_STATUSES, Status

from .. import factories as f

pytestmark = pytest.mark.django_db

D = timedelta(days=1)
S = timedelta(seconds=1)


def random_reports(city, n: int, *, seed: int) -> None:
    """Reports over the last 40 days in every state, with odd hours (around midnights too)."""
    rng = random.Random(seed)
    now = timezone.now()
    departments = [city.roads, city.lighting]
    districts = [city.east, city.west]
    for _ in range(n):
        created = now - rng.uniform(0, 40) * D
        due = None if rng.random() < 0.15 else created + rng.uniform(0.2, 12) * D
        status = rng.choice([s for s in Status if s != Status.DUPLICATE])  # needs a target
        resolved = closed = None
        if status in (Status.RESOLVED, Status.CLOSED):
            resolved = min(now, created + rng.uniform(0.01, 15) * D)
            if status == Status.CLOSED:
                closed = min(now, resolved + rng.uniform(0, 3) * D)
        elif status == Status.REJECTED:
            closed = rng.choice([None, min(now, created + rng.uniform(0.01, 9) * D)])
        f.ReportFactory(
            category=city.pothole, location=f.offset(city.centre, rng.uniform(-500, 500), 0),
            department=rng.choice(departments), district=rng.choice(districts),
            created=created, due_at=due, status=status, resolved_at=resolved, closed_at=closed,
            reopen_count=rng.choice([0, 0, 0, 1]), supporters_count=rng.randrange(4),
            is_hidden=rng.random() < 0.1)


def aligned(now, first_days_ago: int, days: int) -> kpis.DashboardFilters:
    today = timezone.localdate(now)
    start = today - timedelta(days=first_days_ago)
    return kpis.DashboardFilters(start=rollups.local_midnight(start),
                                 end=rollups.local_midnight(start + timedelta(days=days)),
                                 period="custom")


def oracle(qs, start, end, now) -> dict:
    """The definitions of dashboard.kpis, counted row by row by the ORM."""
    visible = qs.filter(is_hidden=False).annotate(
        done_at=Coalesce("resolved_at", "closed_at"))
    snapshot = min(end, now)
    done_later = Q(status__in=DONE_STATUSES, done_at__gte=snapshot)
    if snapshot >= now:
        backlog = visible.filter(status__in=OPEN_STATUSES)
        overdue = visible.filter(status__in=SLA_RUNNING_STATUSES, due_at__lt=now)
    else:
        backlog = visible.filter(Q(status__in=OPEN_STATUSES) | done_later, created__lt=snapshot)
        overdue = visible.filter(Q(status__in=SLA_RUNNING_STATUSES) | done_later,
                                 created__lt=snapshot, due_at__lt=snapshot)
    received = visible.filter(created__gte=start, created__lt=end)
    resolved = visible.filter(resolved_at__gte=start, resolved_at__lt=end)
    return {
        "received": received.count(),
        "resolved": resolved.count(),
        "within_sla": resolved.filter(due_at__isnull=False,
                                      resolved_at__lte=F("due_at")).count(),
        "resolved_with_due": resolved.filter(due_at__isnull=False).count(),
        "backlog": backlog.count(),
        "overdue": overdue.count(),
        "reopened": received.filter(reopen_count__gt=0).count(),
    }


def rollup_view(row: dict, p: str) -> dict:
    return {k: row[f"{p}_{k}"] for k in ("received", "resolved", "within_sla",
                                         "resolved_with_due", "backlog", "overdue", "reopened")}


@pytest.mark.parametrize(("first_days_ago", "days"), [(9, 10), (29, 30), (20, 7), (6, 30)])
def test_rollup_counts_equal_the_definitions(city, first_days_ago, days):
    # given reports of every kind over 40 days
    random_reports(city, 80, seed=first_days_ago * 100 + days)
    now = timezone.now()
    filters = aligned(now, first_days_ago, days)
    # when the dashboard's aggregates are computed through the rollup
    agg = kpis.main_aggregates(filters, now=now)
    # then both periods agree with the definitions, in all and per department and district
    periods = {"cur": (filters.start, filters.end), "prev": (filters.prev_start, filters.prev_end)}
    for p, (start, end) in periods.items():
        assert rollup_view(agg.total, p) == oracle(Report.objects.all(), start, end, now), p
        for dept in (city.roads, city.lighting):
            expected = oracle(Report.objects.filter(department=dept), start, end, now)
            assert rollup_view(agg.departments.get(dept.pk, dict.fromkeys(
                kpis.COUNT_NAMES, 0)), p) == expected, (p, dept.code)
        for district in (city.east, city.west):
            expected = oracle(Report.objects.filter(district=district), start, end, now)
            assert rollup_view(agg.districts.get(district.pk, dict.fromkeys(
                kpis.COUNT_NAMES, 0)), p) == expected, (p, district.code)


def test_writes_that_bypass_services_are_picked_up(city):
    # given reports and an up-to-date rollup
    random_reports(city, 40, seed=7)
    now = timezone.now()
    filters = aligned(now, 29, 30)
    before = kpis.main_aggregates(filters, now=now).total["cur_received"]
    assert not DailyStatDirty.objects.filter(day__lt=timezone.localdate(now)).exists()
    # when a bulk UPDATE hides every report older than a week (no service involved)
    hidden = Report.objects.filter(created__lt=now - 7 * D, is_hidden=False).update(
        is_hidden=True)
    assert hidden
    # then the trigger marked their days and the next read counts them out
    assert DailyStatDirty.objects.filter(day__lt=timezone.localdate(now)).exists()
    after = kpis.main_aggregates(filters, now=now).total["cur_received"]
    assert after < before
    assert after == oracle(Report.objects.all(), filters.start, filters.end, now)["received"]


def test_rebuild_gives_the_same_rows_as_the_incremental_refresh(city):
    # given a rollup kept up to date by refreshes
    random_reports(city, 50, seed=11)
    rollups.dailystats_refresh()
    columns = ("day", *rollups.DIMENSIONS, *rollups.ROLLUP_COLUMNS)
    incremental = sorted(DailyStat.objects.values_list(*columns), key=str)
    # when it is rebuilt from scratch
    rollups.dailystats_rebuild()
    # then the rows are the same
    assert sorted(DailyStat.objects.values_list(*columns), key=str) == incremental
    assert incremental


def test_refresh_takes_a_fixed_number_of_queries(city):
    # given many dirty days
    random_reports(city, 30, seed=3)
    dirty = DailyStatDirty.objects.filter(day__lt=timezone.localdate()).count()
    assert dirty > 20
    # when they are refreshed
    with CaptureQueriesContext(connection) as queries:
        assert rollups.dailystats_refresh() == dirty
    statements = [q["sql"] for q in queries.captured_queries
                  if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # then: the check, the claim, the delete and the insert, whatever the number of days
    assert len(statements) == 4
    # and a second refresh finds nothing to do in one query
    with CaptureQueriesContext(connection) as queries:
        assert rollups.dailystats_refresh() == 0
    assert len(queries.captured_queries) == 1


def test_today_is_counted_live_and_never_stored(city):
    # given a report created a few seconds ago
    f.ReportFactory(category=city.pothole, department=city.roads, district=city.east,
                    created=timezone.now() - 5 * S)
    now = timezone.now()
    # when the dashboard reads today's period
    agg = kpis.main_aggregates(aligned(now, 0, 1), now=now)
    # then it is counted, and the rollup holds no row for today
    assert agg.total["cur_received"] == 1
    assert not DailyStat.objects.filter(day__gte=timezone.localdate(now)).exists()


def test_rebuild_command_reports_the_days_it_recomputed(city):
    # given reports over 40 days
    random_reports(city, 20, seed=5)
    out = io.StringIO()
    # when the rollup is rebuilt from the command line
    call_command("rebuild_dashboard_rollup", stdout=out)
    # then every day from the first report to yesterday was recomputed and nothing is dirty
    first = Report.objects.order_by("created").first().created
    days = int(out.getvalue().split(":")[1].split()[0])
    assert days >= (timezone.localdate() - timezone.localdate(first)).days
    assert not DailyStatDirty.objects.filter(day__lt=timezone.localdate()).exists()
