"""report_create: validation, routing, SLA, events, photos — all or nothing."""

import pytest
from django.core import mail

from geocity.errors import ValidationFailed
from layers.services import OutsideServiceArea
from reports.models import Photo, Report, ReportEvent
from reports.services import Contact, report_create
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db(transaction=False)


def test_report_is_routed_assigned_and_audited(city, django_capture_on_commit_callbacks):
    # given a pothole in the city centre
    with django_capture_on_commit_callbacks(execute=True):
        # when a resident reports it
        report = report_create(
            category=city.pothole, location=f.offset(city.centre, 50, 50),
            description="Deep pothole", contact=Contact(email="anna@example.org"),
        )
    # then it is assigned to roads, with a deadline and an audit trail
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED
    assert report.department == city.roads
    assert report.routing_rule == "area"
    assert "Roads citywide" in report.routing_explanation_en
    assert report.district == city.east
    assert (report.due_at - report.created).days == 15
    types = list(ReportEvent.objects.filter(report=report).values_list("type", flat=True))
    assert types == ["created", "routed"]
    assert [m.to for m in mail.outbox] == [["anna@example.org"]]


def test_outside_service_area_saves_nothing(city):
    with pytest.raises(OutsideServiceArea) as err:
        report_create(category=city.pothole, location=f.offset(city.centre, 10_500, 0),
                      description="x")
    assert 490 < err.value.extra["distance_m"] < 510
    assert Report.objects.count() == 0


def test_bad_photo_saves_nothing(city):
    bad = f.image_file("fake.jpg")
    bad.file.seek(0)
    bad.file.truncate()
    bad.file.write(b"this is not an image")
    bad.size = 20
    with pytest.raises(ValidationFailed) as err:
        report_create(category=city.pothole, location=city.centre, description="x",
                      photos=[f.image_file("good.jpg"), bad])
    assert err.value.code == "photo_wrong_type"
    assert Report.objects.count() == 0
    assert Photo.objects.count() == 0


def test_photos_processed_on_commit(city, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = report_create(category=city.pothole, location=city.centre, description="x",
                               photos=[f.image_file("a.jpg", size=(3000, 2000))])
    photo = report.photos.get()
    photo.refresh_from_db()
    assert photo.state == Photo.State.READY
    assert photo.display.width == 1600
    assert photo.thumbnail.width == 320
