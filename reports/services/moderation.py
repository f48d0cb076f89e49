"""Moderators' edits of a report (hide, redact, re-categorise, move) and added photos."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from geocity.errors import Forbidden, ValidationFailed
from layers.geometry import to_storage
from layers.services import route_report

from ..models import DESCRIPTION_MAX, Category, Photo, Report
from ..roles import is_moderator, roles_for
from ..workflow import OPEN_STATUSES, Role, Status
from .common import (
    Event,
    actor_role,
    announce_change,
    event_write,
    lock_report,
    photos_inspect,
    photos_store,
    routing_apply,
)

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
        report = lock_report(report_id)
        now = timezone.now()
        changes: dict[str, list] = {}
        fields = {"updated"}
        if is_hidden is not None and is_hidden != report.is_hidden:
            report.is_hidden = is_hidden
            fields.add("is_hidden")
            event_write(report, Event.HIDDEN if is_hidden else Event.UNHIDDEN, actor=actor,
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
            routing_apply(report, decision)
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
                event_write(report, Event.REASSIGNED, actor=actor, role=Role.MODERATOR, now=now,
                            from_department=old_department, to_department=report.department,
                            internal_note=decision.explanation_uk, data={"public": True,
                                                                         "rule": decision.rule})
        report.updated = now
        report.touched_at = report.touched_at or now
        fields.add("touched_at")
        report.save(update_fields=sorted(fields))
        if changes:
            event_write(report, Event.EDITED, actor=actor, role=Role.MODERATOR, now=now,
                        internal_note=note, data={"changes": changes, "public": False})
        announce_change()
    return report


def photo_add(*, report_id: int, actor, files: Sequence,
              kind: str = Photo.Kind.AFTER) -> list[Photo]:
    """Staff "after" photos (or a reporter's extra ones), within the per-report limit."""
    with transaction.atomic():
        report = lock_report(report_id)
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
        inspected = photos_inspect(files)
        photos = photos_store(report, files, inspected, kind=kind, actor=actor)
        event_write(report, Event.PHOTO, actor=actor, role=actor_role(roles),
                    data={"count": len(photos), "kind": kind, "public": True})
        Report.objects.filter(pk=report.pk).update(updated=timezone.now())
    return photos

