"""nearby_open_reports: duplicate candidates by radius and category, nearest first, in metres;
hazard reports matched and measured at their public grid cell for the public."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from layers.geometry import generalise
from reports.selectors import nearby_open_reports
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db


def _report(city, dx=0.0, dy=0.0, *, category=None, status=Status.ASSIGNED, **kwargs):
    return f.ReportFactory(location=f.offset(city.centre, dx, dy),
                           category=category or city.pothole, status=status,
                           department=city.roads, **kwargs)


def _nearby(city, *, at=None, category=None, user=None, **kwargs):
    return list(nearby_open_reports(location=at or city.centre,
                                    category=category or city.pothole, user=user, **kwargs))


@pytest.mark.parametrize(
    ("dx", "found"),
    [(0, True), (100, True), (249, True), (250, True), (251, False), (1000, False)],
)
def test_radius_of_the_category(city, dx, found):
    # the pothole category's duplicate radius is 250 m
    report = _report(city, dx)
    assert (report in _nearby(city)) is found


def test_the_radius_is_per_category(city):
    city.streetlight.duplicate_radius_m = 50
    city.streetlight.save(update_fields=["duplicate_radius_m"])
    near = _report(city, 40, category=city.streetlight)
    _report(city, 60, category=city.streetlight)
    assert _nearby(city, category=city.streetlight) == [near]


def test_only_the_same_category_matches(city):
    pothole = _report(city, 10)
    _report(city, 5, category=city.streetlight)
    _report(city, 5, category=city.graffiti)
    assert _nearby(city) == [pothole]


def test_nearest_first_with_distances_in_metres(city):
    far = _report(city, 0, 200)
    near = _report(city, 30, 40)  # 50 m
    middle = _report(city, -120, 0)
    result = _nearby(city)
    assert result == [near, middle, far]
    assert [round(r.distance.m, 3) for r in result] == [50.0, 120.0, 200.0]


@pytest.mark.parametrize(
    ("status", "found"),
    [
        (Status.NEW, True), (Status.MODERATION, True), (Status.ASSIGNED, True),
        (Status.IN_PROGRESS, True), (Status.NEEDS_INFO, True),
        (Status.RESOLVED, False), (Status.CLOSED, False), (Status.REJECTED, False),
    ],
)
def test_only_open_reports(city, users, status, found):
    report = _report(city, 10, status=status)
    assert (report in _nearby(city, user=users["moderator"])) is found


def test_reports_awaiting_moderation_are_not_shown_to_the_public(city, users):
    report = _report(city, 10, status=Status.MODERATION)
    assert _nearby(city, user=AnonymousUser()) == []
    assert _nearby(city, user=users["roads"]) == [report]


def test_duplicates_are_not_candidates(city):
    original = _report(city, 10)
    _report(city, 20, status=Status.DUPLICATE, duplicate_of=original)
    assert _nearby(city) == [original]


def test_exclude_the_report_itself_and_limit(city):
    reports = [_report(city, 10 * i) for i in range(1, 6)]
    result = _nearby(city, at=reports[0].location, exclude_id=reports[0].pk, limit=3)
    assert result == reports[1:4]


def test_hidden_reports_only_for_those_who_may_see_them(city, users):
    hidden = _report(city, 10, is_hidden=True)
    assert _nearby(city, user=AnonymousUser()) == []
    assert _nearby(city, user=users["resident"]) == []
    assert _nearby(city, user=users["moderator"]) == [hidden]
    assert _nearby(city, user=users["roads"]) == [hidden]


# --- Hazard reports: the public never sees the exact point -------------------------------------

@pytest.fixture
def hazard(city):
    """An explosive-object report 200 m east and 200 m north of its grid cell's centre."""
    cell = generalise(city.centre)
    report = f.ReportFactory(location=f.offset(cell, 200, 200), category=city.explosive,
                             department=city.dsns, is_hazard=True, status=Status.ASSIGNED)
    return report, cell


def test_public_sees_the_cell_centre_and_its_distance(city, users, hazard):
    report, cell = hazard
    at = f.offset(cell, 100, 0)
    public = _nearby(city, at=at, category=city.explosive, user=AnonymousUser())
    assert public == [report]
    assert public[0].display_location.equals_exact(cell, 0.001)
    assert public[0].distance.m == pytest.approx(100, abs=0.01)
    # staff see the exact point and the exact distance (sqrt(100² + 200²))
    staff = _nearby(city, at=at, category=city.explosive, user=users["dsns"])
    assert staff[0].display_location.equals_exact(report.location, 0.001)
    assert staff[0].distance.m == pytest.approx(223.607, abs=0.01)


def test_public_matches_by_cell_not_by_the_exact_point(city, users, hazard):
    report, cell = hazard
    # standing on the exact spot: 283 m from the cell centre, beyond the 250 m radius
    assert _nearby(city, at=report.location, category=city.explosive,
                   user=AnonymousUser()) == []
    assert _nearby(city, at=report.location, category=city.explosive,
                   user=users["resident"]) == []
    staff = _nearby(city, at=report.location, category=city.explosive, user=users["moderator"])
    assert staff == [report] and staff[0].distance.m == pytest.approx(0, abs=0.001)


def test_generalised_location_never_reveals_the_point(city, hazard):
    report, cell = hazard
    public = _nearby(city, at=cell, category=city.explosive, user=AnonymousUser())
    assert public[0].display_location.distance(report.location) > 280
    assert not public[0].display_location.equals_exact(report.location, 1)


def test_one_report_query_and_no_query_per_row(city, users):
    for i in range(5):
        _report(city, 10 * i)
    with CaptureQueriesContext(connection) as ctx:
        result = _nearby(city, user=users["resident"])
        names = [(r.category.service_code, r.department.code) for r in result]
    assert len(names) == 5
    reports = [q["sql"] for q in ctx.captured_queries if 'FROM "reports_report"' in q["sql"]]
    per_row = [q["sql"] for q in ctx.captured_queries
               if 'FROM "reports_category"' in q["sql"] or 'FROM "layers_department"' in
               q["sql"] and "layers_membership" not in q["sql"]]
    assert len(reports) == 1
    assert per_row == []
