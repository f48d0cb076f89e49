"""The workflow: the one service that changes a status (`report_transition`, checked
against `reports.workflow.TRANSITIONS`), and the other staff actions on a ticket (reassign,
assign, accept, extend the deadline, notes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from geocity.errors import Conflict, Forbidden, ValidationFailed
from geocity.hooks import enqueue
from layers.models import Department

from .. import sla
from ..models import Photo, Report, ReportEvent, Subscription, Supporter
from ..roles import department_ids, roles_for
from ..tasks import send_merge_notice
from ..workflow import OPEN_STATUSES, REOPEN_TRANSITIONS, TRANSITIONS, Role, Status
from .common import (
    HUMAN_ROLES,
    Event,
    actor_role,
    announce_change,
    event_write,
    lock_report,
    notify_on_commit,
    photos_inspect,
    photos_store,
)

User = get_user_model()

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
    inspected = photos_inspect(photos)
    with transaction.atomic():
        report = lock_report(report_id)
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
        event = event_write(
            report, Event.STATUS, actor=actor, role=actor_role(roles), now=now,
            from_status=from_status, to_status=target_status,
            public_note=public_note,
            internal_note=internal_note.strip() or (
                reason.strip() if target_status != Status.REJECTED else ""
            ),
            data={"public": transition.public, "reason": reason.strip(),
                  **({"duplicate_of": target.pk} if target else {})},
        )
        if target is not None:
            _merge_into(report, target, actor=actor, now=now)
        if inspected:
            photos_store(report, photos, inspected, kind=Photo.Kind.AFTER, actor=actor)
        if transition.public:
            notify_on_commit(event)
        announce_change()
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
    event_write(target, Event.MERGED, actor=actor, now=now,
                data={"duplicate": duplicate.pk, "supporters_moved": moved, "public": True},
                public_note="")
    transaction.on_commit(lambda: enqueue(send_merge_notice, duplicate.pk, target.pk))


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
        report = lock_report(report_id)
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
        event = event_write(report, Event.REASSIGNED, actor=actor, role=actor_role(roles), now=now,
                            from_status=from_status, to_status=report.status,
                            from_department=old_department, to_department=department,
                            internal_note=reason.strip(), data={"public": True})
        notify_on_commit(event)
        announce_change()
    return report


def report_accept(*, report_id: int, actor) -> Report:
    """A clerk takes the ticket: it becomes theirs (assignee) and the department is on it."""
    return report_assign(report_id=report_id, actor=actor, assignee_id=actor.pk, accepted=True)


def report_assign(*, report_id: int, actor, assignee_id: int | None,
                  accepted: bool = False) -> Report:
    """Give a ticket to a colleague of the same department (or take it away: None)."""
    with transaction.atomic():
        report = lock_report(report_id)
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
        event_write(report, Event.ACCEPTED if accepted else Event.ASSIGNEE, actor=actor,
                    role=actor_role(roles), now=now,
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
        report = lock_report(report_id)
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
        event = event_write(report, Event.SLA_EXTENDED, actor=actor, role=actor_role(roles),
                            now=now, public_note=reason.strip(),
                       data={"from": old_due.isoformat(), "to": new_due.isoformat(),
                             "public": True})
        notify_on_commit(event)
    return report


def report_note_add(
    *,
    report_id: int,
    actor=None,
    public_note: str = "",
    internal_note: str = "",
    data: dict | None = None,
    system: bool = False,
) -> ReportEvent:
    """A note on the timeline without a status change (staff, moderators; `system` for an
    integration acting on its own, such as an Open311 back-office). A public note is
    announced to subscribers."""
    public_note, internal_note = (public_note or "").strip(), (internal_note or "").strip()
    if not public_note and not internal_note:
        raise ValidationFailed("The note is empty.", code="note_required",
                               fields={"note": ["Write a note."]})
    with transaction.atomic():
        report = lock_report(report_id)
        roles = {Role.SYSTEM} if system else roles_for(actor, report)
        if not roles & {Role.STAFF, Role.MODERATOR, Role.ADMIN, Role.SYSTEM}:
            raise Forbidden("Only the department's staff may add notes.", code="note_forbidden")
        now = timezone.now()
        event = event_write(report, Event.NOTE, actor=actor, role=actor_role(roles), now=now,
                            public_note=public_note, internal_note=internal_note,
                            data={**(data or {}), "public": bool(public_note)})
        Report.objects.filter(pk=report.pk).update(updated=now)
        if public_note:
            notify_on_commit(event)
    return event

