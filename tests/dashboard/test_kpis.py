"""dashboard.kpis: the dashboard's maths, against small hand-computed fixtures.

Every expected number below is worked out by hand in the comments from the fixture, so the
SQL (FILTER, percentile_cont, width_bucket, date_trunc) is checked against arithmetic.
"""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from dashboard import kpis, selectors
from dashboard.services import local_midnight
from reports.models import RESOLVE_BUCKETS_PER_E
from reports.services import report_transition
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db

D = timedelta(days=1)


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def fixture(city, now):
    """Nine visible reports and one hidden, in a current period [now-10d, now) and the
    previous one [now-20d, now-10d). Roads unless said; east district unless said.

    current:  A resolved in 24 h within SLA; B (lighting) resolved after 144 h, late, closed;
              C in progress, overdue, 3 supporters; D needs_info, past due but paused;
              F (lighting) rejected; G assigned after a reopen, 2 supporters;
              H hidden (left out everywhere).
    previous: P1 resolved in 48 h within SLA; P2 (west, 3 km away) still open and overdue;
              E created 19 days ago, waited 6 days in needs_info, resolved 1 day ago: 432 h,
              within its shifted deadline.
    """
    c = city.centre
    near = f.offset(c, 100, 100)
    common = {"category": city.pothole, "district": city.east, "location": near}

    def make(name, created, **kw):
        fields = {**common, "department": city.roads, "created": created, **kw}
        return f.ReportFactory(description=name, **fields)

    reports = {
        "A": make("A", now - 9 * D, status=Status.RESOLVED, resolved_at=now - 8 * D,
                  due_at=now + 6 * D),
        "B": make("B", now - 8 * D, department=city.lighting, category=city.streetlight,
                  status=Status.CLOSED, resolved_at=now - 2 * D, closed_at=now - 1 * D,
                  due_at=now - 3 * D),
        "C": make("C", now - 5 * D, status=Status.IN_PROGRESS, due_at=now - 1 * D,
                  supporters_count=3),
        "D": make("D", now - 4 * D, status=Status.NEEDS_INFO, due_at=now - 2 * D,
                  sla_paused_at=now - 3 * D),
        "F": make("F", now - 3 * D, department=city.lighting, category=city.streetlight,
                  status=Status.REJECTED, closed_at=now - 2 * D),
        "G": make("G", now - 6 * D, status=Status.ASSIGNED, reopen_count=1,
                  due_at=now + 5 * D, supporters_count=2),
        "H": make("H", now - 2 * D, is_hidden=True, supporters_count=50),
        "P1": make("P1", now - 15 * D, status=Status.RESOLVED, resolved_at=now - 13 * D,
                   due_at=now),
        "P2": make("P2", now - 12 * D, status=Status.ASSIGNED, due_at=now - 11 * D,
                   district=city.west, location=f.offset(c, -3000, 0)),
        "E": make("E", now - 19 * D, status=Status.RESOLVED, resolved_at=now - 1 * D,
                  due_at=now + 2 * D, sla_paused_seconds=6 * 86400),
    }
    return reports


def filters(now, **kw):
    """The ten local days up to today: every fixture instant (whole days before `now`) falls
    in the same period as in [now-10d, now); the previous period is the ten days before."""
    today = timezone.localdate(now)
    return kpis.DashboardFilters(start=local_midnight(today - 9 * D),
                                 end=local_midnight(today + D), period="custom", **kw)


def by_key(items):
    return {k.key: k for k in items}


def test_kpis_current_and_previous_period(fixture, now, django_assert_num_queries):
    # when the KPIs are computed for the ten days up to today (the rollup is brought up to
    # date first), and again: then the rollup check, the counts, the reports open now and the
    # percentiles (with their work_mem raised for the transaction) are five queries
    first = by_key(selectors.kpi_summary(filters(now), now=now))
    with django_assert_num_queries(5):
        result = by_key(selectors.kpi_summary(filters(now), now=now))
    assert {k: (v.value, v.previous) for k, v in first.items()} == {
        k: (v.value, v.previous) for k, v in result.items()}
    # then (current, previous), worked out in the fixture's docstring:
    expected = {
        "received": (6, 3),          # A B C D F G  |  P1 P2 E
        "resolved": (3, 1),          # A B E        |  P1
        "backlog": (4, 2),           # C D G P2     |  at now-10d: P2, E
        "overdue": (2, 1),           # C P2 (D paused) | P2
        "supporters": (5, 0),        # C 3 + G 2 (H hidden)
    }
    for key, (cur, prev) in expected.items():
        assert (result[key].value, result[key].previous) == (cur, prev), key
    # times to resolve 24, 144, 432 h: median 144; p90 = 144 + 0.8 * (432 - 144) = 374.4
    assert result["median_hours"].value == pytest.approx(144)
    assert result["p90_hours"].value == pytest.approx(374.4)
    assert result["median_hours"].previous == pytest.approx(48)
    # within SLA: A and E of A, B, E -> 2/3; previous P1 -> 100 %
    assert result["within_sla"].value == pytest.approx(200 / 3)
    assert result["within_sla"].previous == pytest.approx(100)
    assert result["within_sla"].change == pytest.approx(200 / 3 - 100)
    assert result["within_sla"].trend == "bad"
    # reopen rate: G of the received ever resolved (A, B, G) -> 1/3; previous 0 of (P1, E)
    assert result["reopen_rate"].value == pytest.approx(100 / 3)
    assert result["reopen_rate"].previous == pytest.approx(0)
    # changes: received 6 vs 3 is +100 %; resolved going up is good, overdue up is bad
    assert result["received"].change_percent == pytest.approx(100)
    assert result["resolved"].trend == "good"
    assert result["overdue"].trend == "bad"
    assert result["received"].trend == "neutral"


@pytest.mark.parametrize(
    ("filter_name", "expected_received"),
    [
        ("department:lighting", 2),  # B F
        ("department:roads", 4),     # A C D G
        ("district:west", 0),        # P2 is from the previous period
        ("category:streetlight", 2),
    ],
)
def test_kpi_filters(fixture, now, city, filter_name, expected_received):
    kind, code = filter_name.split(":")
    value = {"department": {"lighting": city.lighting, "roads": city.roads},
             "district": {"west": city.west},
             "category": {"streetlight": city.streetlight}}[kind][code]
    result = by_key(selectors.kpi_summary(filters(now, **{kind: value}), now=now))
    assert result["received"].value == expected_received


def test_department_table_shows_volumes_beside_rates(fixture, now, city):
    rows = {r.code: r for r in selectors.department_table(filters(now), now=now)}
    roads, lighting = rows["roads"], rows["lighting"]
    # roads: received A C D G; resolved A E (24 h, 432 h -> median 228); backlog C D G P2
    assert (roads.received, roads.resolved, roads.backlog, roads.overdue) == (4, 2, 4, 2)
    assert roads.median_hours == pytest.approx(228)
    assert roads.within_sla_percent == pytest.approx(100)
    # lighting: received B F; resolved B late (144 h)
    assert (lighting.received, lighting.resolved, lighting.backlog) == (2, 1, 0)
    assert lighting.within_sla_percent == pytest.approx(0)
    # small samples are flagged, and the table is in name order, not ranked
    assert roads.small_sample and lighting.small_sample
    names = [r.name_uk for r in selectors.department_table(filters(now), now=now)]
    assert names == sorted(names)


def test_large_sets_read_percentiles_from_a_histogram_within_half_a_percent(
        fixture, now, monkeypatch, django_assert_num_queries):
    # given the same reports, with the exact-percentile limit lowered below their number
    monkeypatch.setattr(kpis, "EXACT_PERCENTILES_UP_TO", 0)
    # when the KPIs and the department table are computed (counts, then one histogram query)
    kpis.main_aggregates(filters(now), now=now)  # brings the rollup up to date
    with django_assert_num_queries(4):  # rollup check, counts, open reports, histogram
        agg = kpis.main_aggregates(filters(now), now=now)
    result = by_key(selectors.kpi_summary(filters(now), now=now, agg=agg))
    rows = {r.code: r for r in selectors.department_table(filters(now), now=now, agg=agg)}
    # then every percentile is the exact one (as in the test above) within 0.5 %
    assert result["median_hours"].value == pytest.approx(144, rel=0.005)
    assert result["p90_hours"].value == pytest.approx(374.4, rel=0.005)
    assert result["median_hours"].previous == pytest.approx(48, rel=0.005)
    assert rows["roads"].median_hours == pytest.approx(228, rel=0.005)
    assert rows["lighting"].median_hours == pytest.approx(144, rel=0.005)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_histogram_quantiles_follow_percentile_cont(seed):
    # given durations from a minute to half a year, bucketed as the SQL buckets them
    rng = np.random.default_rng(seed)
    hours = np.exp(rng.uniform(np.log(1 / 60), np.log(4400), size=5001))
    buckets = np.floor(np.log(np.maximum(hours * 3600, 1.0)) * RESOLVE_BUCKETS_PER_E).astype(int)
    counts = dict(zip(*np.unique(buckets, return_counts=True), strict=True))
    # when the median and p90 are read from the histogram
    median, p90 = kpis._histogram_quantiles({int(b): int(n) for b, n in counts.items()})
    # then they are percentile_cont's (numpy's "linear") within 0.5 %
    assert median == pytest.approx(np.percentile(hours, 50), rel=0.005)
    assert p90 == pytest.approx(np.percentile(hours, 90), rel=0.005)


def test_weekly_trend_is_zero_filled_and_sums_up(fixture, now):
    points = selectors.weekly_trend(filters(now))
    # at least 12 weeks are shown; weeks are consecutive Mondays
    assert len(points) >= 12
    assert all(p.week.weekday() == 0 for p in points)
    assert all((b.week - a.week).days == 7 for a, b in zip(points, points[1:], strict=False))
    # every visible report was created in the last 12 weeks: 9; resolved: A B E P1
    assert sum(p.received for p in points) == 9
    assert sum(p.resolved for p in points) == 4


def test_backlog_age_histogram(fixture, now):
    buckets = selectors.backlog_age_histogram(filters(now), now=now)
    counts = {(b.low, b.high): (b.total, b.overdue) for b in buckets}
    # open now: C 5 d (overdue), D 4 d, G 6 d -> [3, 7); P2 12 d (overdue) -> [7, 15)
    assert counts[(3, 7)] == (3, 1)
    assert counts[(7, 15)] == (1, 1)
    assert sum(b.total for b in buckets) == 4
    assert buckets[-1].high is None


def test_hotspots_group_open_reports_by_cell(fixture, now, city):
    # given a gazetteer address near the busy cell and none near P2
    f.AddressPointFactory(house_number="7", location=f.offset(city.centre, 120, 90))
    spots = selectors.hotspots(filters(now), now=now)
    # C D G share a 500 m cell near the centre; P2 is 3 km west
    assert [(s.open, s.overdue) for s in spots] == [(3, 1), (1, 1)]
    assert spots[0].supporters == 5
    assert spots[0].category_name == "Яма"
    assert 48.4 < spots[0].lat < 48.5 and 35.0 < spots[0].lon < 35.1
    # reports without an address are labelled by the nearest address within the cell size
    assert (spots[0].address, spots[0].near) == ("", "вулиця Тестова, 7")
    assert spots[1].near == ""


def test_district_resolution_rate(fixture, now, city):
    stats = {d.code: d for d in selectors.district_stats(filters(now), now=now)}
    # east received A B C D F G; of those A and B are resolved -> 2/6
    assert (stats["east"].received, stats["east"].resolved) == (6, 2)
    assert stats["east"].resolution_rate == pytest.approx(100 / 3)
    # west received nothing in the period: no rate, but its backlog (P2) shows
    assert stats["west"].resolution_rate is None
    assert stats["west"].backlog == 1
    assert json.loads(stats["east"].geojson)["type"] in ("Polygon", "MultiPolygon")


def test_sla_pause_counts_as_within_sla(city, users, django_capture_on_commit_callbacks):
    """A report that waited for the reporter and was resolved within its shifted deadline
    is within SLA; the same delay without a pause is late. Goes through the services."""
    now = timezone.now()
    created = now - 19 * D  # a 15-day SLA: the original deadline was 4 days ago
    paused = f.ReportFactory(category=city.pothole, department=city.roads, created=created,
                             due_at=created + 15 * D)
    control = f.ReportFactory(category=city.pothole, department=city.roads, created=created,
                              due_at=created + 15 * D)
    staff = users["roads"]
    with django_capture_on_commit_callbacks(execute=True):
        report_transition(report_id=paused.pk, actor=staff, to_status=Status.NEEDS_INFO,
                          note="Which side of the road?")
        # the reporter took six days to answer
        type(paused).objects.filter(pk=paused.pk).update(sla_paused_at=now - 6 * D)
        report_transition(report_id=paused.pk, actor=staff, to_status=Status.IN_PROGRESS)
        report_transition(report_id=paused.pk, actor=staff, to_status=Status.RESOLVED,
                          note="Patched.")
        report_transition(report_id=control.pk, actor=staff, to_status=Status.RESOLVED,
                          note="Patched.")
    paused.refresh_from_db()
    assert paused.due_at > paused.resolved_at  # the deadline moved by the pause
    assert paused.sla_paused_seconds >= 6 * 86400 - 5
    result = by_key(selectors.kpi_summary(
        kpis.DashboardFilters(start=now - 30 * D, end=now + D, period="custom"),
        now=timezone.now()))
    assert result["resolved"].value == 2
    assert result["within_sla"].value == pytest.approx(50)  # the paused one only


def test_period_bounds_are_local_days():
    now = timezone.now()
    start, end = kpis.period_bounds("30d", now)
    assert end - start == 30 * D
    assert timezone.localtime(start).hour == 0 and timezone.localtime(end).hour == 0
    first, last = kpis.custom_bounds(
        timezone.localdate(now) - 6 * D, timezone.localdate(now)
    )
    assert last - first == 7 * D
    with pytest.raises(ValueError):
        kpis.period_bounds("fortnight", now)


def test_export_generalises_hazard_reports(city, now):
    exact = f.offset(city.centre, 123, 77)
    f.ReportFactory(category=city.explosive, department=city.dsns, is_hazard=True,
                    location=exact, created=now - D)
    row = selectors.export_rows(filters(now)).get()
    from layers.geometry import generalise, lat_lon

    cell = lat_lon(generalise(exact))
    assert (round(row.lat, 5), round(row.lon, 5)) == (round(cell[0], 5), round(cell[1], 5))
    assert lat_lon(exact) != (row.lat, row.lon)
