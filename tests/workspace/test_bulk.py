"""Bulk actions: each ticket on its own through the services; the page lists what failed."""

from __future__ import annotations

import pytest

from reports.models import ReportEvent
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db


def make(city, dept="roads", **kw):
    department = getattr(city, dept)
    category = {"roads": city.pothole, "lighting": city.streetlight}[dept]
    return f.ReportFactory(department=department, category=category, **kw)


def bulk(client, **data):
    data.setdefault("next", "/workspace/?status=assigned")
    response = client.post("/workspace/bulk/", data, follow=True)
    assert response.status_code == 200
    return response.context["bulk_result"], response


def failed(result) -> dict[int, str]:
    return {item["number"]: item["code"] for item in result["failed"]}


def test_assign_to_a_colleague_with_a_partial_failure(client, users, city):
    # given two roads tickets and one lighting ticket selected by a roads clerk
    a, b = make(city), make(city)
    other = make(city, "lighting")
    client.force_login(users["roads"])
    # when they assign all three to their head of department
    result, response = bulk(client, ids=[a.pk, other.pk, b.pk], action="assign",
                            assignee=str(users["roads_head"].pk))
    # then the two roads tickets are assigned, and the lighting one is reported as failed
    assert result["done"] == [a.pk, b.pk]
    assert failed(result) == {other.pk: "not_in_scope"}
    a.refresh_from_db()
    other.refresh_from_db()
    assert a.assignee == users["roads_head"] and other.assignee is None
    html = response.content.decode()
    assert f'data-failed="{other.pk}"' in html
    # and the page returned to the same filters
    assert response.redirect_chain[-1][0] == "/workspace/?status=assigned"


def test_assign_to_someone_outside_the_department_fails_per_ticket(client, users, city):
    a = make(city)
    client.force_login(users["roads"])
    result, _ = bulk(client, ids=[a.pk], action="assign", assignee=str(users["lighting"].pk))
    assert failed(result) == {a.pk: "assignee_invalid"}


def test_take_tickets_for_myself(client, users, city):
    a, b = make(city), make(city)
    client.force_login(users["roads"])
    result, _ = bulk(client, ids=[a.pk, b.pk], action="assign", assignee="me")
    assert result["done"] == [a.pk, b.pk]
    assert ReportEvent.objects.filter(type="accepted", report__in=[a, b]).count() == 2


def test_status_change_where_allowed_and_failures_where_not(client, users, city):
    # given an assigned ticket, an already resolved one and one in progress
    assigned = make(city)
    resolved = make(city, status=Status.RESOLVED)
    progress = make(city, status=Status.IN_PROGRESS)
    client.force_login(users["roads"])
    # when the clerk starts work on all three
    result, _ = bulk(client, ids=[assigned.pk, resolved.pk, progress.pk], action="status",
                     to_status="in_progress")
    # then only the assigned one moves; the others fail with the workflow's reason
    assert result["done"] == [assigned.pk]
    assert failed(result) == {resolved.pk: "invalid_transition",
                              progress.pk: "invalid_transition"}
    assigned.refresh_from_db()
    resolved.refresh_from_db()
    assert assigned.status == Status.IN_PROGRESS
    assert resolved.status == Status.RESOLVED


def test_each_ticket_is_atomic_on_its_own(client, users, city):
    """A failing ticket in the middle does not roll back the ones before or after it."""
    first, middle, last = make(city), make(city, status=Status.CLOSED), make(city)
    client.force_login(users["roads"])
    result, _ = bulk(client, ids=[first.pk, middle.pk, last.pk], action="status",
                     to_status="rejected", note="Не належить до компетенції")
    assert result["done"] == [first.pk, last.pk]
    assert list(failed(result)) == [middle.pk]
    for report in (first, last):
        report.refresh_from_db()
        assert report.status == Status.REJECTED
        event = report.events.get(type="status")
        assert event.public_note == "Не належить до компетенції"


@pytest.mark.parametrize(("to_status", "extra", "code"), [
    ("rejected", {}, "reason_required"),
    ("needs_info", {}, "note_required"),
    ("resolved", {}, "note_required"),  # the pages ask for a public answer
    ("duplicate", {}, "duplicate_of_required"),
    ("closed", {}, "transition_forbidden"),  # staff may not close: reporter or moderator
])
def test_required_fields_and_roles_per_ticket(client, users, city, to_status, extra, code):
    a, b = make(city), make(city)
    client.force_login(users["roads"])
    if to_status == "closed":
        for r in (a, b):
            r.status = Status.RESOLVED
            r.save(update_fields=["status"])
    result, _ = bulk(client, ids=[a.pk, b.pk], action="status", to_status=to_status, **extra)
    assert result["done"] == []
    assert failed(result) == {a.pk: code, b.pk: code}


def test_bulk_duplicate_of_one_original(client, users, city):
    original, d1, d2 = make(city), make(city), make(city)
    client.force_login(users["roads"])
    result, _ = bulk(client, ids=[d1.pk, d2.pk, original.pk], action="status",
                     to_status="duplicate", duplicate_of=str(original.pk))
    assert result["done"] == [d1.pk, d2.pk]
    assert failed(result) == {original.pk: "duplicate_of_invalid"}  # not itself
    d1.refresh_from_db()
    assert d1.duplicate_of == original


def test_nothing_selected_is_a_message_not_an_error(client, users, city):
    client.force_login(users["roads"])
    response = client.post("/workspace/bulk/", {"action": "assign", "assignee": "me"},
                           follow=True)
    assert response.status_code == 200
    assert response.context["bulk_result"] is None
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


def test_next_cannot_leave_the_workspace(client, users, city):
    a = make(city)
    client.force_login(users["roads"])
    response = client.post("/workspace/bulk/", {"ids": [a.pk], "action": "assign",
                                                "assignee": "me",
                                                "next": "https://evil.example.org/"})
    assert response["Location"] == "/workspace/"


def test_bulk_query_count_grows_only_with_the_selection(client, users, city,
                                                        django_assert_max_num_queries):
    """Per ticket the service locks, updates and writes one event: bounded per ticket."""
    tickets = [make(city) for _ in range(5)]
    client.force_login(users["roads"])
    with django_assert_max_num_queries(12 + 5 * 8):
        client.post("/workspace/bulk/", {"ids": [t.pk for t in tickets], "action": "assign",
                                         "assignee": "me"})
