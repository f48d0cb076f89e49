"""The workspace queue: access, scope (a clerk sees only their departments), ordering,
filters, counts, pagination, CSV export and query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db

NOW = timezone.now


def make(city, dept="roads", **kw):
    department = getattr(city, dept) if dept else None
    category = {"roads": city.pothole, "lighting": city.streetlight}.get(dept, city.graffiti)
    return f.ReportFactory(department=department, category=kw.pop("category", category),
                           district=kw.pop("district", city.east), **kw)


def numbers(response) -> list[int]:
    return [r.pk for r in response.context["page"].object_list]


# --- Access -------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/workspace/", "/workspace/export.csv", "/workspace/reports/1/"])
@pytest.mark.parametrize(("who", "expected"), [
    ("resident", 403), ("official", 403), ("roads", 200), ("moderator", 200), ("admin", 200),
])
def test_access(client, users, city, url, who, expected):
    f.ReportFactory(pk=1, department=city.roads, category=city.pothole)
    client.force_login(users[who])
    response = client.get(url)
    assert response.status_code == expected
    if expected == 403:
        assert 'class="forbidden"' in response.content.decode()


def test_bulk_is_forbidden_for_residents(client, users, city):
    report = make(city)
    client.force_login(users["resident"])
    response = client.post("/workspace/bulk/", {"ids": [report.pk], "action": "assign",
                                                "assignee": "none"})
    assert response.status_code == 403


def test_anonymous_goes_to_login(client):
    response = client.get("/workspace/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- Scope --------------------------------------------------------------------------------

def test_roads_clerk_sees_only_roads_tickets(client, users, city):
    # given tickets of roads, lighting and none (triage)
    roads = [make(city) for _ in range(3)]
    lighting = make(city, "lighting", description="ліхтар не світить")
    triage = make(city, None, status=Status.NEW)
    client.force_login(users["roads"])
    # when the roads clerk opens the queue
    response = client.get("/workspace/")
    # then only roads tickets are listed
    assert sorted(numbers(response)) == sorted(r.pk for r in roads)
    # and the lighting ticket is invisible even by number or text search
    assert numbers(client.get(f"/workspace/?q={lighting.pk}")) == []
    assert numbers(client.get("/workspace/?q=ліхтар")) == []
    # and its page, its export rows and the triage ticket are out of reach
    assert client.get(f"/workspace/reports/{lighting.pk}/").status_code == 404
    assert client.get(f"/workspace/reports/{triage.pk}/").status_code == 404
    body = b"".join(client.get("/workspace/export.csv").streaming_content).decode("utf-8-sig")
    exported = {int(r["number"]) for r in csv.DictReader(io.StringIO(body))}
    assert exported == {r.pk for r in roads}


def test_roads_clerk_cannot_act_on_a_lighting_ticket(client, users, city):
    lighting = make(city, "lighting")
    client.force_login(users["roads"])
    response = client.post(f"/workspace/reports/{lighting.pk}/",
                           {"action": "transition", "to_status": "in_progress"})
    assert response.status_code == 404
    lighting.refresh_from_db()
    assert lighting.status == Status.ASSIGNED


def test_moderator_sees_every_department_and_the_triage_queue(client, users, city):
    roads, lighting = make(city), make(city, "lighting")
    triage = make(city, None, status=Status.NEW)
    client.force_login(users["moderator"])
    assert sorted(numbers(client.get("/workspace/"))) == sorted([roads.pk, lighting.pk,
                                                                 triage.pk])
    assert numbers(client.get("/workspace/?department=triage")) == [triage.pk]
    assert numbers(client.get("/workspace/?department=lighting")) == [lighting.pk]


def test_triage_filter_is_not_offered_to_clerks(client, users, city):
    make(city, None, status=Status.NEW)
    client.force_login(users["roads"])
    response = client.get("/workspace/?department=triage")
    assert numbers(response) == []
    assert 'value="triage"' not in response.content.decode()


# --- Order, filters, counts ---------------------------------------------------------------

def test_overdue_first_then_by_deadline(client, users, city):
    now = NOW()
    later = make(city, due_at=now + timedelta(days=9))
    paused = make(city, status=Status.NEEDS_INFO, due_at=now - timedelta(days=5))
    overdue_old = make(city, due_at=now - timedelta(days=3))
    overdue_new = make(city, due_at=now - timedelta(hours=2))
    soon = make(city, due_at=now + timedelta(hours=5))
    no_due = make(city, due_at=None)
    client.force_login(users["roads"])
    order = numbers(client.get("/workspace/"))
    # overdue first (oldest deadline first); a paused ticket is not overdue; no deadline last
    assert order == [overdue_old.pk, overdue_new.pk, paused.pk, soon.pk, later.pk, no_due.pk]


@pytest.mark.parametrize(("query", "expected"), [
    ("status=in_progress", {"progress"}),
    ("status=resolved", {"resolved"}),
    ("status=assigned&status=in_progress", {"plain", "progress", "mine", "west", "overdue",
                                            "soon"}),
    ("due=overdue", {"overdue"}),
    ("due=due_soon", {"soon"}),
    ("due=on_time", {"plain", "progress", "mine", "west", "soon", "paused", "tree"}),
    ("assignee=me", {"mine"}),
    ("assignee=none", {"plain", "progress", "west", "overdue", "soon", "paused", "tree"}),
    ("district=west", {"west"}),
    ("category=fallen-tree", {"tree"}),
    ("q=гілка", {"tree"}),
    ("q=Шевченка", {"west"}),
])
def test_filters(client, users, city, query, expected):
    now = NOW()
    clerk = users["roads"]
    made = {
        "plain": make(city),
        "progress": make(city, status=Status.IN_PROGRESS),
        "mine": make(city, assignee=clerk),
        "west": make(city, district=city.west, address="вулиця Шевченка, 5"),
        "overdue": make(city, due_at=now - timedelta(days=1)),
        "soon": make(city, due_at=now + timedelta(hours=6)),
        "paused": make(city, status=Status.NEEDS_INFO, due_at=now - timedelta(days=1)),
        "resolved": make(city, status=Status.RESOLVED, resolved_at=now),
        "tree": make(city, category=city.fallen_tree, description="Впала гілка",
                     status=Status.NEEDS_INFO),
    }
    client.force_login(clerk)
    got = set(numbers(client.get(f"/workspace/?{query}")))
    assert got == {made[k].pk for k in expected}


def test_number_search_finds_the_ticket(client, users, city):
    target, _other = make(city), make(city)
    client.force_login(users["roads"])
    assert numbers(client.get(f"/workspace/?q=%23{target.pk}")) == [target.pk]


def test_counts_per_status_follow_the_other_filters(client, users, city):
    for status, n in ((Status.ASSIGNED, 3), (Status.IN_PROGRESS, 2), (Status.NEEDS_INFO, 1)):
        for _ in range(n):
            make(city, status=status)
    make(city, status=Status.ASSIGNED, district=city.west)
    client.force_login(users["roads"])
    response = client.get("/workspace/?district=east")
    chips = {c["value"]: c["count"] for c in response.context["status_chips"]}
    assert chips["assigned"] == 3 and chips["in_progress"] == 2 and chips["needs_info"] == 1
    html = response.content.decode()
    assert 'data-status-count="in_progress"' in html


def test_pagination_for_a_big_queue(client, users, city):
    for i in range(60):
        make(city, due_at=NOW() + timedelta(hours=i))
    client.force_login(users["roads"])
    first = client.get("/workspace/?per_page=25")
    assert first.context["total"] == 60 and len(numbers(first)) == 25
    last = client.get("/workspace/?per_page=25&page=3")
    assert len(numbers(last)) == 10
    assert set(numbers(first)).isdisjoint(numbers(last))
    assert client.get("/workspace/?per_page=25&page=99").status_code == 200


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/workspace/", "/workspace/?status=assigned&q=a&due=overdue"])
def test_query_count_independent_of_queue_size(client, users, city, url,
                                               django_assert_max_num_queries):
    client.force_login(users["roads"])
    for i in range(5):
        make(city, assignee=users["roads_head"] if i % 2 else None)
    with django_assert_max_num_queries(14):
        client.get(url)
    small = _queries(client, url)
    for i in range(45):
        make(city, assignee=users["roads_head"] if i % 2 else None, district=city.west)
    with django_assert_max_num_queries(14):
        client.get(url)
    assert _queries(client, url) == small


def test_ticket_page_query_count_is_bounded(client, users, city, django_assert_max_num_queries):
    report = make(city)
    for _ in range(8):
        make(city, location=f.offset(city.centre, 30, 30))
    client.force_login(users["roads"])
    with django_assert_max_num_queries(22):
        assert client.get(f"/workspace/reports/{report.pk}/").status_code == 200


def test_queue_map_uses_the_tiles_with_the_filters(client, users, city):
    make(city)
    client.force_login(users["roads"])
    config = client.get("/workspace/?category=pothole&status=assigned").context["map_config"]
    assert config["tiles"].startswith("/tiles/reports/{z}/{x}/{y}.pbf?")
    assert "status=assigned" in config["tiles"] and "category=pothole" in config["tiles"]
    assert "department=roads" in config["tiles"]
    assert len(config["points"]) == 1
    assert 48.4 < config["points"][0]["lat"] < 48.5


def test_csv_export_of_the_filtered_queue(client, users, city):
    kept = make(city, status=Status.IN_PROGRESS, address="вулиця Тестова, 1")
    make(city)
    client.force_login(users["roads"])
    response = client.get("/workspace/export.csv?status=in_progress")
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(
        b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [int(r["number"]) for r in rows] == [kept.pk]
    assert rows[0]["address"] == "вулиця Тестова, 1"
    assert rows[0]["department"] == "roads"
    assert not {"contact_email", "contact_phone", "contact_name"} & set(rows[0])


@pytest.mark.parametrize("page", ["'", "abc", "1.5", "-1", "999999"])
def test_a_page_number_that_is_not_one_never_fails(client, users, page):
    # given a clerk (the probes of tests/reliability found ?page=' answering a 500)
    client.force_login(users["roads"])
    # when the queue is asked for a page that is not a page number
    response = client.get("/workspace/", {"page": page})
    # then it shows a page of the queue
    assert response.status_code == 200
