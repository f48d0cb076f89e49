"""SLA maths: due dates by category, the needs_info pause, the legal extension limit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from geocity.errors import ValidationFailed
from reports import sla
from reports.models import Report
from reports.selectors import ReportFilters, filter_reports
from reports.services import report_extend_sla, report_transition
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("days", "hours", "hazard", "expected"), [
    (15, None, False, timedelta(days=15)),
    (30, None, False, timedelta(days=30)),
    (15, 6, False, timedelta(hours=6)),
    (15, None, True, timedelta(hours=sla.HAZARD_SLA_HOURS)),
])
def test_due_at_from_category(days, hours, hazard, expected):
    category = f.CategoryFactory(sla_days=days, sla_hours=hours)
    created = timezone.now()
    assert sla.initial_due_at(category, created, is_hazard=hazard) - created == expected


def test_needs_info_pauses_the_clock(city, users):
    # given a report due in 10 days
    created = timezone.now() - timedelta(days=5)
    report = f.ReportFactory(category=city.pothole, department=city.roads, created=created,
                             due_at=created + timedelta(days=15), status=Status.IN_PROGRESS)
    due_before = report.due_at
    # when the clerk asks for information and the reporter answers 3 days later
    report_transition(report_id=report.pk, actor=users["roads"], to_status=Status.NEEDS_INFO,
                      note="Which entrance?")
    Report.objects.filter(pk=report.pk).update(
        sla_paused_at=timezone.now() - timedelta(days=3))
    report_transition(report_id=report.pk, actor=users["roads"], to_status=Status.IN_PROGRESS)
    # then the deadline moved by the paused time
    report.refresh_from_db()
    shift = report.due_at - due_before
    assert timedelta(days=3) - timedelta(seconds=5) < shift < timedelta(days=3, seconds=5)
    assert abs(report.sla_paused_seconds - 3 * 86400) < 5
    assert report.sla_paused_at is None


def test_paused_report_is_never_overdue(city):
    now = timezone.now()
    paused = f.ReportFactory(category=city.pothole, department=city.roads,
                             status=Status.NEEDS_INFO, due_at=now - timedelta(days=1))
    running = f.ReportFactory(category=city.pothole, department=city.roads,
                              status=Status.IN_PROGRESS, due_at=now - timedelta(days=1))
    done = f.ReportFactory(category=city.pothole, department=city.roads,
                           status=Status.RESOLVED, due_at=now - timedelta(days=1))
    soon = f.ReportFactory(category=city.pothole, department=city.roads,
                           status=Status.ASSIGNED, due_at=now + timedelta(hours=5))
    assert not sla.is_overdue(paused, now)
    assert sla.is_overdue(running, now)
    assert not sla.is_overdue(done, now)
    assert sla.is_due_soon(soon, now) and not sla.is_due_soon(running, now)
    overdue_ids = set(filter_reports(Report.objects.all(), ReportFilters(overdue=True),
                                     user=None).values_list("pk", flat=True))
    assert overdue_ids == {running.pk}
    soon_ids = set(filter_reports(Report.objects.all(), ReportFilters(due_soon=True),
                                  user=None).values_list("pk", flat=True))
    assert soon_ids == {soon.pk}


def test_extension_is_logged_and_limited_to_45_days(city, users):
    created = timezone.now() - timedelta(days=2)
    report = f.ReportFactory(category=city.pothole, department=city.roads, created=created,
                             due_at=created + timedelta(days=15))
    report_extend_sla(report_id=report.pk, actor=users["roads"], days=15,
                      reason="Needs an engineering survey")
    report.refresh_from_db()
    assert report.due_at == created + timedelta(days=30)
    assert report.sla_extended
    event = report.events.get(type="sla_extended")
    assert event.public_note == "Needs an engineering survey"
    # 30 + 16 > 45: refused
    with pytest.raises(ValidationFailed) as err:
        report_extend_sla(report_id=report.pk, actor=users["roads"], days=16, reason="more")
    assert err.value.code == "sla_limit"
    report_extend_sla(report_id=report.pk, actor=users["roads"], days=15, reason="more")
    report.refresh_from_db()
    assert report.due_at == created + timedelta(days=45)


def test_extension_needs_a_reason(city, users):
    report = f.ReportFactory(category=city.pothole, department=city.roads)
    with pytest.raises(ValidationFailed) as err:
        report_extend_sla(report_id=report.pk, actor=users["roads"], days=5, reason=" ")
    assert err.value.code == "reason_required"
