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

from geocity.errors import NotFound, Unavailable
from geocity.hooks import enqueue, send_on_commit
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
    transaction.on_commit(lambda: enqueue(send_event_notifications, event.pk))


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
    """Keep the originals (private storage); their display sizes are made after the commit.

    Storage that is full or unwritable raises `Unavailable` (503) after removing the files
    this call already wrote, so the caller's rollback leaves no half-written report."""
    stored: list[Photo] = []
    try:
        _photos_write(report, photos, inspected, kind=kind, actor=actor, stored=stored)
    except OSError as exc:
        for photo in stored:
            try:
                photo.original.delete(save=False)
            except OSError:  # pragma: no cover - the storage is failing already
                logger.exception("Could not remove %s after a failed upload",
                                 photo.original.name)
        logger.error("Photo storage failed for report %s: %s", report.pk, exc)
        raise Unavailable(
            "The photos could not be stored (storage full or unwritable); nothing was "
            "saved. Retry later.", code="storage_unavailable") from exc
    return stored


def _photos_write(report: Report, photos: Sequence, inspected: Sequence[InspectedPhoto], *,
                  kind: str, actor, stored: list[Photo]) -> None:
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
        try:
            photo.original.save(name, ContentFile(upload.read()), save=False)
        except OSError:
            # The storage may have left the partly written file under the name it was given
            # (the random token makes it unique, so no other upload holds that name).
            partial = photo.original.field.generate_filename(photo, name)
            try:
                if photo.original.storage.exists(partial):
                    photo.original.storage.delete(partial)
            except OSError:  # pragma: no cover - the storage is failing already
                logger.exception("Could not remove the partial file %s", partial)
            raise
        stored.append(photo)
        photo.save()
        transaction.on_commit(lambda pk=photo.pk: enqueue(process_photo, pk))


def routing_apply(report: Report, decision: RoutingDecision) -> None:
    report.department = decision.department
    report.district_id = decision.district_id
    report.routing_rule = decision.rule
    report.routing_explanation_uk = decision.explanation_uk
    report.routing_explanation_en = decision.explanation_en
    if decision.is_hazard:
        report.is_hazard = True
        report.priority = Report.Priority.URGENT
