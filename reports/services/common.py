"""What every report service shares: locking, the event row, photo storage, routing, and
the side effects scheduled on commit (mail and photo tasks, `reports_changed`)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from geocity.errors import NotFound
from geocity.hooks import send_on_commit
from layers.services import RoutingDecision

from ..models import Photo, Report, ReportEvent
from ..photos import InspectedPhoto, photo_inspect
from ..signals import reports_changed
from ..tasks import process_photo, send_event_notifications
from ..workflow import Role

logger = logging.getLogger(__name__)
Event = ReportEvent.Type

HUMAN_ROLES = {Role.REPORTER, Role.STAFF, Role.MODERATOR, Role.ADMIN}


@dataclass(frozen=True)
class Contact:
    name: str = ""
    email: str = ""
    phone: str = ""


def announce_change() -> None:
    """After the commit, tell the apps above that reports changed (tile caches, dashboard)."""
    send_on_commit(reports_changed, sender=Report)


def notify_on_commit(event: ReportEvent) -> None:
    transaction.on_commit(lambda: send_event_notifications.delay(event.pk))


def event_write(report: Report, type_: str, *, actor=None, role: str = "", now=None,
                **fields) -> ReportEvent:
    return ReportEvent.objects.create(
        report=report,
        type=type_,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_role=role,
        created=now or timezone.now(),
        **fields,
    )


def lock_report(report_id: int) -> Report:
    try:
        return Report.objects.select_for_update(of=("self",)).get(pk=report_id)
    except Report.DoesNotExist as exc:
        raise NotFound(f"Report {report_id} does not exist.", code="report_not_found") from exc


def actor_role(roles: set[Role]) -> str:
    for role in (Role.STAFF, Role.MODERATOR, Role.ADMIN, Role.REPORTER, Role.OFFICIAL,
                 Role.SYSTEM):
        if role in roles:
            return role.value
    return ""


def photos_inspect(photos: Sequence) -> list[InspectedPhoto]:
    return [
        photo_inspect(f, name=getattr(f, "name", None) or f"photo {i + 1}")
        for i, f in enumerate(photos)
    ]


def photos_store(report: Report, photos: Sequence, inspected: Sequence[InspectedPhoto], *,
                 kind: str, actor=None) -> list[Photo]:
    """Keep the originals (private storage); their display sizes are made after the commit."""
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


def routing_apply(report: Report, decision: RoutingDecision) -> None:
    report.department = decision.department
    report.district_id = decision.district_id
    report.routing_rule = decision.rule
    report.routing_explanation_uk = decision.explanation_uk
    report.routing_explanation_en = decision.explanation_en
    if decision.is_hazard:
        report.is_hazard = True
        report.priority = Report.Priority.URGENT
