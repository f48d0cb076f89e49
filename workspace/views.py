"""The department workspace: the queue, bulk actions, exports and the ticket page.

Views parse input, call reports.services (which hold every rule and raise DomainError) and
render. Reads are in `workspace.selectors`, the ticket's action forms in `workspace.actions`,
bulk actions in `workspace.services`. Scope:
a clerk sees the tickets of their own departments; moderators and admins see every
department plus the triage queue (reports with no department).
"""

from __future__ import annotations

import mimetypes
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from geocity.errors import DomainError, status_for
from geocity.responses import csv_response, forbidden
from layers.models import Department
from reports import sla
from reports.models import Photo, Report
from reports.roles import (
    can_see_contact,
    can_use_workspace,
    is_moderator,
    roles_for,
)
from reports.selectors import ReportFilters, nearby_open_reports, report_timeline
from reports.workflow import OPEN_STATUSES, TRANSITIONS, Role, Status

from .actions import build_actions, error_text, perform_action
from .forms import (
    DEFAULT_PER_PAGE,
    TRIAGE,
    BulkActionForm,
    QueueFilterForm,
    colleagues,
    user_label,
    workspace_departments,
)
from .selectors import (
    WORK_ROLES,
    QueueQuery,
    get_ticket,
    ordered_numbers,
    ordered_queue,
    queue_base,
    queue_queryset,
    queue_rows,
    response_templates,
    status_counts,
    workspace_scope,
)
from .services import tickets_bulk_apply

# --- Access -------------------------------------------------------------------------------

def _guard(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_use_workspace(request.user):
        return forbidden(request, _("The workspace is for department staff and moderators."))
    return None


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
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    except PageNotAnInteger:  # ?page=' (a probe's SQL metacharacter) was a 500
        page = paginator.page(1)
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
    return render(request, "workspace/queue.html", {
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
    result = tickets_bulk_apply(
        user=request.user, ids=data["ids"], action=data["action"],
        to_status=data.get("to_status") or "", note=data.get("note") or "",
        reason=data.get("reason") or "", duplicate_of=data.get("duplicate_of"),
        assignee=data.get("assignee") or "",
    )
    done = result.done
    failed = [{"number": number, "code": error.code, "message": error_text(error)}
              for number, error in result.failed]
    if data["action"] == "assign":
        label = _("Assign")
    else:
        label = _("Status: %(s)s") % {"s": Status(data["to_status"]).label}
    request.session["workspace_bulk"] = {"action": label, "done": done, "failed": failed}
    return redirect(target)


# --- The ticket page ----------------------------------------------------------------------

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
    templates = response_templates(report)
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
            return render(request, "workspace/ticket.html", context,
                          status=status_for(error))
        messages.success(request, message)
        if not workspace_scope(request.user).filter(pk=report.pk).exists():
            return redirect("workspace:queue")  # passed to a department outside our scope
        return redirect("workspace:ticket", number=report.pk)
    return render(request, "workspace/ticket.html", ticket_context(request, report))


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
