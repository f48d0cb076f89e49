"""Writes on reports. Every change locks the row, checks the rules, saves with
`update_fields`, writes a `ReportEvent`, and schedules side effects with `on_commit`.

Preconditions are checked here, not in views: every caller (REST, Open311, pages, admin
actions, tasks) gets the same rules and the same domain errors.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from geocity.errors import Conflict, Forbidden, NotFound, ValidationFailed
from layers.geometry import to_storage
from layers.models import Department
from layers.services import RoutingDecision, route_report

from . import sla
from .attributes import clean_attributes
from .models import (
    DESCRIPTION_MAX,
    ApiClient,
    Category,
    Comment,
    IdempotencyKey,
    Photo,
    Report,
    ReportEvent,
    Subscription,
    Supporter,
)
from .photos import InspectedPhoto, photo_inspect
from .roles import department_ids, is_moderator, is_read_only, roles_for
from .selectors import idempotent_report
from .workflow import (
    OPEN_STATUSES,
    REOPEN_TRANSITIONS,
    TRANSITIONS,
    Role,
    Status,
)

logger = logging.getLogger(__name__)
User = get_user_model()
Event = ReportEvent.Type

HUMAN_ROLES = {Role.REPORTER, Role.STAFF, Role.MODERATOR, Role.ADMIN}


@dataclass(frozen=True)
class Contact:
    name: str = ""
    email: str = ""
    phone: str = ""


def _on_commit_bump_tiles() -> None:
    from tiles.cache import bump_layer_version

    transaction.on_commit(lambda: bump_layer_version("reports"))


def _on_commit_notify(event: ReportEvent) -> None:
    from .tasks import send_event_notifications

    transaction.on_commit(lambda: send_event_notifications.delay(event.pk))


def _event(report: Report, type_: str, *, actor=None, role: str = "", now=None, **fields):
    return ReportEvent.objects.create(
        report=report,
        type=type_,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_role=role,
        created=now or timezone.now(),
        **fields,
    )


def _lock(report_id: int) -> Report:
    try:
        return Report.objects.select_for_update(of=("self",)).get(pk=report_id)
    except Report.DoesNotExist as exc:
        raise NotFound(f"Report {report_id} does not exist.", code="report_not_found") from exc


def _actor_role(roles: set[Role]) -> str:
    for role in (Role.STAFF, Role.MODERATOR, Role.ADMIN, Role.REPORTER, Role.OFFICIAL,
                 Role.SYSTEM):
        if role in roles:
            return role.value
    return ""


# --- Creation -----------------------------------------------------------------------------

def _inspect_all(photos: Sequence) -> list[InspectedPhoto]:
    return [
        photo_inspect(f, name=getattr(f, "name", None) or f"photo {i + 1}")
        for i, f in enumerate(photos)
    ]


def _validate_photos(photos: Sequence, *, category: Category) -> list[InspectedPhoto]:
    if len(photos) > settings.PHOTO_MAX_PER_REPORT:
        raise ValidationFailed(
            f"At most {settings.PHOTO_MAX_PER_REPORT} photos per report.",
            code="too_many_photos",
            fields={"photos": [f"At most {settings.PHOTO_MAX_PER_REPORT} photos."]},
        )
    if category.photo_required and not photos:
        raise ValidationFailed(
            f"Category {category.service_code} needs a photo.",
            code="photo_required",
            fields={"photos": ["A photo is required for this category."]},
        )
    return _inspect_all(photos)


def _store_photos(report: Report, photos: Sequence, inspected: Sequence[InspectedPhoto], *,
                  kind: str, actor=None) -> list[Photo]:
    from .tasks import process_photo

    stored = []
    for upload, info in zip(photos, inspected, strict=True):
        upload.seek(0)
        photo = Photo(
            report=report,
            kind=kind,
            format=info.format,
            width=info.width,
            height=info.height,
            gps=Point(info.gps[1], info.gps[0], srid=settings.API_SRID) if info.gps else None,
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,
        )
        name = f"{report.pk}-{secrets.token_hex(8)}.{info.format}"
        photo.original.save(name, ContentFile(upload.read()), save=False)
        photo.save()
        stored.append(photo)
        transaction.on_commit(lambda pk=photo.pk: process_photo.delay(pk))
    return stored


def _apply_routing(report: Report, decision: RoutingDecision, now) -> None:
    report.department = decision.department
    report.district_id = decision.district_id
    report.routing_rule = decision.rule
    report.routing_explanation_uk = decision.explanation_uk
    report.routing_explanation_en = decision.explanation_en
    if decision.is_hazard:
        report.is_hazard = True
        report.priority = Report.Priority.URGENT


def report_create(
    *,
    category: Category,
    location: Point,
    description: str,
    address: str = "",
    attributes: dict | None = None,
    reporter=None,
    contact: Contact | None = None,
    source: str = Report.Source.WEB,
    lang: str = "uk",
    photos: Sequence = (),
    api_client: ApiClient | None = None,
    idempotency: tuple[str, str, str] | None = None,
) -> Report:
    """Create, route and (when pre-moderation is on) queue a report, all or nothing.

    `idempotency` is (scope, key, request hash): a retry with the same key returns the
    report the first request made; the same key with a different body is a Conflict.
    """
    if idempotency:
        existing = idempotent_report(*idempotency)
        if existing is not None:
            return existing
    if not category.is_active:
        raise ValidationFailed(f"Category {category.service_code} is not active.",
                               code="unknown_category",
                               fields={"category": ["This category is not accepted."]})
    description = (description or "").strip()
    if not description:
        raise ValidationFailed("A description is required.", code="description_required",
                               fields={"description": ["Describe the problem."]})
    if len(description) > DESCRIPTION_MAX:
        raise ValidationFailed(
            f"The description is {len(description)} characters; the limit is {DESCRIPTION_MAX}.",
            code="description_too_long",
            fields={"description": [f"At most {DESCRIPTION_MAX} characters."]},
        )
    answers = clean_attributes(category, attributes)
    inspected = _validate_photos(photos, category=category)
    location = to_storage(location)
    decision = route_report(location=location, category=category)
    contact = contact or Contact()
    now = timezone.now()
    reporter = reporter if reporter is not None and reporter.is_authenticated else None

    with transaction.atomic():
        report = Report(
            location=location,
            address=address.strip()[:300],
            description=description,
            category=category,
            attributes=answers,
            status=Status.NEW,
            reporter=reporter,
            contact_name=contact.name.strip()[:200],
            contact_email=(contact.email or (reporter.email if reporter else "")).strip(),
            contact_phone=contact.phone.strip()[:32],
            source=source,
            lang=lang if lang in ("uk", "en") else "uk",
            api_client=api_client,
            created=now,
            updated=now,
        )
        _apply_routing(report, decision, now)
        report.due_at = sla.initial_due_at(category, now, is_hazard=report.is_hazard)
        if report.department is not None:
            if settings.PREMODERATION and not report.is_hazard:
                report.status = Status.MODERATION
            else:
                report.status = Status.ASSIGNED
                report.assigned_at = now
        report.save()
        if idempotency:
            scope, key, request_hash = idempotency
            try:
                with transaction.atomic():
                    IdempotencyKey.objects.create(
                        scope=scope, key=key, request_hash=request_hash, report=report
                    )
            except IntegrityError:
                # A concurrent retry won the race: undo ours, answer with theirs.
                transaction.set_rollback(True)
                raise _IdempotentRace() from None
        _event(report, Event.CREATED, actor=reporter, role="reporter" if reporter else "",
               now=now, to_status=Status.NEW,
               data={"source": source, "public": True})
        _event(report, Event.ROUTED, now=now, role=Role.SYSTEM, from_status=Status.NEW,
               to_status=report.status, to_department=report.department,
               data={"rule": decision.rule, "public": True,
                     "hazard_zone_ids": decision.hazard_zone_ids})
        _store_photos(report, photos, inspected, kind=Photo.Kind.RESIDENT, actor=reporter)
        if report.contact_email:
            Subscription.objects.get_or_create(
                report=report, email=report.contact_email.lower(),
                defaults={"user": reporter, "lang": report.lang, "confirmed_at": now},
            )
        _on_commit_bump_tiles()
        from .tasks import send_report_received

        transaction.on_commit(lambda: send_report_received.delay(report.pk))
    return report


class _IdempotentRace(Exception):
    pass


def request_fingerprint(payload: dict) -> str:
    """A stable hash of a request body, to tell a retry from a different request."""
    import json

    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


def report_create_idempotent(*, idempotency: tuple[str, str, str], **kwargs) -> tuple[Report, bool]:
    """`report_create` for a client's retries: returns (report, created)."""
    existing = idempotent_report(*idempotency)
    if existing is not None:
        return existing, False
    try:
        return report_create(idempotency=idempotency, **kwargs), True
    except _IdempotentRace:
        report = idempotent_report(*idempotency)
        if report is None:  # pragma: no cover - the winner's row must exist now
            raise
        return report, False


# --- The workflow -------------------------------------------------------------------------

def _resolve_duplicate_target(report: Report, duplicate_of_id: int | None) -> Report:
    if not duplicate_of_id:
        raise ValidationFailed("duplicate_of is required to mark a duplicate.",
                               code="duplicate_of_required",
                               fields={"duplicate_of": ["Choose the original report."]})
    try:
        target = Report.objects.get(pk=duplicate_of_id)
    except (Report.DoesNotExist, ValueError, TypeError) as exc:
        raise ValidationFailed(f"Report {duplicate_of_id} does not exist.",
                               code="duplicate_of_invalid",
                               fields={"duplicate_of": ["No such report."]}) from exc
    seen = {report.pk}
    while target.status == Status.DUPLICATE and target.duplicate_of_id:
        if target.pk in seen:
            break
        seen.add(target.pk)
        target = Report.objects.get(pk=target.duplicate_of_id)
    if target.pk == report.pk:
        raise ValidationFailed("A report cannot be a duplicate of itself.",
                               code="duplicate_of_invalid",
                               fields={"duplicate_of": ["Choose another report."]})
    return target


def report_transition(
    *,
    report_id: int,
    actor=None,
    to_status: str,
    note: str = "",
    internal_note: str = "",
    reason: str = "",
    duplicate_of_id: int | None = None,
    system: bool = False,
    api_client: ApiClient | None = None,
    external_id: str = "",
    photos: Sequence = (),
) -> Report:
    """Move a report to `to_status` if the transition table allows it for this actor.

    Errors: NotFound; Conflict(`invalid_transition`) when no such transition exists from the
    current status (also what the loser of a race gets); Forbidden when it exists but not for
    this actor; ValidationFailed when a required field (reason, note, duplicate_of) is missing.
    """
    try:
        target_status = Status(to_status)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown status {to_status!r}.", code="invalid_status",
                               fields={"status": [f"Unknown status {to_status!r}."]}) from exc
    if len(photos) > settings.PHOTO_MAX_PER_REPORT:
        raise ValidationFailed(f"At most {settings.PHOTO_MAX_PER_REPORT} photos.",
                               code="too_many_photos", fields={"photos": ["Too many photos."]})
    inspected = _inspect_all(photos)
    with transaction.atomic():
        report = _lock(report_id)
        from_status = Status(report.status)
        transition = TRANSITIONS.get((from_status, target_status))
        if transition is None:
            raise Conflict(
                f"Report {report.pk} cannot go from {from_status.value} to "
                f"{target_status.value}.",
                code="invalid_transition",
                extra={"status": from_status.value},
            )
        roles = {Role.SYSTEM} if system else roles_for(actor, report)
        if not roles & transition.roles:
            raise Forbidden(
                f"You may not move report {report.pk} from {from_status.value} to "
                f"{target_status.value}.",
                code="transition_forbidden",
            )
        now = timezone.now()
        if (from_status, target_status) in REOPEN_TRANSITIONS and roles == {Role.REPORTER}:
            since = report.resolved_at or report.closed_at or report.updated
            if since and now - since > timedelta(days=settings.REOPEN_DAYS):
                raise Conflict(
                    f"Reports can be reopened within {settings.REOPEN_DAYS} days of resolution.",
                    code="reopen_window_closed",
                )
        provided = {"reason": reason.strip(), "note": note.strip(),
                    "duplicate_of": duplicate_of_id}
        missing = [f for f in transition.requires if not provided[f]]
        if missing:
            raise ValidationFailed(
                f"{', '.join(missing)} required for {target_status.value}.",
                code=f"{missing[0]}_required",
                fields={f: ["This field is required."] for f in missing},
            )
        if report.department_id is None and target_status in (
            Status.ASSIGNED, Status.IN_PROGRESS, Status.RESOLVED
        ):
            raise Conflict("The report has no department; route or reassign it first.",
                           code="no_department")

        fields = {"status", "updated"}
        report.status = target_status
        report.updated = now
        if from_status == Status.NEEDS_INFO and report.sla_paused_at:
            if report.due_at:
                report.due_at, paused = sla.resumed_due_at(report.due_at, report.sla_paused_at, now)
                report.sla_paused_seconds += paused
                fields |= {"due_at", "sla_paused_seconds"}
            report.sla_paused_at = None
            fields.add("sla_paused_at")
        if target_status == Status.NEEDS_INFO:
            report.sla_paused_at = now
            fields.add("sla_paused_at")
        if target_status == Status.ASSIGNED and from_status in (Status.NEW, Status.MODERATION):
            report.assigned_at = now
            fields.add("assigned_at")
        if target_status == Status.RESOLVED:
            report.resolved_at = now
            fields.add("resolved_at")
        if target_status in (Status.CLOSED, Status.REJECTED, Status.DUPLICATE):
            report.closed_at = now
            fields.add("closed_at")
        is_reopen = (from_status, target_status) in REOPEN_TRANSITIONS
        if is_reopen or from_status in (Status.REJECTED, Status.DUPLICATE):
            if is_reopen:
                report.reopen_count += 1
            report.resolved_at = None
            report.closed_at = None
            report.due_at = now + sla.sla_duration(report.category, is_hazard=report.is_hazard)
            report.duplicate_of = None
            fields |= {"reopen_count", "resolved_at", "closed_at", "due_at", "duplicate_of"}
        target = None
        if target_status == Status.DUPLICATE:
            target = _resolve_duplicate_target(report, duplicate_of_id)
            report.duplicate_of = target
            fields.add("duplicate_of")
        if roles & HUMAN_ROLES and report.touched_at is None:
            report.touched_at = now
            fields.add("touched_at")
        report.save(update_fields=sorted(fields))

        public_note = note.strip() or (reason.strip() if target_status == Status.REJECTED else "")
        event = _event(
            report, Event.STATUS, actor=actor, role=_actor_role(roles), now=now,
            from_status=from_status, to_status=target_status,
            public_note=public_note,
            internal_note=internal_note.strip() or (
                reason.strip() if target_status != Status.REJECTED else ""
            ),
            data={"public": transition.public, "reason": reason.strip(),
                  **({"duplicate_of": target.pk} if target else {})},
            external_id=external_id, api_client=api_client,
        )
        if target is not None:
            _merge_into(report, target, actor=actor, now=now)
        if inspected:
            _store_photos(report, photos, inspected, kind=Photo.Kind.AFTER, actor=actor)
        if transition.public:
            _on_commit_notify(event)
        _on_commit_bump_tiles()
    return report


def _merge_into(duplicate: Report, target: Report, *, actor, now) -> None:
    """Move supporters (and the duplicate's reporter) to the original; tell them."""
    moved = 0
    for supporter in Supporter.objects.filter(report=duplicate):
        clash = Supporter.objects.filter(report=target)
        if supporter.user_id:
            clash = clash.filter(user_id=supporter.user_id)
        else:
            clash = clash.filter(email=supporter.email)
        if clash.exists():
            supporter.delete()
            continue
        supporter.report = target
        supporter.save(update_fields=["report"])
        moved += 1
    reporter_email = (duplicate.contact_email or "").lower()
    reporter_is_new = False
    if duplicate.reporter_id and duplicate.reporter_id != target.reporter_id:
        _, reporter_is_new = Supporter.objects.get_or_create(report=target,
                                                             user_id=duplicate.reporter_id)
    elif reporter_email and reporter_email != (target.contact_email or "").lower():
        _, reporter_is_new = Supporter.objects.get_or_create(report=target, email=reporter_email)
    moved += int(reporter_is_new)
    for sub in Subscription.objects.filter(report=duplicate, is_active=True):
        Subscription.objects.get_or_create(
            report=target, email=sub.email,
            defaults={"user": sub.user, "lang": sub.lang, "confirmed_at": sub.confirmed_at},
        )
    total = Supporter.objects.filter(report=target).count()
    Report.objects.filter(pk=target.pk).update(supporters_count=total, updated=now)
    Report.objects.filter(pk=duplicate.pk).update(supporters_count=0)
    _event(target, Event.MERGED, actor=actor, now=now,
           data={"duplicate": duplicate.pk, "supporters_moved": moved, "public": True},
           public_note="")
    from .tasks import send_merge_notice

    transaction.on_commit(lambda: send_merge_notice.delay(duplicate.pk, target.pk))


def report_reassign(*, report_id: int, actor, department_id: int, reason: str) -> Report:
    """Hand a report to another department. Staff of its department, moderators, admins."""
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required to reassign.", code="reason_required",
                               fields={"reason": ["This field is required."]})
    try:
        department = Department.objects.get(pk=department_id, is_active=True)
    except (Department.DoesNotExist, ValueError, TypeError) as exc:
        raise ValidationFailed(f"Department {department_id} does not exist.",
                               code="department_invalid",
                               fields={"department": ["No such department."]}) from exc
    with transaction.atomic():
        report = _lock(report_id)
        roles = roles_for(actor, report)
        if not roles & {Role.STAFF, Role.MODERATOR, Role.ADMIN}:
            raise Forbidden("Only the department's staff or a moderator may reassign.",
                            code="reassign_forbidden")
        if report.status not in OPEN_STATUSES:
            raise Conflict(f"A {report.status} report cannot be reassigned.",
                           code="invalid_transition", extra={"status": report.status})
        if report.department_id == department.pk:
            raise Conflict("The report already belongs to that department.",
                           code="same_department")
        now = timezone.now()
        old_department = report.department
        from_status = report.status
        report.department = department
        report.assignee = None
        report.routing_rule = Report.RoutingRule.MANUAL
        report.routing_explanation_uk = (
            f"Передано вручну до «{department.name_uk}»: {reason.strip()}")
        report.routing_explanation_en = (
            f"Reassigned by staff to “{department.name_en or department.name_uk}”: "
            f"{reason.strip()}"
        )
        report.updated = now
        report.touched_at = report.touched_at or now
        fields = ["department", "assignee", "routing_rule", "routing_explanation_uk",
                  "routing_explanation_en", "updated", "touched_at"]
        if report.status in (Status.NEW, Status.IN_PROGRESS):
            report.status = Status.ASSIGNED
            report.assigned_at = now
            fields += ["status", "assigned_at"]
        report.save(update_fields=fields)
        event = _event(report, Event.REASSIGNED, actor=actor, role=_actor_role(roles), now=now,
                       from_status=from_status, to_status=report.status,
                       from_department=old_department, to_department=department,
                       internal_note=reason.strip(), data={"public": True})
        _on_commit_notify(event)
        _on_commit_bump_tiles()
    return report


def report_accept(*, report_id: int, actor) -> Report:
    """A clerk takes the ticket: it becomes theirs (assignee) and the department is on it."""
    return report_assign(report_id=report_id, actor=actor, assignee_id=actor.pk, accepted=True)


def report_assign(*, report_id: int, actor, assignee_id: int | None,
                  accepted: bool = False) -> Report:
    """Give a ticket to a colleague of the same department (or take it away: None)."""
    with transaction.atomic():
        report = _lock(report_id)
        roles = roles_for(actor, report)
        if not roles & {Role.STAFF, Role.MODERATOR, Role.ADMIN}:
            raise Forbidden("Only the department's staff may assign its tickets.",
                            code="assign_forbidden")
        if report.status not in OPEN_STATUSES:
            raise Conflict(f"A {report.status} report cannot be assigned.",
                           code="invalid_transition", extra={"status": report.status})
        assignee = None
        if assignee_id is not None:
            assignee = User.objects.filter(pk=assignee_id, is_active=True).first()
            if assignee is None or report.department_id not in department_ids(assignee):
                raise ValidationFailed("The assignee must be a member of the report's department.",
                                       code="assignee_invalid",
                                       fields={"assignee": ["Not a member of this department."]})
        now = timezone.now()
        report.assignee = assignee
        report.updated = now
        report.touched_at = report.touched_at or now
        report.save(update_fields=["assignee", "updated", "touched_at"])
        _event(report, Event.ACCEPTED if accepted else Event.ASSIGNEE, actor=actor,
               role=_actor_role(roles), now=now,
               data={"assignee": assignee.pk if assignee else None,
                     "assignee_name": assignee.get_full_name() or assignee.get_username()
                     if assignee else "", "public": False})
    return report


def report_extend_sla(*, report_id: int, actor, days: int, reason: str) -> Report:
    """Extend the deadline (law: at most SLA_MAX_DAYS in total), with the reason logged."""
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required to extend the deadline.",
                               code="reason_required", fields={"reason": ["Required."]})
    if not isinstance(days, int) or days < 1:
        raise ValidationFailed("days must be a positive whole number.", code="invalid",
                               fields={"days": ["A positive whole number."]})
    with transaction.atomic():
        report = _lock(report_id)
        roles = roles_for(actor, report)
        if not roles & {Role.STAFF, Role.MODERATOR, Role.ADMIN}:
            raise Forbidden("Only the department's staff may extend the deadline.",
                            code="extend_forbidden")
        if report.status not in OPEN_STATUSES or report.due_at is None:
            raise Conflict("Only open reports with a deadline can be extended.",
                           code="invalid_transition", extra={"status": report.status})
        new_due = report.due_at + timedelta(days=days)
        limit = sla.max_due_at(report.created, report.sla_paused_seconds)
        if new_due > limit:
            raise ValidationFailed(
                f"The law allows at most {settings.SLA_MAX_DAYS} days in total; the latest "
                f"possible deadline is {timezone.localtime(limit):%Y-%m-%d %H:%M}.",
                code="sla_limit", fields={"days": ["Beyond the legal maximum."]},
            )
        now = timezone.now()
        old_due = report.due_at
        report.due_at = new_due
        report.sla_extended = True
        report.updated = now
        report.save(update_fields=["due_at", "sla_extended", "updated"])
        event = _event(report, Event.SLA_EXTENDED, actor=actor, role=_actor_role(roles), now=now,
                       public_note=reason.strip(),
                       data={"from": old_due.isoformat(), "to": new_due.isoformat(),
                             "public": True})
        _on_commit_notify(event)
    return report


def report_note_add(
    *,
    report_id: int,
    actor=None,
    public_note: str = "",
    internal_note: str = "",
    data: dict | None = None,
    api_client: ApiClient | None = None,
    external_id: str = "",
) -> ReportEvent:
    """A note on the timeline without a status change (staff, moderators, back-offices).

    A public note is announced to subscribers. `external_id` makes a back-office push
    idempotent per client (a repeat is a Conflict).
    """
    public_note, internal_note = (public_note or "").strip(), (internal_note or "").strip()
    if not public_note and not internal_note:
        raise ValidationFailed("The note is empty.", code="note_required",
                               fields={"note": ["Write a note."]})
    with transaction.atomic():
        report = _lock(report_id)
        roles = {Role.SYSTEM} if api_client is not None else roles_for(actor, report)
        if not roles & {Role.STAFF, Role.MODERATOR, Role.ADMIN, Role.SYSTEM}:
            raise Forbidden("Only the department's staff may add notes.", code="note_forbidden")
        if external_id and ReportEvent.objects.filter(api_client=api_client,
                                                      external_id=external_id).exists():
            raise Conflict(f"Update {external_id} was already received.",
                           code="duplicate_update_id")
        now = timezone.now()
        event = _event(report, Event.NOTE, actor=actor, role=_actor_role(roles), now=now,
                       public_note=public_note, internal_note=internal_note,
                       data={**(data or {}), "public": bool(public_note)},
                       external_id=external_id, api_client=api_client)
        Report.objects.filter(pk=report.pk).update(updated=now)
        if public_note:
            _on_commit_notify(event)
    return event


def _refuse_read_only(user) -> None:
    """Officials read everything and change nothing, residents' actions included."""
    if user is not None and is_read_only(user):
        raise Forbidden("Officials have read-only access.", code="read_only_role")


# --- Residents' actions -------------------------------------------------------------------

def report_support(*, report_id: int, user=None, email: str = "") -> tuple[Report, bool]:
    """"Me too", once per person: an account, or an e-mail for visitors. Subscribes them."""
    email = (email or "").strip().lower()
    user = user if user is not None and user.is_authenticated else None
    _refuse_read_only(user)
    if user is None and not email:
        raise ValidationFailed("Sign in or give an e-mail to support a report.",
                               code="email_required", fields={"email": ["Required."]})
    with transaction.atomic():
        report = _lock(report_id)
        if report.is_hidden:
            raise NotFound(f"Report {report_id} does not exist.", code="report_not_found")
        if report.status not in OPEN_STATUSES:
            raise Conflict("Only open reports can be supported.", code="report_closed")
        if user is not None and report.reporter_id == user.pk:
            raise Conflict("You reported this problem yourself.", code="own_report")
        lookup = {"user": user} if user else {"email": email}
        _, created = Supporter.objects.get_or_create(report=report, **lookup)
        if created:
            Report.objects.filter(pk=report.pk).update(supporters_count=F("supporters_count") + 1)
            report.refresh_from_db(fields=["supporters_count"])
            _event(report, Event.SUPPORTED, actor=user, data={"public": False})
            address = (user.email if user else email)
            if address:
                _subscribe(report, address, user=user, lang=report.lang)
    return report, created


def comment_create(*, report_id: int, author=None, text: str, author_name: str = "") -> Comment:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("The comment is empty.", code="comment_required",
                               fields={"text": ["Write a comment."]})
    if len(text) > 2000:
        raise ValidationFailed("Comments are limited to 2000 characters.", code="comment_too_long",
                               fields={"text": ["At most 2000 characters."]})
    author = author if author is not None and author.is_authenticated else None
    if author is None:
        raise Forbidden("Sign in to comment.", code="not_authenticated")
    _refuse_read_only(author)
    with transaction.atomic():
        report = _lock(report_id)
        if report.is_hidden and not is_moderator(author):
            raise NotFound(f"Report {report_id} does not exist.", code="report_not_found")
        roles = roles_for(author, report)
        comment = Comment.objects.create(
            report=report,
            author=author,
            author_name=(author_name or author.get_full_name() or author.get_username())[:200],
            text=text,
            is_staff_reply=bool(roles & {Role.STAFF, Role.MODERATOR, Role.ADMIN}),
        )
        Report.objects.filter(pk=report.pk).update(updated=timezone.now())
    return comment


def _subscribe(report: Report, email: str, *, user=None, lang: str = "uk") -> Subscription:
    """Subscribe `email`; an address that is not the signed-in user's own must be confirmed
    from a mailed link first (double opt-in)."""
    email = email.strip().lower()
    own = user is not None and user.is_authenticated and (user.email or "").lower() == email
    sub, created = Subscription.objects.get_or_create(
        report=report, email=email,
        defaults={"user": user if own else None, "lang": lang,
                  "confirmed_at": timezone.now() if own else None},
    )
    if not created and not sub.is_active:
        sub.is_active = True
        sub.save(update_fields=["is_active"])
    if sub.confirmed_at is None and (created or not sub.is_active):
        from .tasks import send_subscription_confirmation

        transaction.on_commit(lambda: send_subscription_confirmation.delay(sub.pk))
    return sub


def subscription_create(*, report_id: int, email: str, user=None, lang: str = "uk") -> Subscription:
    """Follow a report by e-mail. Visitors confirm their address from the mailed link."""
    _refuse_read_only(user)
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        raise ValidationFailed("A valid e-mail is required.", code="email_required",
                               fields={"email": ["A valid e-mail is required."]})
    report = Report.objects.filter(pk=report_id, is_hidden=False).first()
    if report is None:
        raise NotFound(f"Report {report_id} does not exist.", code="report_not_found")
    return _subscribe(report, email, user=user, lang=lang)


def subscription_confirm(*, token) -> Subscription:
    sub = Subscription.objects.filter(token=token).first()
    if sub is None:
        raise NotFound("Unknown confirmation link.", code="subscription_not_found")
    if sub.confirmed_at is None or not sub.is_active:
        sub.confirmed_at = sub.confirmed_at or timezone.now()
        sub.is_active = True
        sub.save(update_fields=["confirmed_at", "is_active"])
    return sub


def subscription_cancel(*, token) -> Subscription:
    sub = Subscription.objects.filter(token=token).first()
    if sub is None:
        raise NotFound("Unknown unsubscribe link.", code="subscription_not_found")
    if sub.is_active:
        sub.is_active = False
        sub.save(update_fields=["is_active"])
    return sub


# --- Moderation ---------------------------------------------------------------------------

def report_moderate(
    *,
    report_id: int,
    actor,
    is_hidden: bool | None = None,
    description: str | None = None,
    category: Category | None = None,
    location: Point | None = None,
    note: str = "",
) -> Report:
    """Hide, redact, or fix the category or location. A new category or place re-routes."""
    if not is_moderator(actor):
        raise Forbidden("Only moderators may edit reports.", code="moderate_forbidden")
    with transaction.atomic():
        report = _lock(report_id)
        now = timezone.now()
        changes: dict[str, list] = {}
        fields = {"updated"}
        if is_hidden is not None and is_hidden != report.is_hidden:
            report.is_hidden = is_hidden
            fields.add("is_hidden")
            _event(report, Event.HIDDEN if is_hidden else Event.UNHIDDEN, actor=actor,
                   role=Role.MODERATOR, now=now, internal_note=note, data={"public": False})
        if description is not None and description.strip() != report.description:
            if not description.strip() or len(description) > DESCRIPTION_MAX:
                raise ValidationFailed("The description must be 1-4000 characters.",
                                       code="invalid", fields={"description": ["1-4000."]})
            changes["description"] = ["(redacted)", "(redacted)"]
            report.description = description.strip()
            fields.add("description")
        reroute = False
        if category is not None and category.pk != report.category_id:
            changes["category"] = [report.category.service_code, category.service_code]
            report.category = category
            report.attributes = {}
            fields |= {"category", "attributes"}
            reroute = True
        if location is not None:
            location = to_storage(location)
            if not location.equals_exact(report.location, tolerance=0.01):
                changes["location"] = ["moved", round(location.distance(report.location), 1)]
                report.location = location
                fields.add("location")
                reroute = True
        if reroute and report.status in OPEN_STATUSES:
            decision = route_report(location=report.location, category=report.category)
            old_department = report.department
            _apply_routing(report, decision, now)
            fields |= {"department", "district", "routing_rule", "routing_explanation_uk",
                       "routing_explanation_en", "is_hazard", "priority"}
            if report.department_id != (old_department.pk if old_department else None):
                report.assignee = None
                fields.add("assignee")
                if report.department is None:
                    report.status = Status.NEW
                elif report.status == Status.NEW:
                    report.status = Status.ASSIGNED
                    report.assigned_at = now
                    fields.add("assigned_at")
                fields.add("status")
                _event(report, Event.REASSIGNED, actor=actor, role=Role.MODERATOR, now=now,
                       from_department=old_department, to_department=report.department,
                       internal_note=decision.explanation_uk, data={"public": True,
                                                                    "rule": decision.rule})
        report.updated = now
        report.touched_at = report.touched_at or now
        fields.add("touched_at")
        report.save(update_fields=sorted(fields))
        if changes:
            _event(report, Event.EDITED, actor=actor, role=Role.MODERATOR, now=now,
                   internal_note=note, data={"changes": changes, "public": False})
        _on_commit_bump_tiles()
    return report


def photo_add(*, report_id: int, actor, files: Sequence,
              kind: str = Photo.Kind.AFTER) -> list[Photo]:
    """Staff "after" photos (or a reporter's extra ones), within the per-report limit."""
    with transaction.atomic():
        report = _lock(report_id)
        roles = roles_for(actor, report)
        if kind == Photo.Kind.AFTER and not roles & {Role.STAFF, Role.MODERATOR, Role.ADMIN}:
            raise Forbidden("Only the department's staff may add after photos.",
                            code="photo_forbidden")
        if kind == Photo.Kind.RESIDENT and Role.REPORTER not in roles:
            raise Forbidden("Only the reporter may add photos to a report.",
                            code="photo_forbidden")
        existing = report.photos.filter(kind=kind).count()
        if existing + len(files) > settings.PHOTO_MAX_PER_REPORT:
            raise ValidationFailed(
                f"At most {settings.PHOTO_MAX_PER_REPORT} photos of this kind per report.",
                code="too_many_photos", fields={"photos": ["Too many photos."]})
        inspected = _inspect_all(files)
        photos = _store_photos(report, files, inspected, kind=kind, actor=actor)
        _event(report, Event.PHOTO, actor=actor, role=_actor_role(roles),
               data={"count": len(photos), "kind": kind, "public": True})
        Report.objects.filter(pk=report.pk).update(updated=timezone.now())
    return photos


# --- System -------------------------------------------------------------------------------

def reports_auto_close(*, now=None) -> int:
    """Close reports resolved more than AUTO_CLOSE_DAYS ago with no reopen."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.AUTO_CLOSE_DAYS)
    ids = list(
        Report.objects.filter(status=Status.RESOLVED, resolved_at__lt=cutoff)
        .values_list("pk", flat=True)[:5000]
    )
    closed = 0
    for pk in ids:
        try:
            report_transition(report_id=pk, to_status=Status.CLOSED, system=True,
                              note="Закрито автоматично: за відведений час не було повторного "
                                   "відкриття.")
            closed += 1
        except (Conflict, Forbidden, ValidationFailed):
            continue
    return closed


def api_key_create(*, name: str, contact: str = "") -> tuple[ApiClient, str]:
    """A new Open311 client and its key (shown once; only a hash is kept)."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("A client name is required.", code="name_required")
    if ApiClient.objects.filter(name=name).exists():
        raise Conflict(f"An API client named {name!r} already exists.", code="name_taken")
    key = secrets.token_urlsafe(32)
    client = ApiClient.objects.create(
        name=name, contact=contact, key_prefix=key[:8],
        key_hash=hashlib.sha256(key.encode()).hexdigest(),
    )
    return client, key


def api_key_revoke(*, client_id: int) -> ApiClient:
    client = ApiClient.objects.filter(pk=client_id).first()
    if client is None:
        raise NotFound("No such API client.", code="api_client_not_found")
    client.is_active = False
    client.revoked_at = timezone.now()
    client.save(update_fields=["is_active", "revoked_at"])
    return client
