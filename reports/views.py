"""Public HTML pages: the map, the reporting form, report pages, "my reports", accounts.

Views parse, call one selector or service, and render. Visibility and privacy come from
`reports.selectors` (which report a user may read, which point they may see); every write goes
through `reports.services`. The reporting form itself submits to the REST API (`POST
/api/v1/reports/` with an Idempotency-Key), so throttling and validation live in one place.
"""

from __future__ import annotations

from collections import OrderedDict
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.contrib.gis.db.models import PointField
from django.core.exceptions import FieldError
from django.core.paginator import Paginator
from django.db.models import Case, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import JavaScriptCatalog

from geocity.errors import DomainError, NotFound
from layers.geometry import lat_lon
from layers.safety import EMERGENCY_PHONE, RULES, TITLE
from layers.selectors import user_sees_restricted

from . import services, sla
from .forms import CommentForm, RespondForm, SignupForm, SubscribeForm, SupportForm
from .models import Photo, Report, Subscription
from .roles import GROUP_RESIDENT, is_read_only, roles_for
from .selectors import (
    ReportFilters,
    active_categories,
    public_address,
    report_list,
    report_timeline,
    reports_of_user,
    sees_exact_location,
)
from .workflow import OPEN_STATUSES, TRANSITIONS, Role, Status

# Status groups residents understand; the map, its legend and its filter use the same ones.
STATUS_GROUPS = OrderedDict(
    [
        ("open", [Status.NEW, Status.MODERATION, Status.ASSIGNED]),
        ("progress", [Status.IN_PROGRESS, Status.NEEDS_INFO]),
        ("done", [Status.RESOLVED, Status.CLOSED]),
        ("other", [Status.REJECTED, Status.DUPLICATE]),
    ]
)


def _status_group(status: str) -> str:
    for name, statuses in STATUS_GROUPS.items():
        if status in statuses:
            return name
    return "other"


def _lang() -> str:
    lang = (translation.get_language() or "uk")[:2]
    return lang if lang in ("uk", "en") else "uk"


def _safety_notice() -> dict:
    lang = _lang()
    return {"title": TITLE[lang], "rules": RULES[lang], "phone": EMERGENCY_PHONE}


def _grouped_categories() -> list[dict]:
    """Active categories grouped for pickers and filters, in the active language."""
    groups: OrderedDict[int, dict] = OrderedDict()
    for category in active_categories().order_by("group__order", "group__code", "order",
                                                 "service_code"):
        group = groups.setdefault(
            category.group_id,
            {"code": category.group.code, "name": category.group.name,
             "icon": category.group.icon, "categories": []},
        )
        group["categories"].append(category)
    return list(groups.values())


def _map_settings(request: HttpRequest) -> dict:
    """What every map (home, form, report page) needs; passed to JS with json_script."""
    return {
        "center": list(settings.MAP_CENTER),
        "zoom": settings.MAP_ZOOM,
        "basemap": {"url": settings.BASEMAP_URL, "attribution": settings.BASEMAP_ATTRIBUTION,
                    "fallbackAttribution": _("Schematic map from the city's layers")},
        "zoomIn": _("Zoom in"),
        "zoomOut": _("Zoom out"),
        "lang": _lang(),
    }


def _not_found(request: HttpRequest, message: str = "") -> HttpResponse:
    return render(request, "reports/pages/not_found.html", {"message": message}, status=404)


# --- Map ------------------------------------------------------------------------------------

def map_page(request: HttpRequest) -> HttpResponse:
    """The city map: reports, heatmap, hazard zones, infrastructure; filters and legend."""
    staff = user_sees_restricted(request.user)
    config = {
        **_map_settings(request),
        "staff": staff,
        "statusGroups": {k: [s.value for s in v] for k, v in STATUS_GROUPS.items()},
        "pointsFromZoom": 13,
    }
    return render(request, "reports/pages/map.html", {
        "config": config,
        "groups": _grouped_categories(),
        "staff": staff,
        "periods": [(7, _("Last 7 days")), (30, _("Last 30 days")), (90, _("Last 90 days")),
                    (365, _("Last year"))],
    })


# --- Reporting ------------------------------------------------------------------------------

def _float_param(request: HttpRequest, name: str, limit: float) -> float | None:
    try:
        value = float(request.GET.get(name, ""))
    except ValueError:
        return None
    return value if -limit <= value <= limit else None


def report_new(request: HttpRequest) -> HttpResponse:
    """The reporting form. Rendered here, driven by js/report-form.js against the API."""
    groups = _grouped_categories()
    categories = []
    for group in groups:
        for c in group["categories"]:
            categories.append({
                "code": c.service_code,
                "name": c.name,
                "group": group["code"],
                "icon": c.icon,
                "isHazard": c.is_hazard,
                "photoRequired": c.photo_required,
                "attributes": [
                    {
                        "code": a.code,
                        "datatype": a.datatype,
                        "required": a.required,
                        "description": a.description,
                        "values": [{"key": v["key"], "name": a.value_name(v)}
                                   for v in (a.values or [])],
                    }
                    for a in c.attributes.all()
                ],
            })
    lat = _float_param(request, "lat", 90)
    lon = _float_param(request, "lon", 180)
    config = {
        **_map_settings(request),
        "categories": categories,
        "initial": {"lat": lat, "lon": lon} if lat is not None and lon is not None else None,
        "category": request.GET.get("category", ""),
        "photoMaxBytes": settings.PHOTO_MAX_BYTES,
        "photoMaxCount": settings.PHOTO_MAX_PER_REPORT,
        "signedIn": request.user.is_authenticated,
        "notice": _safety_notice(),
    }
    return render(request, "reports/pages/report_new.html", {
        "config": config,
        "groups": groups,
        "notice": _safety_notice(),
        "photo_max_mb": settings.PHOTO_MAX_BYTES // (1024 * 1024),
        "photo_max_count": settings.PHOTO_MAX_PER_REPORT,
    })


# --- Report page ----------------------------------------------------------------------------

def _visible_report(request: HttpRequest, number: int) -> Report | None:
    """The report as this user may see it, with `display_location` (generalised for the
    public when it is a hazard report)."""
    qs = report_list(user=request.user, filters=ReportFilters())
    # Until the selector's CASE states its output field itself (the API does the same).
    expr = qs.query.annotations.get("display_location")
    if isinstance(expr, Case):
        try:
            expr.output_field  # noqa: B018 - resolves the type when Django can
        except FieldError:
            expr.output_field = PointField(srid=settings.STORAGE_SRID)
    return qs.select_related("category__group", "duplicate_of").filter(pk=number).first()


def _answers(report: Report) -> list[tuple[str, str]]:
    """The category questions and this report's answers, in the active language."""
    answers = []
    for attr in report.category.attributes.all():
        value = (report.attributes or {}).get(attr.code)
        if value in (None, "", []):
            continue
        names = {v["key"]: attr.value_name(v) for v in attr.values or []}
        if isinstance(value, list):
            shown = ", ".join(names.get(str(v), str(v)) for v in value)
        else:
            shown = names.get(str(value), str(value))
        answers.append((attr.description, shown))
    return answers


REPORTER_ACTIONS = {
    (Status.NEEDS_INFO, Status.ASSIGNED): ("answer", "note"),
    (Status.RESOLVED, Status.CLOSED): ("confirm", "note"),
    (Status.RESOLVED, Status.ASSIGNED): ("reopen", "reason"),
    (Status.CLOSED, Status.ASSIGNED): ("reopen", "reason"),
}


def _reporter_actions(user, report: Report) -> list[dict]:
    """What the report's author may answer from its page, per the transition table."""
    if Role.REPORTER not in roles_for(user, report):
        return []
    actions = []
    for (frm, to), (name, field) in REPORTER_ACTIONS.items():
        transition = TRANSITIONS.get((frm, to))
        if frm == report.status and transition and Role.REPORTER in transition.roles:
            actions.append({"name": name, "status": to.value, "field": field,
                            "required": field in transition.requires})
    return actions


def report_detail(request: HttpRequest, number: int) -> HttpResponse:
    report = _visible_report(request, number)
    if report is None:
        return _not_found(request, _("There is no report number %(number)s, or it is hidden.")
                          % {"number": number})
    photos = list(report.photos.filter(state__in=[Photo.State.READY, Photo.State.PENDING]))
    generalised = report.is_hazard and not sees_exact_location(request.user)
    lat, lon = lat_lon(report.display_location)
    is_supporter = bool(
        request.user.is_authenticated
        and report.supporters.filter(user=request.user).exists()
    )
    now = timezone.now()
    config = {
        **_map_settings(request),
        "point": [lat, lon],
        "generalised": generalised,
        "cellM": settings.HAZARD_PUBLIC_CELL_M,
        "statusGroup": _status_group(report.status),
    }
    initial_email = request.user.email if request.user.is_authenticated else ""
    return render(request, "reports/pages/report_detail.html", {
        "report": report,
        "config": config,
        "generalised": generalised,
        "address": public_address(report, request.user),
        "resident_photos": [p for p in photos if p.kind == Photo.Kind.RESIDENT],
        "after_photos": [p for p in photos if p.kind == Photo.Kind.AFTER],
        "timeline": report_timeline(report, internal=False),
        "answers": _answers(report),
        "overdue": sla.is_overdue(report, now),
        "is_open": report.status in OPEN_STATUSES,
        "status_group": _status_group(report.status),
        "is_supporter": is_supporter,
        "is_reporter": bool(request.user.is_authenticated
                            and report.reporter_id == request.user.pk),
        "actions": _reporter_actions(request.user, report),
        "support_form": SupportForm(),
        "comment_form": CommentForm(),
        "subscribe_form": SubscribeForm(initial={"email": initial_email}),
        "respond_form": RespondForm(),
        "notice": _safety_notice() if report.is_hazard else None,
        "read_only": is_read_only(request.user),
    })


def report_submitted(request: HttpRequest, number: int) -> HttpResponse:
    """The confirmation after the form: number, department, deadline, link."""
    report = _visible_report(request, number)
    if report is None:
        return _not_found(request)
    return render(request, "reports/pages/report_submitted.html", {
        "report": report,
        "notice": _safety_notice() if report.is_hazard else None,
    })


def _back(report_number: int, anchor: str = "") -> HttpResponse:
    url = reverse("report-detail", args=[report_number])
    return redirect(f"{url}#{anchor}" if anchor else url)


def _domain_message(request: HttpRequest, error: DomainError) -> None:
    """A service refused: say why, in the page's language where we know the code."""
    known = {
        "report_closed": _("Only open reports can be supported."),
        "own_report": _("You reported this problem yourself."),
        "email_required": _("Give a valid e-mail address."),
        "not_authenticated": _("Log in to comment."),
        "reopen_window_closed": _("The time to reopen this report has passed."),
        "reason_required": _("Tell us why it is not fixed."),
        "note_required": _("Write the information that was asked for."),
        "invalid_transition": _("The report has changed in the meantime; reload the page."),
        "transition_forbidden": _("You may not do that with this report."),
        "comment_required": _("Write a comment."),
        "comment_too_long": _("Comments are limited to 2000 characters."),
        "report_not_found": _("The report does not exist."),
        "read_only_role": _("Officials have read-only access."),
    }
    messages.error(request, known.get(error.code, error.message))


@require_POST
def report_support_view(request: HttpRequest, number: int) -> HttpResponse:
    form = SupportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a valid e-mail address."))
        return _back(number, "support")
    try:
        report, created = services.report_support(
            report_id=number, user=request.user, email=form.cleaned_data["email"]
        )
    except DomainError as error:
        _domain_message(request, error)
        return _back(number, "support")
    if created and not request.user.is_authenticated:
        messages.success(request, _("Thank you: your support is counted. To get updates, "
                                    "confirm your e-mail from the link we sent."))
    elif created:
        messages.success(request, _("Thank you: your support is counted, and we will tell you "
                                    "when the status changes."))
    else:
        messages.info(request, _("You already support this report."))
    return _back(number, "support")


@require_POST
def report_comment_view(request: HttpRequest, number: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(reverse("login") + "?"
                        + urlencode({"next": reverse("report-detail", args=[number])}))
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write a comment of at most 2000 characters."))
        return _back(number, "comments")
    try:
        services.comment_create(report_id=number, author=request.user,
                                text=form.cleaned_data["text"])
    except DomainError as error:
        _domain_message(request, error)
        return _back(number, "comments")
    messages.success(request, _("Your comment is published."))
    return _back(number, "comments")


@require_POST
def report_subscribe_view(request: HttpRequest, number: int) -> HttpResponse:
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a valid e-mail address."))
        return _back(number, "subscribe")
    try:
        sub = services.subscription_create(report_id=number, email=form.cleaned_data["email"],
                                           user=request.user, lang=_lang())
    except DomainError as error:
        _domain_message(request, error)
        return _back(number, "subscribe")
    if sub.confirmed_at is None:
        messages.success(request, _("Almost done: open the link we sent to %(email)s to confirm "
                                    "the updates.") % {"email": sub.email})
    else:
        messages.success(request, _("Subscribed: we will e-mail you when the status changes."))
    return _back(number, "subscribe")


@require_POST
def report_respond_view(request: HttpRequest, number: int) -> HttpResponse:
    """The reporter confirms the fix, reopens, or answers a question (via the workflow)."""
    if not request.user.is_authenticated:
        return redirect(reverse("login") + "?"
                        + urlencode({"next": reverse("report-detail", args=[number])}))
    form = RespondForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write at most 2000 characters."))
        return _back(number, "respond")
    status, note = form.cleaned_data["status"], form.cleaned_data["note"]
    reason = note if status == Status.ASSIGNED else ""
    try:
        report = Report.objects.only("status").get(pk=number)
        field = REPORTER_ACTIONS.get((report.status, status), (None, "note"))[1]
        services.report_transition(
            report_id=number, actor=request.user, to_status=status,
            note=note if field == "note" else "", reason=reason if field == "reason" else "",
        )
    except Report.DoesNotExist:
        return _not_found(request)
    except DomainError as error:
        _domain_message(request, error)
        return _back(number, "respond")
    messages.success(request, _("Thank you: the department is told."))
    return _back(number)


# --- My reports -----------------------------------------------------------------------------

@login_required
def my_reports(request: HttpRequest) -> HttpResponse:
    qs = reports_of_user(request.user).prefetch_related(
        Prefetch("photos", queryset=Photo.objects.filter(state=Photo.State.READY,
                                                         kind=Photo.Kind.RESIDENT),
                 to_attr="ready_photos")
    )
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [
        {"report": r, "overdue": sla.is_overdue(r, now), "group": _status_group(r.status),
         "mine": r.reporter_id == request.user.pk, "address": public_address(r, request.user),
         "thumb": r.ready_photos[0].thumbnail.url if r.ready_photos else ""}
        for r in page.object_list
    ]
    return render(request, "reports/pages/my_reports.html", {"page": page, "rows": rows})


# --- Subscriptions --------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token) -> HttpResponse:
    """GET asks (mail scanners follow links); POST cancels the subscription."""

    sub = Subscription.objects.select_related("report").filter(token=token).first()
    if sub is None:
        return _not_found(request, _("This unsubscribe link is not valid."))
    done = False
    if request.method == "POST":
        try:
            sub = services.subscription_cancel(token=token)
        except NotFound:
            return _not_found(request, _("This unsubscribe link is not valid."))
        done = True
    return render(request, "reports/pages/unsubscribe.html", {"sub": sub, "done": done})


@require_http_methods(["GET", "POST"])
def subscription_confirm_view(request: HttpRequest, token) -> HttpResponse:
    """Double opt-in: GET asks (mail scanners follow links); POST confirms."""

    sub = Subscription.objects.select_related("report").filter(token=token).first()
    if sub is None:
        return _not_found(request, _("This confirmation link is not valid."))
    done = sub.confirmed_at is not None and sub.is_active
    if request.method == "POST":
        try:
            sub = services.subscription_confirm(token=token)
        except NotFound:
            return _not_found(request, _("This confirmation link is not valid."))
        done = True
    return render(request, "reports/pages/subscription_confirm.html", {"sub": sub, "done": done})


# --- Accounts -------------------------------------------------------------------------------

def _safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Register an e-mail account in the resident group, then sign in."""
    if request.user.is_authenticated:
        return redirect(_safe_next(request))
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        user.groups.add(Group.objects.get_or_create(name=GROUP_RESIDENT)[0])
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome! Your account is ready."))
        return redirect(_safe_next(request))
    return render(request, "registration/signup.html",
                  {"form": form, "next": _safe_next(request, "")})


# --- JavaScript translations ----------------------------------------------------------------

_catalog = JavaScriptCatalog.as_view(domain="djangojs", packages=["reports"])


@cache_control(max_age=3600, public=True)
def javascript_catalog(request: HttpRequest, lang: str) -> HttpResponse:
    """gettext() for the page scripts. The language is in the URL so browsers cache each."""
    if lang not in dict(settings.LANGUAGES):
        return _not_found(request)
    with translation.override(lang):
        return _catalog(request)
