"""report_note_add: staff and back-office notes, idempotent per client update id."""

import pytest
from django.core import mail
from django.utils import timezone

from geocity.errors import Forbidden, ValidationFailed
from reports.models import Subscription
from reports.services import report_note_add

from .. import factories as f

pytestmark = pytest.mark.django_db


def test_public_note_is_announced(city, users, django_capture_on_commit_callbacks):
    report = f.ReportFactory(category=city.pothole, department=city.roads)
    Subscription.objects.create(report=report, email="fan@example.org",
                                confirmed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        event = report_note_add(report_id=report.pk, actor=users["roads"],
                                public_note="Crew booked for Monday")
    assert event.type == "note" and event.data["public"] is True
    assert [m.to for m in mail.outbox] == [["fan@example.org"]]


def test_internal_note_is_silent_and_needs_staff(city, users, django_capture_on_commit_callbacks):
    report = f.ReportFactory(category=city.pothole, department=city.roads)
    with django_capture_on_commit_callbacks(execute=True):
        report_note_add(report_id=report.pk, actor=users["roads"], internal_note="call back")
    assert mail.outbox == []
    with pytest.raises(Forbidden):
        report_note_add(report_id=report.pk, actor=users["lighting"], internal_note="x")
    with pytest.raises(ValidationFailed):
        report_note_add(report_id=report.pk, actor=users["roads"], public_note=" ")
