"""Creating a report: validated, routed, stored with its photos, all or nothing, and
idempotent for a client's retries (`Idempotency-Key`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils import timezone

from geocity.errors import ValidationFailed
from geocity.hooks import enqueue
from layers.geometry import to_storage
from layers.services import route_report

from .. import sla
from ..attributes import clean_attributes
from ..models import DESCRIPTION_MAX, Category, IdempotencyKey, Photo, Report, Subscription
from ..photos import InspectedPhoto
from ..selectors import idempotent_report
from ..tasks import send_report_received
from ..workflow import Role, Status
from .common import (
    Contact,
    Event,
    announce_change,
    event_write,
    photos_inspect,
    photos_store,
    routing_apply,
)


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
    return photos_inspect(photos)



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
            created=now,
            updated=now,
        )
        routing_apply(report, decision)
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
        event_write(report, Event.CREATED, actor=reporter, role="reporter" if reporter else "",
                    now=now, to_status=Status.NEW,
                    data={"source": source, "public": True})
        event_write(report, Event.ROUTED, now=now, role=Role.SYSTEM, from_status=Status.NEW,
                    to_status=report.status, to_department=report.department,
                    data={"rule": decision.rule, "public": True,
                          "hazard_zone_ids": decision.hazard_zone_ids})
        photos_store(report, photos, inspected, kind=Photo.Kind.RESIDENT, actor=reporter)
        if report.contact_email:
            Subscription.objects.get_or_create(
                report=report, email=report.contact_email.lower(),
                defaults={"user": reporter, "lang": report.lang, "confirmed_at": now},
            )
        announce_change()
        transaction.on_commit(lambda: enqueue(send_report_received, report.pk))
    return report


class _IdempotentRace(Exception):
    pass


def request_fingerprint(payload: dict) -> str:
    """A stable hash of a request body, to tell a retry from a different request."""
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

