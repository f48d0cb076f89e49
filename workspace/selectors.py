"""Reads for the workspace: a user's scope (their departments; every department and the
triage queue for moderators), the queue with its filters and order, counts, tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.gis.db.models.functions import Transform
from django.db.models import BooleanField, Case, Count, F, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from layers.geometry import PointX, PointY
from reports import sla
from reports.models import Report, ResponseTemplate
from reports.roles import (
    department_ids,
    is_moderator,
)
from reports.selectors import ReportFilters, filter_reports
from reports.workflow import OPEN_STATUSES, Role, Status

from .forms import (
    DEFAULT_PER_PAGE,
)

WORK_ROLES = {Role.STAFF, Role.MODERATOR, Role.ADMIN}
# The pages ask for a public answer on these steps (a reasoned reply is the city's duty;
# the workflow table itself requires the note only for needs_info).
NOTE_REQUIRED = frozenset({Status.RESOLVED, Status.NEEDS_INFO})

# --- The queue ---------------------------------------------------------


def workspace_scope(user) -> QuerySet[Report]:
    """Tickets `user` works on: own departments; everything for moderators and admins."""
    if is_moderator(user):
        return Report.objects.all()
    return Report.objects.filter(department_id__in=list(department_ids(user)))


def _overdue_flag(now: datetime):
    return Case(When(sla.overdue_q(now), then=Value(True)), default=Value(False),
                output_field=BooleanField())


def _due_soon_flag(now: datetime):
    return Case(When(sla.due_soon_q(now), then=Value(True)), default=Value(False),
                output_field=BooleanField())


@dataclass
class QueueQuery:
    """The parsed queue filters, as the ORM filter and as a query string."""

    filters: ReportFilters
    triage: bool = False
    department_ids: list[int] | None = None
    on_time: bool = False
    per_page: int = DEFAULT_PER_PAGE
    params: dict = field(default_factory=dict)


def queue_base(user, query: QueueQuery) -> QuerySet[Report]:
    """The queue under every filter except status (the per-status counts read this)."""
    now = timezone.now()
    filters = ReportFilters(**{**query.filters.__dict__, "statuses": None})
    qs = filter_reports(workspace_scope(user), filters, user=user)
    if query.triage:
        qs = qs.filter(department__isnull=True)
    elif query.department_ids is not None:
        qs = qs.filter(department_id__in=query.department_ids)
    if query.on_time:
        qs = qs.exclude(sla.overdue_q(now))
    return qs


def queue_queryset(base: QuerySet[Report], query: QueueQuery) -> QuerySet[Report]:
    """The filtered queue with its overdue / due-soon flags."""
    now = timezone.now()
    qs = base.filter(status__in=query.filters.statuses or sorted(OPEN_STATUSES))
    return qs.annotate(is_overdue=_overdue_flag(now), is_due_soon=_due_soon_flag(now))


QUEUE_ORDER = ("-is_overdue", F("due_at").asc(nulls_last=True), "pk")


def ordered_queue(qs: QuerySet[Report]) -> QuerySet[Report]:
    """The queue with everything a row shows (for the CSV export, which streams it all)."""
    wgs = Transform("location", settings.API_SRID)
    return (
        qs.select_related("category", "category__group", "district", "department", "assignee")
        .defer("location_tile", "routing_explanation_uk", "routing_explanation_en", "attributes")
        .annotate(lon=PointX(wgs), lat=PointY(wgs))
        .order_by(*QUEUE_ORDER)
    )


def ordered_numbers(qs: QuerySet[Report]) -> QuerySet:
    """Only the numbers, in queue order: what the paginator counts and slices. Narrow, so a
    clerk's 20,000 open tickets are ordered from index data, not from whole rows."""
    return qs.order_by(*QUEUE_ORDER).values_list("pk", flat=True)


def queue_rows(numbers: list[int]) -> list[Report]:
    """The full rows of one page, in the page's order: one query."""
    now = timezone.now()
    rows = ordered_queue(Report.objects.filter(pk__in=numbers).annotate(
        is_overdue=_overdue_flag(now), is_due_soon=_due_soon_flag(now)))
    by_number = {r.pk: r for r in rows}
    return [by_number[n] for n in numbers if n in by_number]


def status_counts(qs: QuerySet[Report], statuses) -> dict[str, int]:
    """Tickets per status under the current filters, for the open statuses and the chosen
    ones (not the whole closed history): one query, from the department/status index."""
    return dict(qs.order_by().filter(status__in=list(statuses)).values("status")
                .annotate(n=Count("status")).values_list("status", "n"))


def response_templates(report: Report) -> list[ResponseTemplate]:
    return list(
        ResponseTemplate.objects.filter(
            Q(category=report.category_id) | Q(category__isnull=True),
            Q(department=report.department_id) | Q(department__isnull=True),
        ).order_by("title")
    )


# --- One ticket ---------------------------------------------------------------------------

def get_ticket(user, number: int) -> Report:
    """A ticket in the user's scope; anything else is 404 (existence is not revealed)."""
    try:
        return (
            workspace_scope(user)
            .select_related("category", "category__group", "department", "district",
                            "assignee", "reporter", "duplicate_of")
            .get(pk=number)
        )
    except Report.DoesNotExist as exc:
        raise Http404(_("No such ticket in your workspace.")) from exc


