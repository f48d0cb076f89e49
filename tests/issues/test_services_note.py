"""report_note_add: staff and back-office notes, idempotent per client update id."""

import pytest
from django.core import mail
from django.utils import timezone

from geocity.errors import Conflict, Forbidden, ValidationFailed
from issues.models import Subscription
from issues.services import api_key_create, report_note_add

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


def test_back_office_update_id_is_accepted_once(city):
    report = f.ReportFactory(category=city.pothole, department=city.roads)
    client, _ = api_key_create(name="Back office")
    report_note_add(report_id=report.pk, api_client=client, external_id="u-1",
                    public_note="Scheduled")
    with pytest.raises(Conflict) as err:
        report_note_add(report_id=report.pk, api_client=client, external_id="u-1",
                        public_note="Scheduled")
    assert err.value.code == "duplicate_update_id"
