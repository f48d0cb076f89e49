"""The workspace's e-mail: the new-assignment digest and the overdue escalation (reports.tasks),
checked in mail.outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from layers.models import Department
from reports.models import ReportEvent
from reports.workflow import Status
from workspace.jobs import escalate_overdue_reports, send_assignment_digests

from .. import factories as f

pytestmark = pytest.mark.django_db


def test_assignment_digest_goes_to_each_departments_staff(city, users):
    now = timezone.now()
    Department.objects.update(last_digest_at=now - timedelta(hours=2))
    fresh = [f.ReportFactory(department=city.roads, category=city.pothole,
                             assigned_at=now - timedelta(minutes=30)) for _ in range(2)]
    f.ReportFactory(department=city.roads, category=city.pothole,
                    assigned_at=now - timedelta(hours=5))  # already in an earlier digest
    f.ReportFactory(department=city.lighting, category=city.streetlight,
                    assigned_at=now - timedelta(minutes=10))
    # when the hourly task runs
    sent = send_assignment_digests()
    # then roads staff get one mail with the two new tickets, lighting staff one with theirs
    assert sent == 2
    by_to = {tuple(m.to): m for m in mail.outbox}
    roads = by_to[("head.roads@example.org", "staff.roads@example.org")]
    for report in fresh:
        assert f"/workspace/reports/{report.pk}/" in roads.body
    assert roads.body.count("/workspace/reports/") == 2
    assert ("staff.lighting@example.org",) in by_to
    # and a second run right after sends nothing new
    mail.outbox.clear()
    assert send_assignment_digests() == 0
    assert mail.outbox == []


def test_overdue_escalation_reaches_the_head_once(city, users,
                                                  django_capture_on_commit_callbacks):
    now = timezone.now()
    overdue = f.ReportFactory(department=city.roads, category=city.pothole,
                              due_at=now - timedelta(days=1))
    f.ReportFactory(department=city.roads, category=city.pothole, status=Status.NEEDS_INFO,
                    due_at=now - timedelta(days=1))  # paused: not overdue
    f.ReportFactory(department=city.roads, category=city.pothole,
                    due_at=now + timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_overdue_reports() == 1
    (message,) = mail.outbox
    # the department's head (membership) and its head e-mail get it
    assert set(message.to) == {"head.roads@city.example.org", "head.roads@example.org"}
    assert f"/workspace/reports/{overdue.pk}/" in message.body
    overdue.refresh_from_db()
    assert overdue.escalated_at is not None
    assert ReportEvent.objects.filter(report=overdue, type="escalated").count() == 1
    # once: the next run does not repeat it
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_overdue_reports() == 0
    assert mail.outbox == []


def test_escalation_shows_on_the_ticket_timeline(client, city, users,
                                                 django_capture_on_commit_callbacks):
    overdue = f.ReportFactory(department=city.roads, category=city.pothole,
                              due_at=timezone.now() - timedelta(hours=3))
    with django_capture_on_commit_callbacks(execute=True):
        escalate_overdue_reports()
    client.force_login(users["roads"])
    html = client.get(f"/workspace/reports/{overdue.pk}/").content.decode()
    assert "tl-escalated" in html
