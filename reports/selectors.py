"""Reads on reports: visibility, filters, duplicates, the public timeline, look-ups.

Privacy rules live here, once:
- hidden reports are seen only by moderators, officials, admins and the department's staff;
- explosive-ordnance reports are shown to the public at a HAZARD_PUBLIC_CELL_M grid cell,
  and spatial filters for the public match that cell, never the exact point;
- reporter contact data is never selected for public output (see reports.roles).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from django.conf import settings
from django.contrib.gis.db.models import GeometryField, PointField
from django.contrib.gis.db.models.functions import Distance, SnapToGrid
from django.contrib.gis.db.models.lookups import DWithinLookup, IntersectsLookup
from django.contrib.gis.geos import Point, Polygon
from django.contrib.gis.measure import D
from django.db.models import Case, ExpressionWrapper, F, Q, QuerySet, Value, When
from django.utils import timezone

from geocity.errors import Conflict, NotFound, ValidationFailed
from layers.geometry import to_storage
from layers.selectors import user_sees_restricted

from . import sla
from .models import Category, Comment, IdempotencyKey, Report, ReportEvent
from .roles import can_read_everything, department_ids
from .workflow import OPEN_STATUSES, Status


def _cell() -> int:
    return settings.HAZARD_PUBLIC_CELL_M


def generalised_location():
    """SQL: the centre of the public grid cell holding `location` (same maths as
    layers.geometry.generalise)."""
    half = _cell() / 2
    return SnapToGrid("location", _cell(), _cell(), half, half)


def sees_exact_location(user) -> bool:
    return user_sees_restricted(user)


def public_address(report: Report, user) -> str:
    """The street address of `report` that `user` may read.

    Empty for a hazard report unless the user sees exact locations: an address pins explosive
    ordnance as well as coordinates would. The one rule for pages, the API and Open311.
    """
    if report.is_hazard and not sees_exact_location(user):
        return ""
    return report.address or ""


def display_location_expr(user):
    """The point a user may see: exact for staff, generalised hazard points for others."""
    if sees_exact_location(user):
        return ExpressionWrapper(F("location"), output_field=PointField(srid=settings.STORAGE_SRID))
    return Case(
        When(is_hazard=True, then=generalised_location()),
        default=F("location"),
        output_field=PointField(srid=settings.STORAGE_SRID),
    )


def visible_reports(user) -> QuerySet[Report]:
    """Reports `user` may read at all (public fields).

    Hidden reports, and reports still awaiting pre-moderation, are published to nobody but
    moderators, officials, admins, the department's staff and (for moderation) the reporter.
    """
    qs = Report.objects.all()
    if can_read_everything(user):
        return qs
    public = Q(is_hidden=False) & ~Q(status=Status.MODERATION)
    depts = department_ids(user)
    if depts:
        public |= Q(department_id__in=depts)
    if user is not None and user.is_authenticated:
        public |= Q(reporter_id=user.pk, is_hidden=False)
    return qs.filter(public)


def get_report(*, number: int, user) -> Report:
    try:
        return (
            visible_reports(user)
            .select_related("category", "category__group", "department", "district",
                            "duplicate_of", "assignee")
            .get(pk=number)
        )
    except (Report.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(f"Report {number} does not exist.", code="report_not_found") from exc


# --- Filters ------------------------------------------------------------------------------

def _geometry(value) -> Value:
    """A geometry as the right-hand side of a lookup on an expression (the ORM infers the
    field only for lookups on a column)."""
    return Value(value, output_field=GeometryField(srid=value.srid))


def within_q(area, *, exact: bool) -> Q:
    """Reports inside `area`; for the public, hazard reports match by their grid cell."""
    if exact:
        return Q(location__intersects=area)
    margin = _cell()  # a generalised point is at most cell*sqrt(2)/2 from the real one
    # The cell test is a condition on the row itself, not a subquery: the indexed `dwithin`
    # picks the few hazard reports near the area and only those are snapped to their cell.
    return Q(is_hazard=False, location__intersects=area) | Q(
        Q(is_hazard=True, location__dwithin=(area, D(m=margin))),
        IntersectsLookup(generalised_location(), _geometry(area)),
    )


def near_q(point: Point, radius_m: float, *, exact: bool) -> Q:
    if exact:
        return Q(location__dwithin=(point, D(m=radius_m)))
    return Q(is_hazard=False, location__dwithin=(point, D(m=radius_m))) | Q(
        Q(is_hazard=True, location__dwithin=(point, D(m=radius_m + _cell()))),
        DWithinLookup(generalised_location(), (_geometry(point), D(m=radius_m))),
    )


@dataclass
class ReportFilters:
    bbox: Polygon | None = None
    near: tuple[Point, float] | None = None
    categories: list[str] | None = None
    statuses: list[str] | None = None
    department: str | None = None
    district: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    overdue: bool | None = None
    due_soon: bool | None = None
    assignee_id: int | None = None
    text: str | None = None


def filter_reports(qs: QuerySet[Report], f: ReportFilters, *, user) -> QuerySet[Report]:
    exact = sees_exact_location(user)
    if f.bbox is not None:
        qs = qs.filter(within_q(f.bbox, exact=exact))
    if f.near is not None:
        qs = qs.filter(near_q(f.near[0], f.near[1], exact=exact))
    if f.categories:
        qs = qs.filter(category__service_code__in=f.categories)
    if f.statuses:
        unknown = set(f.statuses) - set(Status.values)
        if unknown:
            raise ValidationFailed(f"Unknown status: {', '.join(sorted(unknown))}.",
                                   code="invalid_status",
                                   fields={"status": [f"One of {', '.join(Status.values)}."]})
        qs = qs.filter(status__in=f.statuses)
    if f.department:
        qs = qs.filter(department__code=f.department)
    if f.district:
        qs = qs.filter(district__code=f.district)
    if f.created_after:
        qs = qs.filter(created__gte=f.created_after)
    if f.created_before:
        qs = qs.filter(created__lt=f.created_before)
    now = timezone.now()
    if f.overdue is True:
        qs = qs.filter(sla.overdue_q(now))
    elif f.overdue is False:
        qs = qs.exclude(sla.overdue_q(now))
    if f.due_soon:
        qs = qs.filter(sla.due_soon_q(now))
    if f.assignee_id is not None:
        qs = qs.filter(assignee_id=f.assignee_id or None)
    if f.text:
        text = f.text.strip()
        q = Q(description__icontains=text) | Q(address__icontains=text)
        if text.lstrip("#").isdigit():
            q |= Q(pk=int(text.lstrip("#")))
        qs = qs.filter(q)
    return qs


def report_list(*, user, filters: ReportFilters) -> QuerySet[Report]:
    """Reports for map and list output, with the location each user may see."""
    return (
        filter_reports(visible_reports(user), filters, user=user)
        .select_related("category", "department", "district")
        .defer("location_tile")  # the tiles' copy: a geometry per row no list shows
        .annotate(display_location=display_location_expr(user))
    )


# --- Duplicates ---------------------------------------------------------------------------

def nearby_open_reports(
    *, location: Point, category: Category, user=None, exclude_id: int | None = None,
    limit: int = 10,
) -> QuerySet[Report]:
    """Open reports of `category` within its duplicate radius, nearest first (metres).

    Metric storage SRID, so `dwithin` uses the spatial index directly. For the public,
    hazard reports are matched and measured at their grid cell.
    """
    point = to_storage(location)
    radius = category.duplicate_radius_m
    exact = sees_exact_location(user)
    qs = (
        visible_reports(user)
        .filter(category=category, status__in=list(OPEN_STATUSES))
        .filter(near_q(point, radius, exact=exact))
        .annotate(display_location=display_location_expr(user))
        .annotate(distance=Distance("display_location", point))
        .select_related("category", "department")
        .order_by("distance", "-created")
    )
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return qs[:limit]


# --- Timeline -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "event" or "comment"
    created: datetime
    item: ReportEvent | Comment


def report_timeline(report: Report, *, internal: bool) -> list[TimelineEntry]:
    """Events and comments in time order. The public sees public events and notes only."""
    events = report.events.select_related("actor", "from_department", "to_department")
    comments = report.comments.select_related("author")
    if not internal:
        events = [e for e in events if e.data.get("public", False) or e.public_note]
        comments = comments.filter(is_hidden=False)
    entries = chain(
        (TimelineEntry("event", e.created, e) for e in events),
        (TimelineEntry("comment", c.created, c) for c in comments),
    )
    return sorted(entries, key=lambda e: (e.created, e.kind))


# --- Look-ups -----------------------------------------------------------------------------

def active_categories() -> QuerySet[Category]:
    return (
        Category.objects.filter(is_active=True)
        .select_related("group")
        .prefetch_related("attributes")
    )


def get_category(service_code: str) -> Category:
    category = active_categories().filter(service_code=service_code).first()
    if category is None:
        raise ValidationFailed(
            f"Unknown category {service_code!r}.",
            code="unknown_category",
            fields={"category": [f"No active category with code {service_code!r}."]},
        )
    return category


def idempotent_report(scope: str, key: str, request_hash: str) -> Report | None:
    """The report an earlier request with this key created, or None."""
    entry = (
        IdempotencyKey.objects.select_related("report").filter(scope=scope, key=key).first()
    )
    if entry is None:
        return None
    if entry.request_hash != request_hash:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body.",
            code="idempotency_key_reused",
        )
    return entry.report


def reports_of_user(user) -> QuerySet[Report]:
    """"My reports": those a signed-in resident made or supports."""
    if not user.is_authenticated:
        return Report.objects.none()
    return (
        Report.objects.filter(Q(reporter=user) | Q(supporters__user=user))
        .distinct()
        .select_related("category", "department")
        .order_by("-created")
    )
def report_for_display(number: int, user, *, visible_only: bool = True) -> Report:
    """A report with the location `user` may see (`display_location`) and its relations.

    After a successful write the actor gets the result even if it is no longer visible to
    them (a hidden report handed to another department): `visible_only=False`.
    """
    if visible_only:
        qs = report_list(user=user, filters=ReportFilters())
    else:
        qs = Report.objects.annotate(display_location=display_location_expr(user))
    report = (
        qs.select_related("category", "category__group", "department", "district", "assignee")
        .filter(pk=number)
        .first()
    )
    if report is None:
        raise NotFound(f"Report {number} does not exist.", code="report_not_found")
    return report


