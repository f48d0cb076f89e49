"""reports_reroute and `manage.py reroute`: untouched open reports follow the layers."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from reports.jobs import reroute_open_reports
from reports.models import Report, ReportEvent
from reports.services import reports_reroute
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db


def _report(city, *, dx=0, dy=0, category=None, department="roads", status=Status.ASSIGNED,
            touched=False, rule="area"):
    return f.ReportFactory(
        location=f.offset(city.centre, dx, dy), category=category or city.pothole,
        department=getattr(city, department) if department else None, status=status,
        routing_rule=rule, touched_at=timezone.now() if touched else None,
    )


@pytest.fixture
def takeover(city):
    """A new contractor takes over potholes within 1 km of the centre (higher priority)."""
    return f.ResponsibilityAreaFactory(
        department=f.DepartmentFactory(code="contractor", name_en="Contractor"),
        name="Centre contract", geometry=f.around_centre(1000), categories=[city.pothole],
        priority=5)


def test_untouched_open_reports_move_and_each_change_is_logged(city, takeover):
    # given untouched open potholes inside and outside the new contract area
    moved = [_report(city, dx=100), _report(city, dx=-200, status=Status.NEW)]
    stays = _report(city, dx=5000)
    # when the reports are re-routed
    result = reports_reroute()
    # then the two inside move to the contractor, with one event each
    assert result.changed == 2
    contractor = takeover.department
    assert result.moves == [(city.roads.pk, contractor.pk, 2)]
    for report in moved:
        report.refresh_from_db()
        assert report.department == contractor
        assert report.routing_rule == "area"
        assert report.status == Status.ASSIGNED
        assert report.assigned_at is not None
        event = ReportEvent.objects.get(report=report)
        assert event.type == ReportEvent.Type.REROUTED
        assert (event.from_department, event.to_department) == (city.roads, contractor)
        assert event.data["rule"] == "area"
    stays.refresh_from_db()
    assert stays.department == city.roads
    assert not ReportEvent.objects.filter(report=stays).exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"touched": True},  # a person has acted on it
        {"status": Status.IN_PROGRESS},  # the department works on it
        {"status": Status.RESOLVED},
        {"status": Status.CLOSED},
        {"status": Status.REJECTED},
        {"rule": "manual"},  # reassigned by staff
    ],
)
def test_touched_closed_and_manual_reports_stay(city, takeover, kwargs):
    report = _report(city, dx=100, **kwargs)
    result = reports_reroute()
    report.refresh_from_db()
    assert result.changed == 0
    assert report.department == city.roads
    assert not ReportEvent.objects.filter(report=report).exists()


def test_a_triaged_report_is_assigned_when_an_area_appears(city):
    report = _report(city, category=city.graffiti, department=None, status=Status.NEW,
                     rule="triage")
    cleaners = f.ResponsibilityAreaFactory(department=f.DepartmentFactory(code="cleaning"),
                                           geometry=f.around_centre(2000),
                                           categories=[city.graffiti])
    reports_reroute()
    report.refresh_from_db()
    assert report.department == cleaners.department
    assert report.status == Status.ASSIGNED
    event = report.events.get()
    assert (event.from_status, event.to_status) == (Status.NEW, Status.ASSIGNED)


def test_a_report_whose_area_is_gone_returns_to_triage(city):
    report = _report(city, dx=-500, category=city.fallen_tree, department="parks")
    city.areas["parks-west"].delete()
    result = reports_reroute()
    report.refresh_from_db()
    assert result.moves == [(city.parks.pk, None, 1)]
    assert report.department is None
    assert report.status == Status.NEW
    assert report.routing_rule == "triage"
    event = report.events.get()
    assert (event.from_status, event.to_status) == (Status.ASSIGNED, Status.NEW)


def test_a_report_in_a_new_hazard_zone_goes_to_the_emergency_service(city):
    report = _report(city, dx=100)
    f.HazardZoneFactory(geometry=f.around_centre(300))
    reports_reroute()
    report.refresh_from_db()
    assert report.department == city.dsns
    assert report.is_hazard is True
    assert report.priority == Report.Priority.URGENT
    assert report.routing_rule == "hazard_zone"


def test_nothing_changes_when_the_layers_agree(city):
    _report(city, dx=100)
    assert reports_reroute().changed == 0
    assert not ReportEvent.objects.exists()


def test_dry_run_reports_the_moves_and_changes_nothing(city, takeover):
    report = _report(city, dx=100)
    before = Report.objects.values().get(pk=report.pk)
    result = reports_reroute(dry_run=True)
    assert (result.changed, result.dry_run) == (1, True)
    assert result.moves == [(city.roads.pk, takeover.department.pk, 1)]
    assert Report.objects.values().get(pk=report.pk) == before
    assert not ReportEvent.objects.exists()


def test_reroute_command_prints_the_moves(city, takeover):
    _report(city, dx=100)
    _report(city, dx=200)
    out = StringIO()
    call_command("reroute", "--dry-run", stdout=out)
    assert "2 open reports would move." in out.getvalue()
    assert "roads -> contractor: 2" in out.getvalue()
    assert "Dry run" in out.getvalue()
    assert Report.objects.filter(department=city.roads).count() == 2

    out = StringIO()
    call_command("reroute", stdout=out)
    assert "2 open reports moved." in out.getvalue()
    assert Report.objects.filter(department__code="contractor").count() == 2


def test_reroute_command_names_triage(city):
    _report(city, dx=-500, category=city.fallen_tree, department="parks")
    city.areas["parks-west"].delete()
    out = StringIO()
    call_command("reroute", stdout=out)
    assert "parks -> (triage): 1" in out.getvalue()


def test_the_celery_task_reroutes(city, takeover, django_capture_on_commit_callbacks):
    _report(city, dx=100)
    with django_capture_on_commit_callbacks(execute=True):
        result = reroute_open_reports.delay().get()
    assert result["changed"] == 1
    assert Report.objects.get().department == takeover.department
