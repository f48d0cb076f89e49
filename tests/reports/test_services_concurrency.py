"""Two clerks move the same report at once, over two database connections."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from geocity.errors import Conflict
from reports.models import ReportEvent
from reports.services import report_transition
from reports.workflow import Status

from .. import factories as f


def _waiting_on_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_second_clerk_waits_for_the_lock_then_gets_the_domain_error(city, users):
    # given an assigned roads report and two roads clerks
    report = f.ReportFactory(category=city.pothole, department=city.roads,
                             status=Status.ASSIGNED)
    second = f.UserFactory(username="second.clerk")
    f.MembershipFactory(user=second, department=city.roads)
    first_holds_lock = threading.Event()
    release_first = threading.Event()
    outcome: dict[str, object] = {}

    def first_clerk():
        try:
            with transaction.atomic():
                report_transition(report_id=report.pk, actor=users["roads"],
                                  to_status=Status.IN_PROGRESS)
                first_holds_lock.set()
                release_first.wait(10)
            outcome["first"] = "ok"
        finally:
            connections.close_all()

    def second_clerk():
        try:
            report_transition(report_id=report.pk, actor=second, to_status=Status.IN_PROGRESS)
            outcome["second"] = "ok"
        except Conflict as exc:
            outcome["second"] = exc.code
        finally:
            connections.close_all()

    # when both start work on it at the same time
    a = threading.Thread(target=first_clerk)
    a.start()
    assert first_holds_lock.wait(10)
    b = threading.Thread(target=second_clerk)
    b.start()
    deadline = time.monotonic() + 10
    while not _waiting_on_lock() and time.monotonic() < deadline:
        time.sleep(0.05)
    # (the second transaction is really blocked on the row lock)
    assert _waiting_on_lock()
    release_first.set()
    a.join(10)
    b.join(10)

    # then one wins, the other gets the domain error, and the trail has one change
    assert outcome == {"first": "ok", "second": "invalid_transition"}
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS
    events = ReportEvent.objects.filter(report=report, type="status")
    assert [(e.from_status, e.to_status, e.actor_id) for e in events] == [
        ("assigned", "in_progress", users["roads"].pk)
    ]
