"""REST contract of the report actions: transition, reassign, support, comments, subscribe
(status codes, error codes and response shapes; who may do what is in
test_permissions_matrix.py)."""

from __future__ import annotations

import pytest

from reports.models import Comment, ReportEvent, Subscription, Supporter
from reports.services import Contact, report_create
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(city, users):
    return report_create(category=city.pothole, location=city.centre, description="Pothole",
                         reporter=users["resident"], contact=Contact(phone="+380501234567"))


def url(report, action: str = "") -> str:
    return f"/api/v1/reports/{report.pk}/{action + '/' if action else ''}"


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    data = response.json()
    assert data["code"] == code, data
    assert data["message"]
    return data


# --- Transition ---------------------------------------------------------------------------

def test_transition_returns_the_updated_detail(api, users, report):
    # given the roads clerk
    api.force_authenticate(users["roads"])
    # when they start the work with a public and an internal note
    response = api.post(url(report, "transition"),
                        {"status": "in_progress", "note": "Crew sent",
                         "internal_note": "Crew 4"}, format="json")
    # then 200 with the detail Feature in the new status and the event in its timeline
    assert response.status_code == 200, response.content
    props = response.json()["properties"]
    assert props["status"] == "in_progress"
    last = props["timeline"][-1]
    assert (last["type"], last["note"], last["internal_note"]) == ("status", "Crew sent",
                                                                   "Crew 4")
    assert {t["status"] for t in props["allowed_transitions"]} >= {"resolved", "needs_info"}


TRANSITION_ERRORS = [
    # (payload, status, code)
    ({"status": "closed"}, 409, "invalid_transition"),
    ({"status": "rejected"}, 400, "reason_required"),
    ({"status": "needs_info"}, 400, "note_required"),
    ({"status": "duplicate"}, 400, "duplicate_of_required"),
    ({"status": "duplicate", "duplicate_of": 10**9}, 400, "duplicate_of_invalid"),
    ({"status": "duplicate", "duplicate_of": 10**30}, 400, "invalid"),
    ({"status": "sleeping"}, 400, "invalid_status"),
    ({}, 400, "invalid"),
    ({"status": "resolved", "note": "x" * 4001}, 400, "invalid"),
]


@pytest.mark.parametrize("payload, status, code", TRANSITION_ERRORS,
                         ids=[f"{p}-{c}"[:60] for p, _, c in TRANSITION_ERRORS])
def test_transition_errors(api, users, report, payload, status, code):
    # given the roads clerk and an assigned report
    api.force_authenticate(users["roads"])
    # when they ask for a transition that is not possible as given
    response = api.post(url(report, "transition"), payload, format="json")
    # then the domain error comes back with its code, and nothing changed
    error(response, status, code)
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED


def test_transition_to_duplicate(api, users, city, report):
    # given an older report of the same pothole
    original = report_create(category=city.pothole, location=city.centre, description="Old")
    api.force_authenticate(users["roads"])
    # when the clerk marks the new one as its duplicate
    response = api.post(url(report, "transition"),
                        {"status": "duplicate", "duplicate_of": original.pk}, format="json")
    # then it is merged
    assert response.status_code == 200, response.content
    assert response.json()["properties"]["duplicate_of"] == original.pk


def test_resolve_with_an_after_photo(api, users, report, django_capture_on_commit_callbacks):
    # given the roads clerk who fixed the pothole and took a photo
    api.force_authenticate(users["roads"])
    # when they resolve it with the photo (multipart)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url(report, "transition"),
                            {"status": "resolved", "note": "Patched",
                             "photos": [f.image_file("after.jpg", size=(60, 40))]},
                            format="multipart")
    # then the detail shows it as the staff's "after" photo
    assert response.status_code == 200, response.content
    photos = api.get(url(report)).json()["properties"]["photos"]
    assert [(p["kind"], p["state"]) for p in photos] == [("after", "ready")]
    assert photos[0]["thumbnail_url"].startswith("http://testserver/media/")


def test_transition_on_invisible_report_is_404(api, users, city):
    # given a hidden report of lighting
    hidden = f.ReportFactory(category=city.streetlight, department=city.lighting,
                             is_hidden=True)
    api.force_authenticate(users["roads"])
    # when a roads clerk tries to act on it
    # then it does not exist for them
    error(api.post(url(hidden, "transition"), {"status": "in_progress"}, format="json"),
          404, "report_not_found")


# --- Reassign -------------------------------------------------------------------------------

def test_reassign_to_another_department(api, users, city, report):
    # given the roads clerk
    api.force_authenticate(users["roads"])
    # when they hand the report to lighting with a reason
    response = api.post(url(report, "reassign"),
                        {"department": "lighting", "reason": "It is a lamp post"},
                        format="json")
    # then 200; the report belongs to lighting; the clerk, no longer its staff, sees no
    # private data
    assert response.status_code == 200, response.content
    props = response.json()["properties"]
    assert props["department"]["code"] == "lighting"
    assert props["contact"] is None
    assert ReportEvent.objects.filter(report=report, type="reassigned").exists()


@pytest.mark.parametrize("payload, status, code", [
    ({"department": "nope", "reason": "x"}, 400, "department_invalid"),
    ({"department": "lighting"}, 400, "reason_required"),
    ({"department": "roads", "reason": "x"}, 409, "same_department"),
    ({"reason": "x"}, 400, "invalid"),
])
def test_reassign_errors(api, users, report, payload, status, code):
    api.force_authenticate(users["roads"])
    error(api.post(url(report, "reassign"), payload, format="json"), status, code)


# --- Notes ----------------------------------------------------------------------------------

def test_note_adds_to_the_timeline_without_a_status_change(api, users, report):
    # given the roads clerk
    api.force_authenticate(users["roads"])
    # when they add a public and an internal note
    response = api.post(url(report, "notes"), {"note": "Asphalt ordered",
                                               "internal_note": "PO 1234"}, format="json")
    # then 201 with the detail: same status, the note last in the timeline
    assert response.status_code == 201, response.content
    props = response.json()["properties"]
    assert props["status"] == "assigned"
    assert (props["timeline"][-1]["note"], props["timeline"][-1]["internal_note"]) == (
        "Asphalt ordered", "PO 1234")
    # and the public sees the public half only
    api.force_authenticate(None)
    public = api.get(url(report)).json()["properties"]["timeline"][-1]
    assert (public["note"], public["internal_note"]) == ("Asphalt ordered", None)


def test_empty_note_is_400(api, users, report):
    api.force_authenticate(users["roads"])
    error(api.post(url(report, "notes"), {"note": " "}, format="json"), 400, "note_required")


# --- Support --------------------------------------------------------------------------------

def test_support_counts_once_per_person(api, users, report):
    # given an anonymous visitor with an e-mail
    # when they support the report twice, then a signed-in neighbour supports it
    first = api.post(url(report, "support"), {"email": "Me@Example.org"}, format="json")
    again = api.post(url(report, "support"), {"email": "me@example.org"}, format="json")
    api.force_authenticate(users["other_resident"])
    neighbour = api.post(url(report, "support"), {}, format="json")
    # then 201, 200, 201 with the running count, and the visitor is subscribed
    assert (first.status_code, first.json()) == (201, {"supporters_count": 1, "created": True})
    assert (again.status_code, again.json()) == (200, {"supporters_count": 1, "created": False})
    assert (neighbour.status_code, neighbour.json()["supporters_count"]) == (201, 2)
    assert Subscription.objects.filter(report=report, email="me@example.org").exists()
    assert Supporter.objects.filter(report=report).count() == 2


@pytest.mark.parametrize("payload, code", [({}, "email_required"),
                                           ({"email": "nope"}, "invalid")])
def test_support_anonymous_needs_an_email(api, report, payload, code):
    error(api.post(url(report, "support"), payload, format="json"), 400, code)


def test_support_closed_or_own_report_is_409(api, users, city, report):
    # given a resolved report, and the report's own author
    done = f.ReportFactory(category=city.pothole, department=city.roads,
                           status=Status.RESOLVED)
    # when supported
    closed = api.post(url(done, "support"), {"email": "a@b.org"}, format="json")
    api.force_authenticate(users["resident"])
    own = api.post(url(report, "support"), {}, format="json")
    # then both are conflicts
    error(closed, 409, "report_closed")
    error(own, 409, "own_report")


# --- Comments -------------------------------------------------------------------------------

def test_comments_post_and_list(api, users, report):
    # given a signed-in neighbour and a staff reply
    api.force_authenticate(users["other_resident"])
    created = api.post(url(report, "comments"), {"text": "Me too, <b>deep</b>"}, format="json")
    api.force_authenticate(users["roads"])
    api.post(url(report, "comments"), {"text": "Scheduled for Monday"}, format="json")
    hidden = Comment.objects.create(report=report, author_name="spam", text="Buy now",
                                    is_hidden=True)
    api.force_authenticate(None)
    # when anyone lists the comments
    listed = api.get(url(report, "comments"))
    # then the new comment came back as 201, and the list shows visible ones in order
    assert created.status_code == 201
    assert set(created.json()) == {"id", "author", "text", "created", "is_staff_reply"}
    assert created.json()["author"] == "other_resident"
    assert listed.status_code == 200
    assert [(c["text"], c["is_staff_reply"]) for c in listed.json()] == [
        ("Me too, <b>deep</b>", False), ("Scheduled for Monday", True)]
    assert hidden.pk not in {c["id"] for c in listed.json()}


@pytest.mark.parametrize("payload, code", [({"text": "   "}, "comment_required"),
                                           ({"text": "x" * 2001}, "comment_too_long"),
                                           ({}, "invalid")])
def test_comment_errors(api, users, report, payload, code):
    api.force_authenticate(users["other_resident"])
    error(api.post(url(report, "comments"), payload, format="json"), 400, code)


def test_comment_needs_sign_in(api, report):
    response = api.post(url(report, "comments"), {"text": "hi"}, format="json")
    error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


def test_comment_author_never_shows_an_email(api, city, report):
    # given a resident whose username is their e-mail
    user = f.UserFactory(username="olena@example.org")
    api.force_authenticate(user)
    # when they comment
    data = api.post(url(report, "comments"), {"text": "hi"}, format="json").json()
    # then only the part before @ is shown
    assert data["author"] == "olena"


# --- Subscribe ------------------------------------------------------------------------------

def test_subscribe_anonymous_and_signed_in(api, users, report):
    # given an anonymous visitor and a signed-in resident
    anonymous = api.post(url(report, "subscribe"), {"email": "watcher@example.org"},
                         format="json")
    api.force_authenticate(users["other_resident"])
    signed_in = api.post(url(report, "subscribe"), {}, format="json")
    # then both are subscribed (the account's e-mail by default)
    assert anonymous.json() == {"email": "watcher@example.org", "subscribed": True}
    assert signed_in.json() == {"email": "other_resident@example.org", "subscribed": True}
    assert Subscription.objects.filter(report=report, is_active=True).count() == 3


@pytest.mark.parametrize("payload, code", [({}, "email_required"),
                                           ({"email": "x@"}, "invalid")])
def test_subscribe_errors(api, report, payload, code):
    error(api.post(url(report, "subscribe"), payload, format="json"), 400, code)


@pytest.mark.parametrize("action", ["transition", "reassign", "support", "comments",
                                    "subscribe", "notes"])
def test_actions_on_unknown_report_are_404(api, users, action):
    api.force_authenticate(users["admin"])
    error(api.post(f"/api/v1/reports/424242/{action}/", {"status": "x", "text": "x",
                                                       "email": "a@b.org"}, format="json"),
          404, "report_not_found")
