"""Reads for Open311: the public view of reports and updates, and API keys.

The privacy rules are the reports app's (`reports.selectors.report_list` for an anonymous
user): hidden reports and reports awaiting pre-moderation never appear, explosive-ordnance
reports carry the centre of their public grid cell, contact data is never selected.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.db.models.functions import Transform
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from layers.geometry import PointX, PointY
from reports.models import Photo, Report, ReportEvent
from reports.selectors import ReportFilters, report_list, visible_reports

from .models import ApiClient, ClientUpdate

Event = ReportEvent.Type


def api_client_for_key(key: str | None) -> ApiClient | None:
    """The active client owning `key`, comparing hashes in constant time."""
    if not key:
        return None
    digest = hashlib.sha256(key.encode()).hexdigest()
    for client in ApiClient.objects.filter(key_prefix=key[:8], is_active=True):
        if secrets.compare_digest(client.key_hash, digest):
            return client
    return None


def public_requests(filters: ReportFilters) -> QuerySet[Report]:
    """The public view of reports with what the renderer needs, in a fixed number of queries:
    the latest public status note, WGS 84 lat/long of the published point, ready photos, and
    `media_url`s clients sent."""
    latest_note = (
        ReportEvent.objects.filter(report=OuterRef("pk"), type=Event.STATUS)
        .exclude(public_note="")
        .order_by("-created", "-id")
        .values("public_note")[:1]
    )
    return (
        report_list(user=AnonymousUser(), filters=filters)
        .select_related("category__group", "department", "district")
        # `display_location` is what is published; the exact point is not read at all.
        .defer("contact_name", "contact_email", "contact_phone", "location")
        .annotate(o311_status_notes=Subquery(latest_note))
        # lat/long by PostGIS: a per-row GDAL transform in Python cost more than the query.
        .annotate(o311_lat=PointY(Transform("display_location", settings.API_SRID)),
                  o311_long=PointX(Transform("display_location", settings.API_SRID)))
        .prefetch_related(
            Prefetch(
                "photos",
                queryset=Photo.objects.filter(state=Photo.State.READY).order_by("created", "id"),
                to_attr="o311_photos",
            ),
            Prefetch(
                "events",
                queryset=ReportEvent.objects.filter(type=Event.NOTE, data__has_key="media_url")
                .order_by("created", "id"),
                to_attr="o311_media",
            ),
        )
        .order_by("-created", "-id")
    )


def public_updates() -> QuerySet[ReportEvent]:
    """Public status changes and public notes of public reports, oldest first; each with the
    status its report had then (`o311_status_then`), for notes, which have none."""
    status_then = (
        ReportEvent.objects.filter(report=OuterRef("report"), created__lte=OuterRef("created"))
        .exclude(to_status="")
        .order_by("-created", "-id")
        .values("to_status")[:1]
    )
    return (
        ReportEvent.objects.filter(report__in=visible_reports(AnonymousUser()))
        .filter(
            Q(type=Event.STATUS, data__public=True)
            | (Q(type=Event.NOTE) & ~Q(public_note=""))
        )
        .select_related("report")
        .annotate(o311_status_then=Subquery(status_then))
        .order_by("created", "id")
    )


def update_received(client: ApiClient, update_id: str) -> bool:
    return ClientUpdate.objects.filter(client=client, update_id=update_id).exists()


def requests_visible_to(client: ApiClient) -> QuerySet[Report]:
    """What a back-office may name (e.g. as the original of a DUPLICATE): public requests and
    every request of its departments."""
    return visible_reports(AnonymousUser()) | Report.objects.filter(
        department__in=client.departments.all())
