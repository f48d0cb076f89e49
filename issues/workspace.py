"""The department workspace: the queue, bulk actions, exports and the ticket page.

Views parse input, call issues.services (which hold every rule and raise DomainError) and
render. Read-only queries specific to these pages are at the top of this module. Scope:
a clerk sees the tickets of their own departments; moderators and admins see every
department plus the triage queue (reports with no department).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.contrib.gis.db.models.functions import Transform
from django.core.paginator import EmptyPage, Paginator
from django.db.models import BooleanField, Case, Count, F, Q, QuerySet, Value, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from geocity.errors import DomainError, ValidationFailed, status_for
from layers.geometry import PointX, PointY
from layers.models import Department

from . import sla
from .dashboard import csv_response, forbidden
from .forms_workspace import (
    DEFAULT_PER_PAGE,
    TRIAGE,
    BulkActionForm,
    QueueFilterForm,
    colleagues,
    user_label,
    workspace_departments,
)
from .models import Photo, Report, ResponseTemplate
from .roles import can_see_contact, can_use_workspace, department_ids, is_moderator, roles_for
from .selectors import ReportFilters, filter_reports, nearby_open_reports, report_timeline
from .services import (
    comment_create,
    report_accept,
    report_assign,
    report_extend_sla,
    report_note_add,
    report_reassign,
    report_transition,
)
from .workflow import OPEN_STATUSES, TRANSITIONS, Role, Status, next_statuses

WORK_ROLES = {Role.STAFF, Role.MODERATOR, Role.ADMIN}
# The pages ask for a public answer on these steps (a reasoned reply is the city's duty;
# the workflow table itself requires the note only for needs_info).
NOTE_REQUIRED = frozenset({Status.RESOLVED, Status.NEEDS_INFO})

# --- Read queries for these pages ---------------------------------------------------------


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


def _response_templates(report: Report) -> list[ResponseTemplate]:
    return list(
        ResponseTemplate.objects.filter(
            Q(category=report.category_id) | Q(category__isnull=True),
            Q(department=report.department_id) | Q(department__isnull=True),
        ).order_by("title")
    )


# --- Access -------------------------------------------------------------------------------

def _guard(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_use_workspace(request.user):
        return forbidden(request, _("The workspace is for department staff and moderators."))
    return None


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


# --- Domain errors, in the user's language ------------------------------------------------

ERROR_MESSAGES = {
    "invalid_transition": gettext_lazy("This step is not possible from the ticket's status."),
    "transition_forbidden": gettext_lazy("You may not take this step on this ticket."),
    "reason_required": gettext_lazy("A reason is required."),
    "note_required": gettext_lazy("A note is required."),
    "duplicate_of_required": gettext_lazy("Choose the original report."),
    "duplicate_of_invalid": gettext_lazy("That report cannot be the original."),
    "assignee_invalid": gettext_lazy("The assignee must be a member of the ticket's department."),
    "assign_forbidden": gettext_lazy("Only the department's staff may assign its tickets."),
    "reassign_forbidden": gettext_lazy("Only the department's staff or a moderator may reassign."),
    "extend_forbidden": gettext_lazy("Only the department's staff may extend the deadline."),
    "no_department": gettext_lazy("The report has no department: route it first."),
    "same_department": gettext_lazy("The ticket already belongs to that department."),
    "department_invalid": gettext_lazy("Choose a department."),
    "sla_limit": gettext_lazy(
        "The law allows at most 45 days in total: choose fewer days (the latest possible "
        "deadline is shown above)."),
    "report_not_found": gettext_lazy("No such ticket in your workspace."),
    "not_in_scope": gettext_lazy("Not in your workspace."),
    "too_many_photos": gettext_lazy("Too many photos."),
    "photo_wrong_type": gettext_lazy("A file is not a supported image (JPEG, PNG, WebP, HEIC)."),
    "photo_too_big": gettext_lazy("A photo is larger than 10 MB."),
    "photo_too_many_pixels": gettext_lazy("A photo has more than 40 megapixels."),
    "photo_corrupt": gettext_lazy("A photo file is damaged."),
    "comment_required": gettext_lazy("Write a reply."),
    "comment_too_long": gettext_lazy("At most 2000 characters."),
    "stale": gettext_lazy("The ticket changed since you opened it; check it and try again."),
    "invalid": gettext_lazy("Check the form."),
}


def error_text(error: DomainError) -> str:
    """A translated message for a known code; the service's own message otherwise."""
    known = ERROR_MESSAGES.get(error.code)
    return str(known) if known else error.message


# --- The queue ----------------------------------------------------------------------------

def parse_queue(request: HttpRequest) -> tuple[QueueQuery, QueueFilterForm, list[Department]]:
    user = request.user
    departments = list(workspace_departments(user))
    form_departments = departments
    people = list(colleagues([d.pk for d in departments])) if departments else []
    form = QueueFilterForm(request.GET, user=user, departments=form_departments, people=people)
    data = form.cleaned_data if form.is_valid() else {}
    dept_code = data.get("department") or ""
    query = QueueQuery(filters=ReportFilters(statuses=form.statuses()))
    if dept_code == TRIAGE and is_moderator(user):
        query.triage = True
    elif dept_code:
        query.department_ids = [d.pk for d in departments if d.code == dept_code]
    f = query.filters
    if data.get("category"):
        f.categories = [data["category"].service_code]
    if data.get("district"):
        f.district = data["district"].code
    due = data.get("due")
    if due == "overdue":
        f.overdue = True
    elif due == "due_soon":
        f.due_soon = True
    elif due == "on_time":
        query.on_time = True
    assignee = data.get("assignee") or ""
    if assignee == "me":
        f.assignee_id = user.pk
    elif assignee == "none":
        f.assignee_id = 0
    elif assignee.isdigit():
        f.assignee_id = int(assignee)
    if data.get("q"):
        f.text = data["q"]
    query.per_page = data.get("per_page") or DEFAULT_PER_PAGE
    query.params = {k: v for k, v in request.GET.lists() if k != "page"}
    return query, form, departments


def _querystring(params: dict, **extra) -> str:
    pairs = [(k, v) for k, values in params.items() for v in values if v != ""]
    pairs += [(k, v) for k, v in extra.items() if v not in (None, "")]
    return urlencode(pairs)


def _tile_params(query: QueueQuery, departments: list[Department]) -> str:
    f = query.filters
    params = {"status": ",".join(f.statuses or sorted(OPEN_STATUSES))}
    if f.categories:
        params["category"] = ",".join(f.categories)
    if query.department_ids is not None:
        codes = [d.code for d in departments if d.pk in query.department_ids]
        params["department"] = ",".join(codes)
    elif not query.triage and departments and len(departments) < 50:
        params["department"] = ",".join(d.code for d in departments)
    if f.district:
        params["district"] = f.district
    return urlencode(params)


def bulk_status_choices(user) -> list[tuple[str, str]]:
    """Statuses a bulk change may aim at: any the table lets this user's roles reach."""
    roles = {Role.STAFF} | (roles_for(user) & WORK_ROLES)
    targets = {to for (_frm, to), t in TRANSITIONS.items() if t.roles & roles}
    return [(s.value, s.label) for s in Status if s in targets]


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    if (denied := _guard(request)) is not None:
        return denied
    query, form, departments = parse_queue(request)
    base = queue_base(request.user, query)
    paginator = Paginator(ordered_numbers(queue_queryset(base, query)), query.per_page)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except (EmptyPage, ValueError, TypeError):
        page = paginator.page(paginator.num_pages if request.GET.get("page") else 1)
    page.object_list = queue_rows(list(page.object_list))
    chosen = set(query.filters.statuses or [])
    counts = status_counts(base, OPEN_STATUSES | chosen)
    status_chips = [{
        "value": s.value, "label": s.label, "count": counts.get(s.value, 0),
        "active": s.value in chosen,
        "query": _querystring({k: v for k, v in query.params.items() if k != "status"},
                              status=s.value),
    } for s in Status if counts.get(s.value) or s.value in chosen]
    points = [{"n": r.pk, "lat": r.lat, "lon": r.lon, "status": r.status,
               "overdue": r.is_overdue, "label": f"#{r.pk} {r.category.name}"}
              for r in page.object_list if r.lat is not None]
    return render(request, "issues/workspace/queue.html", {
        "form": form,
        "page": page,
        "paginator": paginator,
        "total": paginator.count,
        "status_chips": status_chips,
        "querystring": _querystring(query.params),
        "prev_query": _querystring(query.params, page=page.previous_page_number())
        if page.has_previous() else "",
        "next_query": _querystring(query.params, page=page.next_page_number())
        if page.has_next() else "",
        "export_query": _querystring(query.params),
        "bulk_statuses": bulk_status_choices(request.user),
        "assignees": form.fields["assignee"].choices[3:],
        "bulk_result": request.session.pop("workspace_bulk", None),
        "map_config": {
            "tiles": "/tiles/reports/{z}/{x}/{y}.pbf?" + _tile_params(query, departments),
            "basemap": settings.BASEMAP_URL, "attribution": settings.BASEMAP_ATTRIBUTION,
            "center": list(settings.MAP_CENTER), "zoom": settings.MAP_ZOOM,
            "points": points, "ticket_url": reverse("workspace:ticket", args=[0]),
        },
        "is_moderator": is_moderator(request.user),
        "now": timezone.now(),
    })


@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    """The filtered queue as CSV (streamed). No reporter contact data leaves this way."""
    if (denied := _guard(request)) is not None:
        return denied
    query, _form, _departments = parse_queue(request)
    rows = (
        ordered_queue(queue_queryset(queue_base(request.user, query), query))
        .values_list("pk", "created", "due_at", "is_overdue", "status", "category__service_code",
                     "department__code", "district__code", "assignee__username", "address",
                     "supporters_count", "is_hazard", "lat", "lon", "description")
        .iterator(chunk_size=2000)
    )

    def iso(v):
        return timezone.localtime(v).isoformat(timespec="seconds") if v else ""

    def lines():
        for (pk, created, due, overdue, status, cat, dept, district, assignee, address,
             supporters, hazard, lat, lon, description) in rows:  # streamed, one per ticket
            yield [pk, iso(created), iso(due), int(overdue), status, cat, dept or "",
                   district or "", assignee or "", address, supporters, int(hazard),
                   round(lat, 6), round(lon, 6), description.replace("\r", " ")[:1000]]

    header = ["number", "created", "due_at", "overdue", "status", "category", "department",
              "district", "assignee", "address", "supporters", "is_hazard", "lat", "lon",
              "description"]
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(header, lines(), f"workspace-queue-{stamp}.csv")


# --- Bulk actions -------------------------------------------------------------------------

def _safe_next(request: HttpRequest, value: str | None) -> str:
    base = reverse("workspace:queue")
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}) \
            and value.startswith(base):
        return value
    return base


@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Apply one action to many tickets: each ticket in its own transaction, failures listed.

    A ticket outside the user's scope fails like any other (without revealing whether it
    exists); the others still go through.
    """
    if (denied := _guard(request)) is not None:
        return denied
    form = BulkActionForm(request.POST)
    target = _safe_next(request, request.POST.get("next"))
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
        return redirect(target)
    data = form.cleaned_data
    ids = data["ids"]
    in_scope = set(workspace_scope(request.user).filter(pk__in=ids).values_list("pk", flat=True))
    done: list[int] = []
    failed: list[dict] = []
    assignee_raw = data.get("assignee") or ""
    for number in ids:  # one service call, one transaction per selected ticket
        try:
            if number not in in_scope:
                raise ValidationFailed("Not in your workspace.", code="not_in_scope")
            if data["action"] == "assign":
                if assignee_raw == "me":
                    report_accept(report_id=number, actor=request.user)
                else:
                    report_assign(report_id=number, actor=request.user,
                                  assignee_id=None if assignee_raw == "none"
                                  else int(assignee_raw) if assignee_raw.isdigit() else -1)
            else:
                to_status = data["to_status"]
                note = data.get("note") or ""
                if to_status in NOTE_REQUIRED and not note.strip():
                    raise ValidationFailed("note required", code="note_required")
                report_transition(
                    report_id=number, actor=request.user, to_status=to_status,
                    note=note if to_status != Status.REJECTED else "",
                    reason=data.get("reason") or (note if to_status == Status.REJECTED else ""),
                    duplicate_of_id=data.get("duplicate_of"),
                )
            done.append(number)
        except DomainError as error:
            failed.append({"number": number, "code": error.code, "message": error_text(error)})
    if data["action"] == "assign":
        label = _("Assign")
    else:
        label = _("Status: %(s)s") % {"s": Status(data["to_status"]).label}
    request.session["workspace_bulk"] = {"action": label, "done": done, "failed": failed}
    return redirect(target)


# --- The ticket page ----------------------------------------------------------------------

@dataclass
class Field:
    name: str
    label: str
    kind: str = "textarea"  # textarea, text, number, select, file
    required: bool = False
    value: str = ""
    errors: list[str] = field(default_factory=list)
    choices: list[tuple[str, str]] = field(default_factory=list)
    help: str = ""
    templates: list[dict] = field(default_factory=list)
    attrs: dict = field(default_factory=dict)


@dataclass
class ActionForm:
    key: str
    action: str
    title: str
    button: str
    fields: list[Field]
    to_status: str = ""
    error: str = ""
    danger: bool = False
    multipart: bool = False
    intro: str = ""


def _transition_title(frm: str, to: str) -> tuple[str, str]:
    """(title, button) for a transition, worded for what it means from here."""
    if to == Status.ASSIGNED:
        if frm == Status.IN_PROGRESS:
            return _("Pause work"), _("Pause")
        if frm == Status.NEEDS_INFO:
            return _("The reporter answered: resume"), _("Resume")
        if frm in (Status.RESOLVED, Status.CLOSED):
            return _("Reopen"), _("Reopen")
        if frm in (Status.REJECTED, Status.DUPLICATE):
            return _("Restore to the department"), _("Restore")
        return _("Approve and pass to the department"), _("Approve")
    titles = {
        Status.IN_PROGRESS: (_("Start work"), _("Start work")),
        Status.NEEDS_INFO: (_("Ask the reporter for information"), _("Ask")),
        Status.RESOLVED: (_("Resolve"), _("Mark resolved")),
        Status.REJECTED: (_("Reject"), _("Reject")),
        Status.DUPLICATE: (_("Mark as a duplicate"), _("Mark duplicate")),
        Status.CLOSED: (_("Close"), _("Close")),
        Status.NEW: (_("Back to triage"), _("Back to triage")),
        Status.MODERATION: (_("Back to moderation"), _("Back to moderation")),
    }
    return titles[Status(to)]


def _templates_for(templates: list[ResponseTemplate], status: str, lang: str) -> list[dict]:
    return [{"title": t.title,
             "text": t.text_en if lang == "en" and t.text_en else t.text_uk}
            for t in templates if not t.status or t.status == status]


def _transition_form(report: Report, to: Status, templates, values, nearby) -> ActionForm:
    transition = TRANSITIONS[(Status(report.status), to)]
    requires = set(transition.requires)
    title, button = _transition_title(report.status, to)
    fields: list[Field] = []
    lang = report.lang
    tpl = _templates_for(templates, to.value, lang)
    if to == Status.REJECTED:
        fields.append(Field("reason", _("Reason (sent to the reporter)"), required=True,
                            templates=tpl))
    elif to == Status.DUPLICATE:
        fields.append(Field("duplicate_of", _("Number of the original report"), kind="number",
                            required=True, attrs={"min": 1, "list": "nearby-numbers"},
                            help=_("Nearby open reports are listed below.") if nearby else ""))
        fields.append(Field("note", _("Public note (optional)"), templates=tpl))
    elif to == Status.NEEDS_INFO:
        fields.append(Field("note", _("Question to the reporter"), required=True,
                            templates=tpl))
    elif to == Status.RESOLVED:
        fields.append(Field("note", _("What was done (public)"), required=True, templates=tpl))
        fields.append(Field("photos", _("“After” photos (optional, up to 5)"), kind="file",
                            attrs={"accept": "image/*", "multiple": True}))
    else:
        if "reason" in requires:
            fields.append(Field("reason", _("Reason"), required=True))
        fields.append(Field("note", _("Public note (optional)"),
                            required="note" in requires, templates=tpl))
    fields.append(Field("internal_note", _("Internal note (staff only)")))
    for f in fields:
        f.value = values.get(f.name, "") if f.kind != "file" else ""
    return ActionForm(
        key=f"transition:{to.value}", action="transition", to_status=to.value, title=title,
        button=button, fields=fields, multipart=to == Status.RESOLVED,
        danger=to in (Status.REJECTED, Status.DUPLICATE),
    )


def build_actions(request: HttpRequest, report: Report, *, templates, nearby, people,
                  departments, failed_key: str = "", error: DomainError | None = None,
                  values=None) -> list[ActionForm]:
    """The action forms the transition table and the services allow this user here."""
    user = request.user
    roles = roles_for(user, report)
    values = values or {}

    def vals(key: str) -> dict:
        return values if key == failed_key else {}

    forms: list[ActionForm] = []
    is_open = report.status in OPEN_STATUSES
    works_here = bool(roles & WORK_ROLES)
    if works_here and is_open and report.department_id and report.assignee_id != user.pk \
            and report.department_id in department_ids(user):
        forms.append(ActionForm(key="accept", action="accept", title=_("Take this ticket"),
                                button=_("Take it"), fields=[],
                                intro=_("You become its assignee.")))
    for to in next_statuses(report.status, roles):
        if to == Status.MODERATION:
            continue  # the system's step only
        if report.department_id is None and to in (Status.ASSIGNED, Status.IN_PROGRESS,
                                                    Status.RESOLVED):
            continue  # route it first (the reassign form below)
        key = f"transition:{to.value}"
        forms.append(_transition_form(report, to, templates, vals(key), nearby))
    if works_here and is_open and report.department_id:
        v = vals("assign")
        choices = [("", _("Nobody"))] + [(str(p.pk), user_label(p)) for p in people]
        forms.append(ActionForm(
            key="assign", action="assign", title=_("Assign to a colleague"), button=_("Assign"),
            fields=[Field("assignee", _("Colleague"), kind="select", choices=choices,
                          value=v.get("assignee", str(report.assignee_id or "")))]))
    if works_here and is_open:
        v = vals("reassign")
        routed = report.department_id is not None
        forms.append(ActionForm(
            key="reassign", action="reassign",
            title=_("Pass to another department") if routed else _("Route to a department"),
            button=_("Reassign") if routed else _("Route"),
            fields=[
                Field("department", _("Department"), kind="select", required=True,
                      choices=[("", "—")] + [(str(d.pk), d.name) for d in departments
                                             if d.pk != report.department_id],
                      value=v.get("department", "")),
                Field("reason", _("Reason"), required=True, value=v.get("reason", "")),
            ]))
    if works_here and is_open and report.due_at:
        v = vals("extend")
        latest = sla.max_due_at(report.created, report.sla_paused_seconds)
        forms.append(ActionForm(
            key="extend", action="extend", title=_("Extend the deadline"), button=_("Extend"),
            intro=_("The law allows at most 45 days in total: the latest deadline is "
                    "%(d)s. The reporter is told.")
            % {"d": timezone.localtime(latest).strftime("%d.%m.%Y %H:%M")},
            fields=[
                Field("days", _("Days"), kind="number", required=True,
                      value=v.get("days", ""), attrs={"min": 1, "max": 30}),
                Field("reason", _("Reason (sent to the reporter)"), required=True,
                      value=v.get("reason", "")),
            ]))
    if works_here:
        v = vals("comment")
        forms.append(ActionForm(
            key="comment", action="comment", title=_("Public reply"), button=_("Publish reply"),
            fields=[Field("text", _("Reply"), required=True, value=v.get("text", ""),
                          templates=_templates_for(templates, "", report.lang),
                          attrs={"maxlength": 2000})]))
        v = vals("note")
        forms.append(ActionForm(
            key="note", action="note", title=_("Internal note"), button=_("Add note"),
            fields=[Field("internal_note", _("Note for colleagues (not shown to residents)"),
                          required=True, value=v.get("internal_note", ""),
                          attrs={"maxlength": 4000})]))
    if error is not None:
        for form in forms:
            if form.key == failed_key:
                form.error = error_text(error)
                for f in form.fields:
                    f.errors = [str(e) for e in error.fields.get(f.name, [])]
    return forms


def _int_or_none(raw: str | None, name: str) -> int | None:
    raw = (raw or "").strip().lstrip("#")
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationFailed(f"{name} must be a whole number.", code="invalid",
                               fields={name: [_("A whole number.")]})
    return int(raw)


def perform_action(request: HttpRequest, report: Report) -> tuple[str, str]:
    """Run the posted action through the services; returns (form key, success message)."""
    post = request.POST
    action = post.get("action", "")
    user = request.user
    seen = post.get("status_seen")
    if action == "transition":
        to = post.get("to_status", "")
        key = f"transition:{to}"
        if seen and seen != report.status:
            raise ValidationFailed("stale", code="stale")
        note = post.get("note", "")
        if to in NOTE_REQUIRED and not note.strip():
            # the page asks for a public answer: a reasoned reply is the city's duty
            raise ValidationFailed("note required", code="note_required",
                                   fields={"note": [_("This field is required.")]})
        report_transition(
            report_id=report.pk, actor=user, to_status=to, note=note,
            internal_note=post.get("internal_note", ""), reason=post.get("reason", ""),
            duplicate_of_id=_int_or_none(post.get("duplicate_of"), "duplicate_of"),
            photos=request.FILES.getlist("photos"),
        )
        return key, _("Status changed: %(s)s.") % {"s": Status(to).label}
    if action == "accept":
        report_accept(report_id=report.pk, actor=user)
        return "accept", _("The ticket is yours.")
    if action == "assign":
        assignee = _int_or_none(post.get("assignee"), "assignee")
        report_assign(report_id=report.pk, actor=user, assignee_id=assignee)
        return "assign", _("Assignee changed.")
    if action == "reassign":
        department = _int_or_none(post.get("department"), "department")
        if department is None:
            raise ValidationFailed("department required", code="department_invalid",
                                   fields={"department": [_("Choose a department.")]})
        report_reassign(report_id=report.pk, actor=user, department_id=department,
                        reason=post.get("reason", ""))
        return "reassign", _("Passed to another department.")
    if action == "extend":
        days = _int_or_none(post.get("days"), "days")
        report_extend_sla(report_id=report.pk, actor=user, days=days or 0,
                          reason=post.get("reason", ""))
        return "extend", _("Deadline extended.")
    if action == "comment":
        comment_create(report_id=report.pk, author=user, text=post.get("text", ""))
        return "comment", _("Reply published.")
    if action == "note":
        text = post.get("internal_note", "")
        if not text.strip():
            raise ValidationFailed("note required", code="note_required",
                                   fields={"internal_note": [_("This field is required.")]})
        report_note_add(report_id=report.pk, actor=user, internal_note=text)
        return "note", _("Internal note added.")
    if action == "merge":
        other = _int_or_none(post.get("other"), "other")
        key = f"merge:{other}"
        if other is None or not workspace_scope(user).filter(pk=other).exists():
            raise ValidationFailed("not in scope", code="not_in_scope")
        report_transition(report_id=other, actor=user, to_status=Status.DUPLICATE,
                          duplicate_of_id=report.pk,
                          internal_note=_("Merged from the ticket page of #%(n)s.")
                          % {"n": report.pk})
        return key, _("#%(o)s marked as a duplicate of this ticket.") % {"o": other}
    raise ValidationFailed("Unknown action.", code="invalid")


def _timeline(report: Report) -> list[dict]:
    entries = []
    for entry in report_timeline(report, internal=True):  # one ticket's history
        item = entry.item
        if entry.kind == "comment":
            entries.append({"kind": "comment", "created": entry.created,
                            "who": item.author_name or (item.author and user_label(item.author)),
                            "text": item.text, "staff": item.is_staff_reply,
                            "hidden": item.is_hidden})
            continue
        data = item.data or {}
        entries.append({
            "kind": "event", "type": item.type, "type_label": item.get_type_display(),
            "created": entry.created,
            "who": user_label(item.actor) if item.actor else (
                _("System") if item.actor_role in ("system", "") else item.actor_role),
            "role": item.actor_role,
            "from_status": item.get_from_status_display() if item.from_status else "",
            "to_status": item.get_to_status_display() if item.to_status else "",
            "from_department": item.from_department.name if item.from_department else "",
            "to_department": item.to_department.name if item.to_department else "",
            "public_note": item.public_note, "internal_note": item.internal_note,
            "reason": data.get("reason", ""), "duplicate_of": data.get("duplicate_of"),
            "assignee": data.get("assignee_name", ""), "merged": data.get("duplicate"),
            "public": bool(data.get("public")) or bool(item.public_note),
            "sla_to": data.get("to") if item.type == "sla_extended" else "",
        })
    return entries


def ticket_context(request: HttpRequest, report: Report, **action_kwargs) -> dict:
    user = request.user
    now = timezone.now()
    templates = _response_templates(report)
    nearby = list(nearby_open_reports(location=report.location, category=report.category,
                                      user=user, exclude_id=report.pk))
    for other in nearby:  # at most ten neighbours
        t = TRANSITIONS.get((Status(other.status), Status.DUPLICATE))
        other.can_merge = bool(t and t.roles & roles_for(user, other)) and (
            report.status in OPEN_STATUSES)
    people = list(colleagues([report.department_id])) if report.department_id else []
    departments = list(Department.objects.filter(is_active=True).order_by("name_uk"))
    photos = list(report.photos.all())
    failed_key = action_kwargs.get("failed_key", "")
    merge_error = ""
    if failed_key.startswith("merge:") and action_kwargs.get("error") is not None:
        merge_error = error_text(action_kwargs["error"])
    return {
        "report": report,
        "overdue": sla.is_overdue(report, now),
        "due_soon": sla.is_due_soon(report, now),
        "timeline": _timeline(report),
        "photos": photos,
        "show_contact": can_see_contact(user, report),
        "nearby": nearby,
        "merge_key": failed_key,
        "merge_error": merge_error,
        "actions": build_actions(request, report, templates=templates, nearby=nearby,
                                 people=people, departments=departments, **action_kwargs),
        "templates": [{"title": t.title, "status": t.get_status_display(),
                       "text": t.text_en if report.lang == "en" and t.text_en else t.text_uk}
                      for t in templates],
        "routing_rule": report.get_routing_rule_display() if report.routing_rule else "",
        "now": now,
    }


@require_http_methods(["GET", "POST"])
def ticket(request: HttpRequest, number: int) -> HttpResponse:
    if (denied := _guard(request)) is not None:
        return denied
    report = get_ticket(request.user, number)
    if request.method == "POST":
        try:
            key, message = perform_action(request, report)
        except DomainError as error:
            key = request.POST.get("action", "")
            if key == "transition":
                key = f"transition:{request.POST.get('to_status', '')}"
            elif key == "merge":
                key = f"merge:{request.POST.get('other', '')}"
            report = get_ticket(request.user, number)
            context = ticket_context(request, report, failed_key=key, error=error,
                                     values=request.POST)
            context["failed_action"] = key
            return render(request, "issues/workspace/ticket.html", context,
                          status=status_for(error))
        messages.success(request, message)
        if not workspace_scope(request.user).filter(pk=report.pk).exists():
            return redirect("workspace:queue")  # passed to a department outside our scope
        return redirect("workspace:ticket", number=report.pk)
    return render(request, "issues/workspace/ticket.html", ticket_context(request, report))


@require_GET
def photo_original(request: HttpRequest, pk: int) -> HttpResponse:
    """Stream a photo's private original (EXIF intact) to staff who may work the ticket."""
    if (denied := _guard(request)) is not None:
        return denied
    photo = Photo.objects.select_related("report").filter(pk=pk).first()
    if photo is None or not workspace_scope(request.user).filter(pk=photo.report_id).exists():
        raise Http404(_("No such photo."))
    if not roles_for(request.user, photo.report) & WORK_ROLES:
        return forbidden(request, _("Only the department's staff see original photos."))
    try:
        handle = photo.original.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("The original file is missing.")) from exc
    name = photo.original.name.rsplit("/", 1)[-1]
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type, filename=name)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
