"""report_transition: every (from, to) pair for every role, guards, timestamps, events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from geocity.errors import Conflict, Forbidden, ValidationFailed
from reports.models import ReportEvent
from reports.services import report_transition
from reports.workflow import TRANSITIONS, Role, Status

from .. import factories as f

pytestmark = pytest.mark.django_db

ACTORS = ["anonymous", "reporter", "staff", "other_staff", "moderator", "official", "admin",
          "system"]
# Which workflow roles each actor holds on the report under test.
ACTOR_ROLES = {
    "anonymous": set(),
    "reporter": {Role.REPORTER},
    "staff": {Role.STAFF},
    "other_staff": set(),
    "moderator": {Role.MODERATOR},
    "official": {Role.OFFICIAL},
    "admin": {Role.ADMIN, Role.MODERATOR},
    "system": {Role.SYSTEM},
}
ALL_PAIRS = [(a, b) for a in Status for b in Status if a != b]


def _actor(name, users):
    return {
        "anonymous": None, "reporter": users["resident"], "staff": users["roads"],
        "other_staff": users["lighting"], "moderator": users["moderator"],
        "official": users["official"], "admin": users["admin"], "system": None,
    }[name]


def _report_in(status, city, users, **extra):
    fields = dict(category=city.pothole, department=city.roads, reporter=users["resident"],
                  status=status, location=f.offset(city.centre, 100, 100))
    if status == Status.DUPLICATE:
        fields["duplicate_of"] = f.ReportFactory(category=city.pothole, department=city.roads)
    if status in (Status.RESOLVED, Status.CLOSED):
        fields["resolved_at"] = timezone.now() - timedelta(hours=1)
    if status == Status.NEEDS_INFO:
        fields["sla_paused_at"] = timezone.now() - timedelta(hours=2)
    fields.update(extra)
    return f.ReportFactory(**fields)


@pytest.mark.parametrize(("from_status", "to_status"), ALL_PAIRS,
                         ids=[f"{a.value}->{b.value}" for a, b in ALL_PAIRS])
def test_transition_matrix(from_status, to_status, city, users):
    """Each actor in turn asks for `to_status` on a fresh report in `from_status`."""
    transition = TRANSITIONS.get((from_status, to_status))
    target = f.ReportFactory(category=city.pothole, department=city.roads)
    for actor in ACTORS:
        # given a report of the roads department in `from_status`
        report = _report_in(from_status, city, users)
        allowed = transition is not None and bool(transition.roles & ACTOR_ROLES[actor])
        # when the actor asks for `to_status` with every required field
        kwargs = dict(report_id=report.pk, actor=_actor(actor, users), to_status=to_status,
                      note="note", reason="reason", duplicate_of_id=target.pk,
                      system=actor == "system")
        if transition is None:
            with pytest.raises(Conflict) as err:
                report_transition(**kwargs)
            assert err.value.code == "invalid_transition", actor
        elif not allowed:
            with pytest.raises(Forbidden):
                report_transition(**kwargs)
        else:
            report_transition(**kwargs)
        # then the status changed exactly when the table allows it, with one event
        report.refresh_from_db()
        assert report.status == (to_status if allowed else from_status), actor
        events = ReportEvent.objects.filter(report=report, type="status")
        assert events.count() == (1 if allowed else 0), actor


@pytest.mark.parametrize(("from_status", "to_status"), sorted(TRANSITIONS, key=str))
def test_officials_never_change_anything(from_status, to_status, city, users):
    report = _report_in(from_status, city, users)
    with pytest.raises(Forbidden):
        report_transition(report_id=report.pk, actor=users["official"], to_status=to_status,
                          note="n", reason="r", duplicate_of_id=report.pk)


def test_reporter_powers_are_narrow():
    """Hand-written expectation, independent of the table: what a reporter may do."""
    reporter_moves = {pair for pair, t in TRANSITIONS.items() if Role.REPORTER in t.roles}
    assert reporter_moves == {
        (Status.NEEDS_INFO, Status.ASSIGNED),
        (Status.RESOLVED, Status.CLOSED),
        (Status.RESOLVED, Status.ASSIGNED),
        (Status.CLOSED, Status.ASSIGNED),
    }


@pytest.mark.parametrize(("to_status", "missing", "code"), [
    (Status.REJECTED, "reason", "reason_required"),
    (Status.DUPLICATE, "duplicate_of_id", "duplicate_of_required"),
    (Status.NEEDS_INFO, "note", "note_required"),
])
def test_required_fields(to_status, missing, code, city, users):
    report = _report_in(Status.ASSIGNED, city, users)
    kwargs = dict(note="n", reason="r", duplicate_of_id=f.ReportFactory().pk)
    kwargs[missing] = "" if missing != "duplicate_of_id" else None
    with pytest.raises(ValidationFailed) as err:
        report_transition(report_id=report.pk, actor=users["roads"], to_status=to_status,
                          **kwargs)
    assert err.value.code == code
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED


def test_reopen_window_closes_for_the_reporter(city, users, settings):
    settings.REOPEN_DAYS = 14
    report = _report_in(Status.RESOLVED, city, users,
                        resolved_at=timezone.now() - timedelta(days=15))
    with pytest.raises(Conflict) as err:
        report_transition(report_id=report.pk, actor=users["resident"],
                          to_status=Status.ASSIGNED, reason="still broken")
    assert err.value.code == "reopen_window_closed"
    # a moderator may still reopen it
    report_transition(report_id=report.pk, actor=users["moderator"], to_status=Status.ASSIGNED,
                      reason="checked on site")
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED
    assert report.reopen_count == 1
    assert report.resolved_at is None


def test_timestamps_follow_the_life_cycle(city, users):
    report = _report_in(Status.ASSIGNED, city, users)
    report_transition(report_id=report.pk, actor=users["roads"], to_status=Status.IN_PROGRESS)
    report_transition(report_id=report.pk, actor=users["roads"], to_status=Status.RESOLVED,
                      note="Patched")
    report.refresh_from_db()
    assert report.resolved_at is not None and report.closed_at is None
    assert report.touched_at is not None
    report_transition(report_id=report.pk, actor=users["resident"], to_status=Status.CLOSED)
    report.refresh_from_db()
    assert report.closed_at >= report.resolved_at
    public = ReportEvent.objects.filter(report=report, type="status").values_list(
        "to_status", "public_note", "actor_role")
    assert list(public) == [("in_progress", "", "staff"), ("resolved", "Patched", "staff"),
                            ("closed", "", "reporter")]


def test_duplicate_of_itself_is_refused(city, users):
    report = _report_in(Status.ASSIGNED, city, users)
    with pytest.raises(ValidationFailed) as err:
        report_transition(report_id=report.pk, actor=users["roads"], to_status=Status.DUPLICATE,
                          duplicate_of_id=report.pk)
    assert err.value.code == "duplicate_of_invalid"


def test_duplicate_points_at_the_root_of_a_chain(city, users):
    root = _report_in(Status.ASSIGNED, city, users)
    middle = _report_in(Status.DUPLICATE, city, users, duplicate_of=root)
    report = _report_in(Status.ASSIGNED, city, users)
    report_transition(report_id=report.pk, actor=users["roads"], to_status=Status.DUPLICATE,
                      duplicate_of_id=middle.pk)
    report.refresh_from_db()
    assert report.duplicate_of_id == root.pk


def test_unknown_status_is_a_validation_error(city, users):
    report = _report_in(Status.ASSIGNED, city, users)
    with pytest.raises(ValidationFailed) as err:
        report_transition(report_id=report.pk, actor=users["roads"], to_status="done")
    assert err.value.code == "invalid_status"
