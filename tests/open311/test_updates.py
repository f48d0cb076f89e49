"""FixMyStreet's servicerequestupdates: back-offices read public status changes (GET) and
push their own (POST), each update_id once, only for their departments' reports, and only
along the workflow table (DUPLICATE with the original's id). Same-status pushes become notes
through the note service; reports awaiting pre-moderation never show."""

# ruff: noqa: F811 - the fixtures imported from test_open311_support are test parameters.

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from open311 import services
from open311.services import api_key_create
from open311.statuses import OPEN311_INBOUND
from reports.models import ReportEvent, Supporter
from reports.services import (
    report_create,
    report_note_add,
    report_support,
    report_transition,
)
from reports.workflow import Status

from .. import factories as f
from .support import BASE, FORMATS, errors, items, key, web  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
UPDATE_FIELDS = {"update_id", "service_request_id", "status", "updated_datetime",
                 "description", "media_url"}


def push(web, fmt: str = "json", **data):
    return web.post(f"{BASE}/servicerequestupdates.{fmt}", urlencode(data), content_type=FORM)


@pytest.fixture
def pothole(city):
    """An assigned roads report (the key's department)."""
    return report_create(category=city.pothole, location=f.offset(city.centre, 20, 20),
                         description="Яма")


def update(key, report, update_id="BO-1", status="IN_PROGRESS", **extra) -> dict:
    return {"api_key": key.key, "service_request_id": str(report.pk), "update_id": update_id,
            "status": status, "updated_datetime": "2026-11-20T10:00:00+02:00",
            "description": "Бригада виїхала", **extra}


# --- POST -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_back_office_pushes_a_status(web, key, pothole, fmt, django_capture_on_commit_callbacks):
    # when the roads back-office says work has started
    with django_capture_on_commit_callbacks(execute=True):
        response = push(web, fmt, **update(key, pothole))
    # then the report moves along the workflow as the system, audited with the update_id
    assert response.status_code == 201
    [answer] = items(response, fmt, "service_request_updates", "request_update")
    assert answer["service_request_id"] == str(pothole.pk)
    assert answer["status"] == "IN_PROGRESS"
    assert answer["external_id"] == "BO-1"
    pothole.refresh_from_db()
    assert pothole.status == Status.IN_PROGRESS
    event = ReportEvent.objects.get(pk=int(answer["update_id"]))
    link = event.open311_update
    assert (event.type, link.update_id, link.client) == ("status", "BO-1", key.client)
    assert event.actor is None and event.actor_role in ("", "system")  # not a person
    assert event.public_note == "Бригада виїхала"
    assert "2026-11-20T10:00:00+02:00" in event.internal_note


def test_repeated_update_id_is_rejected(web, key, pothole):
    assert push(web, **update(key, pothole, "BO-7")).status_code == 201
    # the same update_id again, even with another status, is refused
    response = push(web, **update(key, pothole, "BO-7", status="FIXED"))
    assert response.status_code == 400
    assert "BO-7" in errors(response, "json")[0]["description"]
    pothole.refresh_from_db()
    assert pothole.status == Status.IN_PROGRESS
    # another client may use the same id for its own updates
    other, other_key = api_key_create(name="Other back-office")
    other.departments.set([pothole.department])
    response = push(web, **{**update(key, pothole, "BO-7", status="FIXED"),
                            "api_key": other_key})
    assert response.status_code == 201


@pytest.mark.parametrize("pushed,expected", [
    ("ACTION_SCHEDULED", Status.IN_PROGRESS),
    ("INVESTIGATING", Status.IN_PROGRESS),
    ("FIXED", Status.RESOLVED),
    ("closed", Status.RESOLVED),  # case does not matter
    ("NOT_COUNCILS_RESPONSIBILITY", Status.REJECTED),
    ("NO_FURTHER_ACTION", Status.REJECTED),
    ("INTERNAL_REFERRAL", Status.REJECTED),
])
def test_inbound_mapping_from_assigned(web, key, pothole, pushed, expected):
    response = push(web, **update(key, pothole, status=pushed, description=""))
    assert response.status_code == 201, response.content
    pothole.refresh_from_db()
    assert pothole.status == expected == OPEN311_INBOUND[pushed.upper()]


def test_rejection_without_description_gets_a_public_reason(web, key, pothole):
    push(web, **update(key, pothole, status="NOT_COUNCILS_RESPONSIBILITY", description=""))
    event = ReportEvent.objects.get(open311_update__update_id="BO-1")
    assert event.public_note  # the reason the workflow requires, shown to the reporter


def test_reopen_after_fixed(web, key, pothole):
    push(web, **update(key, pothole, "BO-1", status="FIXED"))
    response = push(web, **update(key, pothole, "BO-2", status="REOPEN", description=""))
    assert response.status_code == 201
    pothole.refresh_from_db()
    assert pothole.status == Status.ASSIGNED and pothole.reopen_count == 1


def test_same_status_is_recorded_as_a_note(web, key, pothole,
                                          django_capture_on_commit_callbacks):
    push(web, **update(key, pothole, "BO-1", status="IN_PROGRESS"))
    pothole.refresh_from_db()
    before = pothole.updated
    # when the back-office pushes a status that keeps the report where it is
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = push(web, **update(key, pothole, "BO-2", status="ACTION_SCHEDULED",
                                      description="Ремонт у вівторок"))
    # then the note service records a public note from the system, audited with the update_id
    assert response.status_code == 201
    [answer] = items(response, "json", "service_request_updates", "request_update")
    assert (answer["status"], answer["description"]) == ("IN_PROGRESS", "Ремонт у вівторок")
    event = ReportEvent.objects.get(open311_update__update_id="BO-2")
    assert (event.type, event.public_note, event.open311_update.client) == (
        "note", "Ремонт у вівторок", key.client)
    assert event.actor is None and event.actor_role == "system"
    assert event.data["public"] is True and event.data["open311_status"] == "ACTION_SCHEDULED"
    assert "BO-2" in event.internal_note
    assert callbacks  # subscribers are told about a public note
    pothole.refresh_from_db()
    assert pothole.status == Status.IN_PROGRESS and pothole.updated > before
    # and a note's update_id cannot be replayed either
    assert push(web, **update(key, pothole, "BO-2", status="ACTION_SCHEDULED")).status_code == 400


def test_same_status_without_description_is_a_private_note(web, key, pothole):
    response = push(web, **update(key, pothole, "BO-3", status="OPEN", description=""))
    assert response.status_code == 201
    event = ReportEvent.objects.get(open311_update__update_id="BO-3")
    assert (event.type, event.public_note, event.data["public"]) == ("note", "", False)
    assert "OPEN" in event.internal_note
    listed = web.get(f"{BASE}/servicerequestupdates.json")
    assert items(listed, "json", "service_request_updates", "request_update") == []


@pytest.mark.parametrize("pushed", ["ACTION_SCHEDULED", "FIXED"])
def test_a_repeat_racing_the_first_is_still_refused(web, key, pothole, monkeypatch, pushed):
    # given a push already stored, and a repeat that slipped past the early check (a race)
    push(web, **update(key, pothole, "BO-4", status="IN_PROGRESS"))
    monkeypatch.setattr(services, "update_received", lambda client, update_id: False)
    # when the repeat arrives as a note (the note service) or as a transition (the database)
    response = push(web, **update(key, pothole, "BO-4", status=pushed))
    # then it is refused the same way, and nothing changes
    assert response.status_code == 400
    assert "BO-4" in errors(response, "json")[0]["description"]
    assert ReportEvent.objects.filter(open311_update__update_id="BO-4").count() == 1
    pothole.refresh_from_db()
    assert pothole.status == Status.IN_PROGRESS


@pytest.mark.parametrize("fmt", FORMATS)
def test_transition_not_allowed_from_current_status_is_400(web, key, pothole, users, fmt):
    # given a report the reporter has already confirmed closed
    report_transition(report_id=pothole.pk, to_status=Status.RESOLVED, system=True)
    report_transition(report_id=pothole.pk, to_status=Status.CLOSED, system=True)
    # when the back-office pushes IN_PROGRESS
    response = push(web, fmt, **update(key, pothole, status="IN_PROGRESS"))
    # then it is refused with the reason, and nothing changes
    assert response.status_code == 400
    description = errors(response, fmt)[0]["description"]
    assert "closed" in description and "IN_PROGRESS" in description
    pothole.refresh_from_db()
    assert pothole.status == Status.CLOSED
    assert not ReportEvent.objects.filter(open311_update__update_id="BO-1").exists()


@pytest.fixture
def original(city):
    """The first report of the same pothole."""
    return report_create(category=city.pothole, location=f.offset(city.centre, 25, 25),
                         description="Перша")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("start", [Status.ASSIGNED, Status.IN_PROGRESS, Status.NEEDS_INFO])
def test_duplicate_push_merges_into_the_original(web, key, pothole, original, users, start,
                                                  fmt):
    # given a report with a supporter, in a status the system may mark duplicates from
    if start != Status.ASSIGNED:
        report_transition(report_id=pothole.pk, to_status=Status.IN_PROGRESS, system=True)
    if start == Status.NEEDS_INFO:
        report_transition(report_id=pothole.pk, actor=users["roads"],
                          to_status=Status.NEEDS_INFO, note="Уточніть місце")
    report_support(report_id=pothole.pk, email="neighbour@private.example.org")
    # when the back-office says it duplicates the original
    response = push(web, fmt, **update(key, pothole, status="DUPLICATE",
                                       duplicate_of=str(original.pk), description="Вже є"))
    # then the report is closed as a duplicate of the original, through the workflow
    assert response.status_code == 201, response.content
    [answer] = items(response, fmt, "service_request_updates", "request_update")
    assert (answer["status"], answer["description"]) == ("DUPLICATE", "Вже є")
    pothole.refresh_from_db()
    assert (pothole.status, pothole.duplicate_of_id) == (Status.DUPLICATE, original.pk)
    assert pothole.closed_at is not None
    event = ReportEvent.objects.get(open311_update__update_id="BO-1")
    assert (event.type, event.to_status, event.data["duplicate_of"]) == (
        "status", Status.DUPLICATE, original.pk)
    # and its supporters now support the original
    assert Supporter.objects.filter(report=original,
                                    email="neighbour@private.example.org").exists()
    # and the public list shows it closed
    [listed] = items(web.get(f"{BASE}/requests.json",
                             {"service_request_id": str(pothole.pk), "extensions": "true"}),
                     "json", "service_requests", "request")
    assert (listed["status"], listed["extended_attributes"]["detailed_status"]) == (
        "closed", "DUPLICATE")


def test_duplicate_of_another_departments_public_request_is_allowed(web, key, pothole, city):
    light = report_create(category=city.streetlight, location=city.centre,
                          description="Там само")
    response = push(web, **update(key, pothole, status="DUPLICATE", duplicate_of=str(light.pk)))
    assert response.status_code == 201
    pothole.refresh_from_db()
    assert pothole.duplicate_of_id == light.pk


def _hidden_light(city):
    light = report_create(category=city.streetlight, location=city.centre, description="Темно")
    light.is_hidden = True
    light.save()
    return light.pk


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case,original_id,says", [
    ("missing", lambda city, pothole: "", "duplicate_of=<service_request_id>"),
    ("unknown", lambda city, pothole: "987654321", "not a known service request"),
    ("itself", lambda city, pothole: str(pothole.pk), "itself"),
    ("hidden, another department", lambda city, pothole: str(_hidden_light(city)),
     "not a known service request"),
])
def test_duplicate_push_needs_a_known_original(web, key, pothole, city, case, original_id, says,
                                               fmt):
    response = push(web, fmt, **update(key, pothole, status="DUPLICATE",
                                       duplicate_of=original_id(city, pothole)))
    assert response.status_code == 400
    assert says in errors(response, fmt)[0]["description"]
    pothole.refresh_from_db()
    assert (pothole.status, pothole.duplicate_of_id) == (Status.ASSIGNED, None)
    assert not ReportEvent.objects.filter(open311_update__update_id="BO-1").exists()


def test_duplicate_cannot_follow_a_resolved_request(web, key, pothole, original):
    report_transition(report_id=pothole.pk, to_status=Status.RESOLVED, system=True)
    response = push(web, **update(key, pothole, status="DUPLICATE",
                                  duplicate_of=str(original.pk)))
    assert response.status_code == 400
    description = errors(response, "json")[0]["description"]
    refused, may_push = description.split("From here a back-office may push:")
    assert "resolved" in refused and "DUPLICATE" in refused
    assert "REOPEN" in may_push and "DUPLICATE" not in may_push
    pothole.refresh_from_db()
    assert (pothole.status, pothole.duplicate_of_id) == (Status.RESOLVED, None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_report_of_another_department_is_403(web, key, city, fmt):
    light = report_create(category=city.streetlight, location=city.centre, description="Темно")
    response = push(web, fmt, **update(key, light))
    assert response.status_code == 403
    errors(response, fmt)
    light.refresh_from_db()
    assert light.status == Status.ASSIGNED


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case,change,code", [
    ("no key", {"api_key": ""}, 403),
    ("wrong key", {"api_key": "nope-nope-nope"}, 403),
    ("no request id", {"service_request_id": ""}, 400),
    ("unknown request", {"service_request_id": "987654321"}, 404),
    ("request id not a number", {"service_request_id": "12a"}, 404),
    ("no update_id", {"update_id": ""}, 400),
    ("update_id too long", {"update_id": "u" * 101}, 400),
    ("no status", {"status": ""}, 400),
    ("unknown status", {"status": "DONE_ISH"}, 400),
    ("triage cannot be pushed", {"status": "FOR_TRIAGE"}, 400),
    ("bad updated_datetime", {"updated_datetime": "last tuesday"}, 400),
    ("description too long", {"description": "x" * 4001}, 400),
    ("bad media_url", {"media_url": "javascript:alert(1)"}, 400),
    ("bad duplicate_of", {"status": "DUPLICATE", "duplicate_of": "x"}, 400),
])
def test_malformed_updates(web, key, pothole, case, change, code, fmt):
    response = push(web, fmt, **{**update(key, pothole), **change})
    assert response.status_code == code, response.content
    errors(response, fmt)
    pothole.refresh_from_db()
    assert pothole.status == Status.ASSIGNED


def test_hidden_report_of_another_department_is_404(web, key, city):
    light = report_create(category=city.streetlight, location=city.centre, description="Темно")
    light.is_hidden = True
    light.save()
    assert push(web, **update(key, light)).status_code == 404


# --- GET ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_updates_list_public_status_changes(web, key, pothole, users, fmt):
    # given a public change with a note, an internal-only change, and a pushed update
    report_transition(report_id=pothole.pk, actor=users["roads"], to_status=Status.IN_PROGRESS,
                      note="Почали", internal_note="таємниця")
    report_transition(report_id=pothole.pk, actor=users["roads"], to_status=Status.ASSIGNED)
    push(web, **update(key, pothole, "BO-9", status="FIXED", description="Залатали"))
    # when a client reads the updates
    response = web.get(f"{BASE}/servicerequestupdates.{fmt}")
    assert response.status_code == 200
    found = items(response, fmt, "service_request_updates", "request_update")
    # then it sees the public ones, oldest first, with FixMyStreet's fields and statuses
    assert [(u["status"], u["description"]) for u in found] == [
        ("IN_PROGRESS", "Почали"), ("FIXED", "Залатали")]
    assert set(found[0]) == UPDATE_FIELDS
    assert found[0]["service_request_id"] == str(pothole.pk)
    assert "таємниця" not in response.content.decode()


def test_a_note_shows_the_status_it_was_written_in(web, key, pothole, users):
    # given a note pushed while in progress, and the report fixed since
    push(web, **update(key, pothole, "BO-1", status="IN_PROGRESS", description="Почали"))
    push(web, **update(key, pothole, "BO-2", status="ACTION_SCHEDULED", description="У вівторок"))
    report_note_add(report_id=pothole.pk, actor=users["roads"], public_note="Асфальт завезли")
    push(web, **update(key, pothole, "BO-3", status="FIXED", description="Готово"))
    # then each update keeps the status of its moment
    response = web.get(f"{BASE}/servicerequestupdates.json",
                       {"service_request_id": str(pothole.pk)})
    assert [(u["status"], u["description"]) for u in items(
        response, "json", "service_request_updates", "request_update")] == [
        ("IN_PROGRESS", "Почали"), ("IN_PROGRESS", "У вівторок"),
        ("IN_PROGRESS", "Асфальт завезли"), ("FIXED", "Готово")]


def test_updates_filter_by_dates(web, pothole):
    report_transition(report_id=pothole.pk, to_status=Status.IN_PROGRESS, system=True,
                      note="Почали")
    ReportEvent.objects.filter(report=pothole, type="status").update(
        created=timezone.now() - timedelta(days=10))
    report_transition(report_id=pothole.pk, to_status=Status.RESOLVED, system=True,
                      note="Готово")

    def notes(**params):
        response = web.get(f"{BASE}/servicerequestupdates.json", params)
        assert response.status_code == 200
        return [u["description"] for u in items(response, "json", "service_request_updates",
                                                  "request_update")]

    week_ago = timezone.localtime(timezone.now() - timedelta(days=7)).isoformat()
    assert notes(start_date=week_ago) == ["Готово"]
    assert notes(end_date=week_ago) == ["Почали"]
    assert notes() == ["Почали", "Готово"]
    assert notes(start_date=week_ago, page_size="1", page="2") == []


def test_updates_of_hidden_reports_are_not_listed(web, pothole):
    report_transition(report_id=pothole.pk, to_status=Status.IN_PROGRESS, system=True,
                      note="Почали")
    pothole.is_hidden = True
    pothole.save()
    response = web.get(f"{BASE}/servicerequestupdates.json")
    assert items(response, "json", "service_request_updates", "request_update") == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_updates_of_reports_awaiting_moderation_are_not_listed(web, city, users, settings,
                                                               fmt):
    # given a report awaiting pre-moderation that its department already wrote a note on
    settings.PREMODERATION = True
    waiting = report_create(category=city.pothole, location=city.centre, description="Яма")
    assert waiting.status == Status.MODERATION
    report_note_add(report_id=waiting.pk, actor=users["roads"], public_note="Бачимо")

    def listed():
        response = web.get(f"{BASE}/servicerequestupdates.{fmt}",
                           {"service_request_id": str(waiting.pk)})
        assert response.status_code == 200
        return [(u["status"], u["description"])
                for u in items(response, fmt, "service_request_updates", "request_update")]

    # then no update of it is public
    assert listed() == []
    # until a moderator publishes it: then the note (made while it waited) and the publication
    report_transition(report_id=waiting.pk, actor=users["moderator"], to_status=Status.ASSIGNED)
    assert listed() == [("FOR_TRIAGE", "Бачимо"), ("OPEN", None)]


def test_updates_bad_dates_are_400(web, city):
    response = web.get(f"{BASE}/servicerequestupdates.xml", {"start_date": "soon"})
    assert response.status_code == 400
    errors(response, "xml")


@pytest.mark.parametrize("count", [2, 30])
def test_updates_query_count_does_not_grow(web, key, city, count,
                                           django_assert_max_num_queries):
    for i in range(count):
        report = report_create(category=city.pothole, location=f.offset(city.centre, 5 * i, 0),
                               description=f"Яма {i}")
        report_transition(report_id=report.pk, to_status=Status.IN_PROGRESS, system=True,
                          note=f"Почали {i}")
        report_note_add(report_id=report.pk, system=True, public_note=f"Нотатка {i}")
    for fmt in FORMATS:
        with django_assert_max_num_queries(1):
            response = web.get(f"{BASE}/servicerequestupdates.{fmt}")
        found = items(response, fmt, "service_request_updates", "request_update")
        assert len(found) == 2 * count
        assert {u["status"] for u in found} == {"IN_PROGRESS"}
