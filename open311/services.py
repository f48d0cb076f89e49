"""Writes for Open311: API keys, and requests and updates from clients, each made through
the reports app's services and linked to its client in the same transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from geocity.errors import Conflict, NotFound, ValidationFailed
from reports.models import Category, Report, ReportEvent
from reports.services import Contact, report_create, report_note_add, report_transition
from reports.workflow import TRANSITIONS, Role, Status

from .models import ApiClient, ClientRequest, ClientUpdate
from .selectors import requests_visible_to, update_received
from .statuses import DEFAULT_REASONS, OPEN311_INBOUND, OPEN311_STATUS


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


def request_submit(*, client: ApiClient, category: Category, location, description: str,
                   address: str, attributes: dict, contact: Contact, lang: str,
                   photos: Sequence = (), media_url: str = "", device_id: str = "",
                   account_id: str | None = None) -> Report:
    """A client's new report (POST requests), linked to the client; what the report model has
    no field for (media_url, device_id, account_id) is kept in a private note."""
    with transaction.atomic():
        report = report_create(
            category=category, location=location, description=description, address=address,
            attributes=attributes, contact=contact, source=Report.Source.OPEN311, lang=lang,
            photos=photos,
        )
        ClientRequest.objects.create(report=report, client=client)
        extra = {k: v for k, v in (("media_url", media_url), ("device_id", device_id),
                                   ("account_id", account_id)) if v}
        if extra:
            report_note_add(
                report_id=report.pk, system=True,
                internal_note=f"Open311 client {client.name}: "
                + ", ".join(f"{k}={v}" for k, v in extra.items())
                + (" (media_url is not fetched by the server)" if media_url else ""),
                data=extra,
            )
    return report


def pushable_from(status: Status) -> list[str]:
    """The extended statuses a back-office may push from `status` (the system's moves)."""
    return [
        name for name, target in OPEN311_INBOUND.items()
        if (t := TRANSITIONS.get((status, target))) and Role.SYSTEM in t.roles
    ]


def _repeated(update_id: str) -> Conflict:
    return Conflict(f"update_id {update_id!r} was already received from this client.",
                    code="duplicate_update_id")


def update_push(*, client: ApiClient, report_id: int, update_id: str, pushed: str,
                description: str = "", internal_note: str = "", media_url: str = "",
                duplicate_of: int | None = None) -> ReportEvent:
    """A back-office's update (servicerequestupdates POST), applied as the system role.

    A pushed status that keeps the current one is a note (public when it has a
    description); another is a transition the workflow table must allow from the current
    status. The event is linked to (client, update_id), which is accepted once: a repeat,
    also a racing one, is a Conflict `duplicate_update_id`. Preconditions (the view's):
    the report exists and belongs to one of the client's departments.
    """
    if update_received(client, update_id):
        raise _repeated(update_id)
    target = OPEN311_INBOUND[pushed]
    try:
        with transaction.atomic():
            report = Report.objects.select_for_update().get(pk=report_id)
            if report.status == target:
                event = report_note_add(
                    report_id=report.pk, system=True, public_note=description,
                    internal_note=internal_note,
                    data={"open311_status": pushed,
                          **({"media_url": media_url} if media_url else {})},
                )
            else:
                _transition(report, target, pushed, client=client, description=description,
                            internal_note=internal_note, duplicate_of=duplicate_of)
                # Ours: the row is locked, so no other event of this report is being written.
                event = (ReportEvent.objects.filter(report=report, type=ReportEvent.Type.STATUS)
                         .order_by("-id").first())
            ClientUpdate.objects.create(event=event, client=client, update_id=update_id)
    except IntegrityError as exc:  # a concurrent push with the same update_id won
        raise _repeated(update_id) from exc
    return event


def _transition(report: Report, target: Status, pushed: str, *, client: ApiClient,
                description: str, internal_note: str, duplicate_of: int | None) -> None:
    current = Status(report.status)
    transition = TRANSITIONS.get((current, target))
    if transition is None or Role.SYSTEM not in transition.roles:
        pushable = pushable_from(current)
        raise ValidationFailed(
            f"Service request {report.pk} is {current.value} "
            f"({OPEN311_STATUS[current][1]}); {pushed} ({target.value}) cannot follow it. "
            + (f"From here a back-office may push: {', '.join(pushable)}."
               if pushable else "A back-office cannot change it from here."),
            code="invalid_transition",
        )
    reason = ""
    if "reason" in transition.requires:
        reason = description or DEFAULT_REASONS.get(pushed, f"{pushed} (back-office).")
    if target == Status.DUPLICATE:
        _check_original(report, duplicate_of, client=client)
    report_transition(
        report_id=report.pk, to_status=target, note=description, internal_note=internal_note,
        reason=reason, duplicate_of_id=duplicate_of, system=True,
    )


def _check_original(report: Report, duplicate_of: int | None, *, client: ApiClient) -> None:
    """The original of a pushed DUPLICATE: given, not the report itself, and a request this
    client can see (public, or of one of its departments)."""
    if duplicate_of is None:
        raise ValidationFailed(
            f"DUPLICATE needs duplicate_of=<service_request_id>: the request that service "
            f"request {report.pk} duplicates.", code="duplicate_of_required")
    if duplicate_of == report.pk:
        raise ValidationFailed(
            f"Service request {report.pk} cannot be a duplicate of itself.",
            code="duplicate_of_invalid")
    if not requests_visible_to(client).filter(pk=duplicate_of).exists():
        raise ValidationFailed(
            f"duplicate_of {duplicate_of} is not a known service request; give the "
            "service_request_id of the original.", code="duplicate_of_invalid")
