"""Role x action matrix through the REST API: every role against every write action (create,
transition, reassign, support, comment, note, subscribe) and the private reads (contact
data, internal notes, hidden reports). Officials read everything and change nothing.

The report under test belongs to roads and was made by `reporter` (a resident with an
account); `resident` is another resident; `staff_own` works for roads, `staff_other` for
lighting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from layers.geometry import lat_lon
from reports.models import Comment, Report, ReportEvent, Subscription, Supporter
from reports.services import Contact, report_create
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "resident", "reporter", "staff_own", "staff_other", "moderator",
         "official", "admin"]
USER_OF_ROLE = {"anonymous": None, "resident": "other_resident", "reporter": "resident",
                "staff_own": "roads", "staff_other": "lighting", "moderator": "moderator",
                "official": "official", "admin": "admin"}

# action -> expected status per role, in ROLES order
MATRIX = {
    "create":            [201, 201, 201, 201, 201, 201, 403, 201],
    "transition_start":  [401, 403, 403, 200, 403, 200, 403, 200],
    "transition_answer": [401, 403, 200, 200, 403, 200, 403, 200],
    "reassign":          [401, 403, 403, 200, 403, 200, 403, 200],
    "support":           [201, 201, 409, 201, 201, 201, 403, 201],
    "comment":           [401, 201, 201, 201, 201, 201, 403, 201],
    "note":              [401, 403, 403, 201, 403, 201, 403, 201],
    "subscribe":         [200, 200, 200, 200, 200, 200, 403, 200],
    # private reads: 200 with the private part, 200 without it ("public"), or 404
    "read_contact":      ["public", "public", "public", "private", "public", "private",
                          "public", "private"],
    "read_internal":     ["public", "public", "public", "private", "public", "private",
                          "private", "private"],
    "read_hidden":       [404, 404, 404, 200, 404, 200, 200, 200],
}

CASES = [(action, role, expected[i]) for action, expected in MATRIX.items()
         for i, role in enumerate(ROLES)]


@dataclass
class World:
    report: Report
    waiting: Report  # needs_info: waiting for the reporter's answer
    hidden: Report
    before: dict


def _counts(w) -> dict:
    return {
        "reports": Report.objects.count(),
        "status": Report.objects.get(pk=w.report.pk).status,
        "waiting": Report.objects.get(pk=w.waiting.pk).status,
        "department": Report.objects.get(pk=w.report.pk).department_id,
        "supporters": Supporter.objects.count(),
        "comments": Comment.objects.count(),
        "subscriptions": Subscription.objects.count(),
        "notes": ReportEvent.objects.filter(type="note").count(),
    }


@pytest.fixture
def world(city, users) -> World:
    reporter = users["resident"]
    report = report_create(category=city.pothole, location=city.centre, description="Pothole",
                           reporter=reporter,
                           contact=Contact(name="Rita", phone="+380501234567"))
    # an internal note only insiders may read
    ReportEvent.objects.create(report=report, type="note", internal_note="Crew 7 tomorrow",
                               created=timezone.now(), data={"public": False})
    waiting = f.ReportFactory(category=city.pothole, department=city.roads, reporter=reporter,
                              status=Status.NEEDS_INFO,
                              sla_paused_at=timezone.now() - timedelta(hours=1))
    hidden = f.ReportFactory(category=city.pothole, department=city.roads, is_hidden=True)
    w = World(report, waiting, hidden, {})
    w.before = _counts(w)
    return w


def _act(api, city, w: World, action: str):
    r = f"/api/v1/reports/{w.report.pk}"
    lat, lon = lat_lon(city.centre)
    return {
        "create": lambda: api.post("/api/v1/reports/", {
            "category": "pothole", "lat": lat, "lon": lon, "description": "New pothole",
            "contact": {"email": "new@example.org"}}, format="json"),
        "transition_start": lambda: api.post(f"{r}/transition/", {"status": "in_progress"},
                                             format="json"),
        "transition_answer": lambda: api.post(
            f"/api/v1/reports/{w.waiting.pk}/transition/",
            {"status": "assigned", "note": "Here is the photo"}, format="json"),
        "reassign": lambda: api.post(f"{r}/reassign/", {"department": "lighting",
                                                        "reason": "Lamp post"},
                                     format="json"),
        "support": lambda: api.post(f"{r}/support/", {"email": "fan@example.org"},
                                    format="json"),
        "comment": lambda: api.post(f"{r}/comments/", {"text": "Any news?"}, format="json"),
        "note": lambda: api.post(f"{r}/notes/", {"note": "Crew booked"}, format="json"),
        "subscribe": lambda: api.post(f"{r}/subscribe/", {"email": "watch@example.org"},
                                      format="json"),
        "read_contact": lambda: api.get(f"{r}/"),
        "read_internal": lambda: api.get(f"{r}/"),
        "read_hidden": lambda: api.get(f"/api/v1/reports/{w.hidden.pk}/"),
    }[action]()


# What a successful action changes (and a refused one must not).
EFFECT = {
    "create": "reports", "transition_start": "status", "transition_answer": "waiting",
    "reassign": "department", "support": "supporters", "comment": "comments",
    "subscribe": "subscriptions", "note": "notes",
}


@pytest.mark.parametrize("action, role, expected", CASES,
                         ids=[f"{a}-{r}" for a, r, _ in CASES])
def test_matrix(api, city, users, world, action, role, expected):
    # given a user holding `role`
    user = users[USER_OF_ROLE[role]] if USER_OF_ROLE[role] else None
    api.force_authenticate(user)
    # when they attempt `action`
    response = _act(api, city, world, action)
    # then the answer is the table's
    if action == "read_contact":
        assert response.status_code == 200
        contact = response.json()["properties"]["contact"]
        assert (contact is not None) is (expected == "private")
        if contact:
            assert contact == {"name": "Rita", "email": "resident@example.org",
                               "phone": "+380501234567"}
        return
    if action == "read_internal":
        assert response.status_code == 200
        notes = [e["internal_note"] for e in response.json()["properties"]["timeline"]]
        assert ("Crew 7 tomorrow" in notes) is (expected == "private")
        return
    assert response.status_code == expected, response.content
    if action == "read_hidden":
        return
    # and a refused action changed nothing, a successful one changed its object
    effect = EFFECT[action]
    changed = _counts(world)[effect] != world.before[effect]
    assert changed is (200 <= expected < 300), (action, role)
    if expected >= 400:
        assert response.json()["code"]


def test_officials_get_read_only_role_code(api, users, world):
    # given an official
    api.force_authenticate(users["official"])
    # when they try to comment
    response = api.post(f"/api/v1/reports/{world.report.pk}/comments/", {"text": "x"},
                        format="json")
    # then the refusal says why
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_role"


def test_official_who_works_for_a_department_may_act(api, city, users, world):
    # given an official who is also a roads clerk
    official = users["official"]
    f.MembershipFactory(user=official, department=city.roads)
    api.force_authenticate(official)
    # when they start the work
    response = api.post(f"/api/v1/reports/{world.report.pk}/transition/",
                        {"status": "in_progress"}, format="json")
    # then the working role applies
    assert response.status_code == 200
