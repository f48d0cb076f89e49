"""E-mail: status changes to subscribers in their language, opt-out, merges, escalation."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from reports.models import Report, ReportEvent, Subscription
from reports.services import (
    Contact,
    report_create,
    report_support,
    report_transition,
    reports_auto_close,
    subscription_cancel,
)
from reports.workflow import Status
from workspace.jobs import escalate_overdue_reports, send_assignment_digests

from .. import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(city, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = report_create(category=city.pothole, location=city.centre,
                               description="Hole", lang="en",
                               contact=Contact(email="Reporter@Example.org"))
    mail.outbox.clear()
    return report


def test_public_status_change_mails_the_reporter_in_their_language(
        reported, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report_transition(report_id=reported.pk, actor=users["roads"],
                          to_status=Status.RESOLVED, note="Patched today")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reporter@example.org"]
    assert f"#{reported.pk}" in message.subject
    assert "Resolved" in message.subject  # English: the report's language
    assert "Patched today" in message.body
    token = Subscription.objects.get(report=reported).token
    assert f"/unsubscribe/{token}/" in message.body


def test_internal_changes_send_nothing(reported, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report_transition(report_id=reported.pk, actor=users["moderator"],
                          to_status=Status.NEW)  # back to triage: internal
    assert mail.outbox == []


def test_opt_out_stops_the_mail(reported, users, django_capture_on_commit_callbacks):
    subscription_cancel(token=Subscription.objects.get(report=reported).token)
    with django_capture_on_commit_callbacks(execute=True):
        report_transition(report_id=reported.pk, actor=users["roads"],
                          to_status=Status.IN_PROGRESS)
    assert mail.outbox == []


def test_new_report_is_acknowledged_and_hazard_alerts_the_emergency_service(
        city, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = report_create(category=city.explosive, location=city.centre,
                               description="Shell in the grass",
                               contact=Contact(email="finder@example.org"))
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["dsns@city.example.org", "finder@example.org"]
    ack = next(m for m in mail.outbox if m.to == ["finder@example.org"])
    assert str(report.pk) in ack.subject and "101" in ack.body


def test_supporter_counted_once_and_subscribed(reported, users):
    report, created = report_support(report_id=reported.pk, user=users["other_resident"])
    assert created and report.supporters_count == 1
    report, created = report_support(report_id=reported.pk, user=users["other_resident"])
    assert not created and report.supporters_count == 1
    report, created = report_support(report_id=reported.pk, email="Visitor@example.org")
    report, again = report_support(report_id=reported.pk, email="visitor@example.org")
    assert created and not again and report.supporters_count == 2
    assert Subscription.objects.filter(report=reported, email="visitor@example.org").exists()


def test_merge_moves_supporters_and_tells_the_merged_reporter(
        city, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        original = report_create(category=city.pothole, location=city.centre, description="A",
                                 contact=Contact(email="first@example.org"))
        duplicate = report_create(category=city.pothole, location=f.offset(city.centre, 20),
                                  description="B", contact=Contact(email="second@example.org"))
    report_support(report_id=original.pk, email="shared@example.org")
    report_support(report_id=duplicate.pk, email="shared@example.org")
    report_support(report_id=duplicate.pk, email="only.dup@example.org")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        report_transition(report_id=duplicate.pk, actor=users["roads"],
                          to_status=Status.DUPLICATE, duplicate_of_id=original.pk)
    original.refresh_from_db()
    emails = set(original.supporters.values_list("email", flat=True))
    assert emails == {"shared@example.org", "only.dup@example.org", "second@example.org"}
    assert original.supporters_count == 3
    assert ReportEvent.objects.filter(report=original, type="merged").exists()
    merged_mail = [m for m in mail.outbox if f"{original.pk}" in m.subject
                   and "second@example.org" in m.to]
    assert merged_mail, [m.subject for m in mail.outbox]


def test_overdue_reports_escalate_once_to_the_head(city, users,
                                                   django_capture_on_commit_callbacks):
    now = timezone.now()
    late = f.ReportFactory(category=city.pothole, department=city.roads,
                           status=Status.IN_PROGRESS, due_at=now - timedelta(days=2))
    f.ReportFactory(category=city.pothole, department=city.roads, status=Status.IN_PROGRESS,
                    due_at=now + timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_overdue_reports() == 1
    head_mail = [m for m in mail.outbox if "head.roads@city.example.org" in m.to]
    assert len(head_mail) == 1 and f"#{late.pk}" in head_mail[0].body
    assert "head.roads@example.org" in head_mail[0].to  # the head's own account too
    assert ReportEvent.objects.filter(report=late, type="escalated").count() == 1
    assert escalate_overdue_reports() == 0  # not twice


def test_resolved_reports_close_after_the_window(city, settings):
    settings.AUTO_CLOSE_DAYS = 14
    old = f.ReportFactory(category=city.pothole, department=city.roads, status=Status.RESOLVED,
                          resolved_at=timezone.now() - timedelta(days=15))
    fresh = f.ReportFactory(category=city.pothole, department=city.roads,
                            status=Status.RESOLVED, resolved_at=timezone.now())
    assert reports_auto_close() == 1
    assert Report.objects.get(pk=old.pk).status == Status.CLOSED
    assert Report.objects.get(pk=fresh.pk).status == Status.RESOLVED
    assert ReportEvent.objects.get(report=old, type="status").actor_role == "system"


def test_assignment_digest_goes_to_department_staff(city, users):
    f.ReportFactory(category=city.pothole, department=city.roads,
                    assigned_at=timezone.now() - timedelta(minutes=5))
    send_assignment_digests()
    roads_mail = [m for m in mail.outbox if "staff.roads@example.org" in m.to]
    assert len(roads_mail) == 1
    mail.outbox.clear()
    send_assignment_digests()  # nothing new since the last digest
    assert not [m for m in mail.outbox if "staff.roads@example.org" in m.to]


def test_visitor_subscription_needs_confirmation(reported, django_capture_on_commit_callbacks,
                                                 users):
    from reports.services import subscription_confirm, subscription_create

    # given a visitor who asks for updates by e-mail
    with django_capture_on_commit_callbacks(execute=True):
        sub = subscription_create(report_id=reported.pk, email="Visitor@Example.org")
    # then only a confirmation mail is sent, with the link
    assert [m.to for m in mail.outbox] == [["visitor@example.org"]]
    assert f"/subscriptions/confirm/{sub.token}/" in mail.outbox[0].body
    mail.outbox.clear()
    # and status changes reach nobody unconfirmed
    with django_capture_on_commit_callbacks(execute=True):
        report_transition(report_id=reported.pk, actor=users["roads"],
                          to_status=Status.IN_PROGRESS)
    assert "visitor@example.org" not in [m.to[0] for m in mail.outbox]
    # when the link is followed, the next change reaches them
    subscription_confirm(token=sub.token)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        report_transition(report_id=reported.pk, actor=users["roads"],
                          to_status=Status.RESOLVED, note="done")
    assert ["visitor@example.org"] in [m.to for m in mail.outbox]


def test_officials_cannot_support_or_subscribe(reported, users):
    from geocity.errors import Forbidden
    from reports.services import subscription_create

    with pytest.raises(Forbidden):
        report_support(report_id=reported.pk, user=users["official"])
    with pytest.raises(Forbidden):
        subscription_create(report_id=reported.pk, email="o@example.org",
                            user=users["official"])
