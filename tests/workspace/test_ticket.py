"""The ticket page: what it shows, which actions the transition table offers, and each action
through the services, with domain errors shown next to the form and nothing typed lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reports.models import Comment, Photo, ResponseTemplate
from reports.services import photo_add, report_transition
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db


def make(city, dept="roads", **kw):
    department = getattr(city, dept) if dept else None
    category = kw.pop("category", None) or {"roads": city.pothole, "lighting": city.streetlight,
                                             None: city.graffiti}[dept]
    return f.ReportFactory(department=department, category=category, **kw)


def page(client, report):
    response = client.get(f"/workspace/reports/{report.pk}/")
    assert response.status_code == 200
    return response


def action_keys(response) -> set[str]:
    return {a.key for a in response.context["actions"]}


def post(client, report, **data):
    data.setdefault("status_seen", report.status)
    return client.post(f"/workspace/reports/{report.pk}/", data)


# --- What the page shows ------------------------------------------------------------------

def test_shows_contact_timeline_with_internal_notes_routing_and_duplicates(
        client, users, city, django_capture_on_commit_callbacks):
    report = make(city, contact_email="olena@private.example.org", contact_phone="+380501112233",
                  routing_explanation_uk="Зона «Дороги» (пріоритет 0)",
                  routing_explanation_en="Area “Roads” (priority 0)", routing_rule="area")
    neighbour = make(city, location=f.offset(city.centre, 40, 0))
    make(city, location=f.offset(city.centre, 5000, 0))  # too far to be a duplicate
    with django_capture_on_commit_callbacks(execute=True):
        report_transition(report_id=report.pk, actor=users["roads"], to_status="in_progress",
                          internal_note="Бригада №3 у четвер")
    client.force_login(users["roads"])
    response = page(client, report)
    html = response.content.decode()
    assert "olena@private.example.org" in html and "+380501112233" in html
    assert "Бригада №3 у четвер" in html and "badge-internal" in html
    assert "Зона «Дороги»" in html
    assert [o.pk for o in response.context["nearby"]] == [neighbour.pk]
    assert f'data-nearby="{neighbour.pk}"' in html


def test_moderator_sees_the_contact_too(client, users, city):
    report = make(city, contact_email="hidden@private.example.org")
    client.force_login(users["moderator"])
    assert "hidden@private.example.org" in page(client, report).content.decode()


def test_response_templates_in_the_reporters_language(client, users, city):
    report = make(city, lang="en")
    ResponseTemplate.objects.create(category=city.pothole, title="Which side",
                                    text_uk="З якого боку?", text_en="Which side of the road?")
    ResponseTemplate.objects.create(category=city.streetlight, title="Lamp", text_uk="Ліхтар")
    ResponseTemplate.objects.create(title="Thanks", status="resolved", text_uk="Дякуємо!")
    client.force_login(users["roads"])
    response = page(client, report)
    assert [t["title"] for t in response.context["templates"]] == ["Thanks", "Which side"]
    resolve = next(a for a in response.context["actions"] if a.key == "transition:resolved")
    note = next(fl for fl in resolve.fields if fl.name == "note")
    assert [t["text"] for t in note.templates] == ["Дякуємо!", "Which side of the road?"]
    ask = next(a for a in response.context["actions"] if a.key == "transition:needs_info")
    assert [t["title"] for t in ask.fields[0].templates] == ["Which side"]


# --- Which actions appear: the transition table decides -----------------------------------

@pytest.mark.parametrize(("who", "status", "dept", "present", "absent"), [
    ("roads", Status.ASSIGNED, "roads",
     {"accept", "transition:in_progress", "transition:needs_info", "transition:resolved",
      "transition:rejected", "transition:duplicate", "assign", "reassign", "extend", "comment"},
     {"transition:new", "transition:closed"}),
    ("roads", Status.IN_PROGRESS, "roads",
     {"transition:assigned", "transition:resolved", "transition:needs_info"},
     {"transition:in_progress"}),
    ("roads", Status.NEEDS_INFO, "roads",
     {"transition:assigned", "transition:in_progress", "transition:resolved"}, set()),
    ("roads", Status.RESOLVED, "roads", {"comment"},
     {"transition:closed", "transition:assigned", "assign", "reassign", "extend", "accept"}),
    ("moderator", Status.ASSIGNED, "roads",
     {"transition:new", "transition:in_progress", "transition:rejected", "reassign"},
     {"transition:resolved", "accept"}),
    ("moderator", Status.RESOLVED, "roads", {"transition:closed", "transition:assigned"},
     set()),
    ("moderator", Status.NEW, None, {"reassign", "transition:rejected", "transition:duplicate"},
     {"transition:assigned", "assign", "accept"}),
    ("admin", Status.ASSIGNED, "roads", {"transition:resolved", "transition:new"}, {"accept"}),
])
def test_actions_follow_the_transition_table(client, users, city, who, status, dept, present,
                                             absent):
    report = make(city, dept, status=status)
    client.force_login(users[who])
    keys = action_keys(page(client, report))
    assert present <= keys, present - keys
    assert not (absent & keys), absent & keys


def test_route_label_for_triage(client, users, city):
    report = make(city, None, status=Status.NEW)
    client.force_login(users["moderator"])
    client.cookies["django_language"] = "en"
    reassign = next(a for a in page(client, report).context["actions"] if a.key == "reassign")
    assert reassign.title == "Route to a department"


# --- Actions through the services ---------------------------------------------------------

def test_accept_and_start_work(client, users, city):
    report = make(city)
    client.force_login(users["roads"])
    response = post(client, report, action="accept")
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.assignee == users["roads"]
    post(client, report, action="transition", to_status="in_progress")
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS


def test_needs_info_without_a_question_keeps_what_was_typed(client, users, city):
    report = make(city)
    client.force_login(users["roads"])
    response = post(client, report, action="transition", to_status="needs_info",
                    note="  ", internal_note="Перевірити після дощу")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-error="transition:needs_info"' in html
    assert "Перевірити після дощу" in html  # the internal note survived
    form = next(a for a in response.context["actions"] if a.key == "transition:needs_info")
    assert form.error and form.fields[0].errors
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED


def test_resolve_with_a_public_note_and_after_photos(client, users, city,
                                                     django_capture_on_commit_callbacks):
    report = make(city)
    client.force_login(users["roads"])
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, report, action="transition", to_status="resolved",
                        note="Яму залатано", photos=[f.image_file("after.jpg")])
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Status.RESOLVED
    assert report.events.get(type="status", to_status="resolved").public_note == "Яму залатано"
    photo = Photo.objects.get(report=report)
    assert photo.kind == Photo.Kind.AFTER and photo.state == Photo.State.READY


def test_resolve_needs_a_public_answer(client, users, city):
    report = make(city)
    client.force_login(users["roads"])
    response = post(client, report, action="transition", to_status="resolved", note="")
    assert response.status_code == 400
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED


def test_reject_with_a_reason(client, users, city):
    report = make(city)
    client.force_login(users["roads"])
    post(client, report, action="transition", to_status="rejected",
         reason="Дорога належить області")
    report.refresh_from_db()
    assert report.status == Status.REJECTED
    assert report.events.get(type="status").public_note == "Дорога належить області"


def test_mark_duplicate_of_a_chosen_report(client, users, city):
    original, report = make(city), make(city)
    client.force_login(users["roads"])
    bad = post(client, report, action="transition", to_status="duplicate", duplicate_of="abc",
               note="Те саме")
    assert bad.status_code == 400 and "Те саме" in bad.content.decode()
    post(client, report, action="transition", to_status="duplicate",
         duplicate_of=f"#{original.pk}")
    report.refresh_from_db()
    assert report.status == Status.DUPLICATE and report.duplicate_of == original


def test_mark_a_nearby_report_as_duplicate_of_this(client, users, city):
    report = make(city)
    other = make(city, location=f.offset(city.centre, 30, 0), supporters_count=0)
    client.force_login(users["roads"])
    response = post(client, report, action="merge", other=str(other.pk))
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.status == Status.DUPLICATE and other.duplicate_of_id == report.pk
    assert report.events.filter(type="merged").exists()


def test_merge_refuses_a_report_outside_the_workspace(client, users, city):
    report = make(city)
    foreign = make(city, "lighting", location=f.offset(city.centre, 30, 0))
    client.force_login(users["roads"])
    response = post(client, report, action="merge", other=str(foreign.pk))
    assert response.status_code == 400
    foreign.refresh_from_db()
    assert foreign.status == Status.ASSIGNED


def test_reassign_with_a_reason_leaves_the_queue(client, users, city):
    report = make(city)
    client.force_login(users["roads"])
    missing = post(client, report, action="reassign", department=str(city.lighting.pk),
                   reason="")
    assert missing.status_code == 400
    response = post(client, report, action="reassign", department=str(city.lighting.pk),
                    reason="Це ліхтар, не дорога")
    assert response.status_code == 302 and response["Location"] == "/workspace/"
    report.refresh_from_db()
    assert report.department == city.lighting
    assert "Це ліхтар, не дорога" in report.routing_explanation_uk


def test_assign_to_a_colleague(client, users, city):
    report = make(city)
    client.force_login(users["roads"])
    post(client, report, action="assign", assignee=str(users["roads_head"].pk))
    report.refresh_from_db()
    assert report.assignee == users["roads_head"]
    wrong = post(client, report, action="assign", assignee=str(users["lighting"].pk))
    assert wrong.status_code == 400


def test_extend_the_deadline_within_the_law(client, users, city):
    report = make(city)
    due = report.due_at
    client.force_login(users["roads"])
    post(client, report, action="extend", days="10", reason="Потрібна експертиза")
    report.refresh_from_db()
    assert report.due_at == due + timedelta(days=10) and report.sla_extended
    # beyond 45 days in total: refused, the reason stays in the form
    response = post(client, report, action="extend", days="30", reason="Ще експертиза")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-error="extend"' in html and "Ще експертиза" in html


def test_public_reply(client, users, city):
    report = make(city)
    client.force_login(users["roads"])
    post(client, report, action="comment", text="Дякуємо, прийнято в роботу.")
    comment = Comment.objects.get(report=report)
    assert comment.is_staff_reply and comment.author == users["roads"]


def test_internal_note_stays_internal(client, users, city):
    # given a ticket of the roads department
    report = make(city)
    client.force_login(users["roads"])
    # when a clerk adds an internal note without changing the status
    response = post(client, report, action="note", internal_note="Бригада приїде в четвер")
    # then it is on the staff timeline, the status is unchanged and the public never sees it
    assert response.status_code == 302
    event = report.events.get(type="note")
    assert event.internal_note == "Бригада приїде в четвер" and not event.public_note
    assert event.actor == users["roads"]
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED
    assert "Бригада приїде в четвер" in page(client, report).content.decode()
    client.logout()
    assert "Бригада" not in client.get(f"/reports/{report.pk}/").content.decode()


def test_an_empty_internal_note_is_refused_in_the_form(client, users, city):
    report = make(city)
    client.force_login(users["roads"])
    response = post(client, report, action="note", internal_note="   ")
    assert response.status_code == 400
    assert 'data-error="note"' in response.content.decode()
    assert not report.events.filter(type="note").exists()


def test_a_stale_page_does_not_act(client, users, city):
    report = make(city, status=Status.IN_PROGRESS)
    client.force_login(users["roads"])
    response = client.post(f"/workspace/reports/{report.pk}/", {
        "action": "transition", "to_status": "assigned", "status_seen": "needs_info"})
    assert response.status_code == 400
    assert 'data-error="transition:assigned"' in response.content.decode()
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS


def test_a_paused_ticket_is_not_shown_overdue(client, users, city):
    report = make(city, status=Status.NEEDS_INFO, due_at=timezone.now() - timedelta(days=1))
    client.force_login(users["roads"])
    response = page(client, report)
    assert response.context["overdue"] is False


# --- Private photo originals --------------------------------------------------------------

@pytest.fixture
def photo(city, users):
    report = make(city)
    upload = f.image_file("original.jpg")
    (stored,) = photo_add(report_id=report.pk, actor=users["roads"], files=[upload])
    upload.seek(0)
    return stored, upload.read()


@pytest.mark.parametrize(("who", "expected"), [
    ("roads", 200), ("moderator", 200), ("lighting", 404), ("resident", 403), ("official", 403),
])
def test_photo_original_is_for_the_departments_staff(client, users, photo, who, expected):
    stored, content = photo
    client.force_login(users[who])
    response = client.get(f"/workspace/photos/{stored.pk}/original/")
    assert response.status_code == expected
    if expected == 200:
        assert b"".join(response.streaming_content) == content
        assert response["Cache-Control"] == "private, no-store"
        assert response["Content-Type"] == "image/jpeg"


def test_photo_original_link_on_the_ticket(client, users, photo):
    stored, _ = photo
    client.force_login(users["roads"])
    html = page(client, stored.report).content.decode()
    assert f"/workspace/photos/{stored.pk}/original/" in html
