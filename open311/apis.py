"""Open311 GeoReport v2 at /open311/v2/, in JSON and XML, with the widely used extensions.

Resources (each as `{resource}.json` or `{resource}.xml`):
- GET `discovery`, `services`, `services/{service_code}`, `tokens/{token}`;
- GET and POST `requests` (POST needs an `api_key`), GET `requests/{service_request_id}`;
- GET and POST `servicerequestupdates` (FixMyStreet): back-offices read and push status updates.

Rules every view follows:
- errors are arrays of `{code, description}`: 404 unknown resource (service, request, token,
  jurisdiction), 403 missing/invalid/revoked `api_key` or a report outside the client's
  departments, 405 wrong method, 429 too many POSTs, 400 everything else; malformed input
  never gives a 5xx;
- datetimes are W3C with the city's UTC offset; ids are strings; lists are top-level arrays;
  an empty parameter counts as absent;
- `jurisdiction_id` is optional; when given it must be settings.OPEN311_JURISDICTION;
- the output is the public view (`reports.selectors.report_list` for an anonymous user):
  hidden reports and reports awaiting pre-moderation never appear, explosive-ordnance
  reports show the centre of their HAZARD_PUBLIC_CELL_M grid cell (never the exact point)
  and no address, reporter contact data is never selected;
- `media_url` given on POST is stored as a note and echoed back; the server never fetches it
  (an isolated municipal network: no request leaves the server). Photos can be uploaded as
  multipart `media` files instead.

Pre-moderation (settings.PREMODERATION): a request posted while its report awaits a
moderator is answered with its `token` and no `service_request_id`, as the spec allows;
`tokens/{token}` gives the id once a moderator has published the report (until then it
answers with the token and an empty id).

Throttling: every POST (`requests` and `servicerequestupdates`) counts against its api_key's
budget, settings.OPEN311_RATE (DRF-style rates, default `["60/min", "5000/day"]`, one sliding
window each, kept in the Django cache). Over the limit: 429 with `Retry-After` (seconds) and
the usual error array; the refused POST is not counted.

Status mapping (outbound: `status` and FixMyStreet's extended `detailed_status`; inbound:
what a back-office may push to `servicerequestupdates`):

| Open City status | Open311 `status` | extended status (outbound)  |
|------------------|------------------|-----------------------------|
| new              | open             | FOR_TRIAGE                  |
| moderation       | open             | FOR_TRIAGE (never public)   |
| assigned         | open             | OPEN                        |
| in_progress      | open             | IN_PROGRESS                 |
| needs_info       | open             | INVESTIGATING               |
| resolved         | closed           | FIXED                       |
| closed           | closed           | CLOSED                      |
| rejected         | closed           | NOT_COUNCILS_RESPONSIBILITY |
| duplicate        | closed           | DUPLICATE                   |

| pushed extended status                                            | becomes     |
|-------------------------------------------------------------------|-------------|
| OPEN, REOPEN                                                      | assigned    |
| INVESTIGATING, ACTION_SCHEDULED, IN_PROGRESS                      | in_progress |
| FIXED, CLOSED                                                     | resolved    |
| NO_FURTHER_ACTION, NOT_COUNCILS_RESPONSIBILITY, INTERNAL_REFERRAL | rejected    |
| DUPLICATE (+ `duplicate_of`)                                      | duplicate   |
| FOR_TRIAGE                                                        | refused     |

FOR_TRIAGE is refused (400): triage is the city's own queue. DUPLICATE needs
`duplicate_of=<service_request_id>` of the original, a request the client can see (public,
or of one of its departments); missing, malformed or unknown -> 400 saying so. The workflow
table lets the system mark duplicates from assigned, in_progress and needs_info; the
duplicate's supporters move to the original, as when staff merge them.

A pushed status is applied through `reports.services.report_transition` as the system role;
a move the workflow table does not allow from the current status is refused with 400 and
the list of statuses that may be pushed from there. A push that keeps the current status
(e.g. ACTION_SCHEDULED while in progress) is recorded through
`reports.services.report_note_add` (a public note when it has a description). Either way the
event is linked to the client's `update_id` (`open311.models.ClientUpdate`): a repeat from
the same client is 400.

The modules: `protocol` (errors, formats, the view wrapper), `params` (parsing),
`statuses` (the mapping above), `selectors` and `services` (reads and writes), and this
one, the views.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from geocity.errors import DomainError
from layers.safety import safety_notice
from reports.models import DESCRIPTION_MAX, Category, Report, ReportEvent
from reports.selectors import ReportFilters, active_categories, public_address
from reports.throttles import MultiRateThrottle, parse_rates
from reports.workflow import Status

from .models import ApiClient
from .params import (
    DEFAULT_WINDOW,
    MAX_NAME,
    MAX_UPDATE_ID,
    absolute_url,
    apply_range,
    comma_list,
    is_id,
    parse_attributes,
    parse_bool,
    parse_contact,
    parse_date_range,
    parse_ids,
    parse_int,
    parse_location,
    parse_media_url,
    parse_page,
    parse_spatial,
    parse_status,
    parse_w3c,
    require_form,
)
from .protocol import Open311Error, bad_request, describe, open311_view, param, render, w3c
from .selectors import api_client_for_key, public_requests, public_updates
from .services import request_submit, update_push
from .statuses import OPEN311_INBOUND, OPEN311_STATUS

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this implementation's discovery document last changed.
DISCOVERY_CHANGESET = datetime(2026, 11, 22, tzinfo=UTC)


# --- Discovery and services ---------------------------------------------------------------

@open311_view("GET")
def discovery(request: HttpRequest, *, fmt: str) -> HttpResponse:
    changeset = w3c(DISCOVERY_CHANGESET)
    data = {
        "changeset": changeset,
        "contact": f"{settings.SITE_NAME}: {settings.SITE_URL}/",
        "key_service": (
            "API keys for POST are issued per client application by the city's administrators "
            "(Django admin or `manage.py create_api_key`)."
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{settings.SITE_URL}/open311/v2",
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", data)


def _service(category: Category) -> dict:
    return {
        "service_code": category.service_code,
        "service_name": category.name,
        "description": category.description,
        "metadata": bool(category.attributes.all()),
        "type": "realtime",
        "keywords": category.keywords,
        "group": category.group.name,
    }


@open311_view("GET")
def service_list(request: HttpRequest, *, fmt: str) -> HttpResponse:
    return render(fmt, "services", [_service(c) for c in active_categories()])


@open311_view("GET")
def service_definition(request: HttpRequest, service_code: str, *, fmt: str) -> HttpResponse:
    category = active_categories().filter(service_code=service_code).first()
    if category is None:
        raise Open311Error(404, f"Service {service_code!r} does not exist.")
    attributes = [
        {
            "variable": True,
            "code": a.code,
            "datatype": a.datatype,
            "required": a.required,
            "datatype_description": str(a.get_datatype_display()),
            "order": a.order,
            "description": a.description,
            "values": [{"key": v["key"], "name": a.value_name(v)} for v in a.values or []],
        }
        for a in category.attributes.all()
    ]
    return render(fmt, "service_definition",
                  {"service_code": category.service_code, "attributes": attributes})


# --- Reading requests ---------------------------------------------------------------------

def _hazard_notice_text() -> str:
    notice = safety_notice()
    language = "en" if translation.get_language() == "en" else "uk"
    return " ".join([notice["title"][language] + ".", *notice["rules"][language]])


def _photo_urls(request: HttpRequest, report: Report) -> list[str]:
    return [absolute_url(request, p.display.url) for p in report.o311_photos if p.display]


def _request_dict(request: HttpRequest, report: Report, *, extensions: bool) -> dict:
    status, detailed = OPEN311_STATUS[Status(report.status)]
    # report_list's display_location (the grid-cell centre for explosive-ordnance reports),
    # in WGS 84 (public_requests)
    lat, lon = round(report.o311_lat, 7), round(report.o311_long, 7)
    photos = _photo_urls(request, report)
    submitted = [e.data["media_url"] for e in report.o311_media]
    data: dict[str, Any] = {
        "service_request_id": str(report.pk),
        "status": status,
        "status_notes": report.o311_status_notes or None,
        "service_name": report.category.name,
        "service_code": report.category.service_code,
        "description": report.description,
        "agency_responsible": report.department.name if report.department else None,
        "service_notice": _hazard_notice_text() if report.is_hazard else None,
        "requested_datetime": w3c(report.created),
        "updated_datetime": w3c(report.updated),
        "expected_datetime": w3c(report.due_at),
        "address": public_address(report, AnonymousUser()) or None,  # the public view
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": (photos or submitted or [None])[0],
    }
    if extensions:
        data["extended_attributes"] = {
            "detailed_status": detailed,
            "status_code": report.status,
            "status_display": str(report.get_status_display()),
            "department": (
                {"code": report.department.code, "name": report.department.name}
                if report.department else None
            ),
            "district": (
                {"code": report.district.code, "name": report.district.name}
                if report.district else None
            ),
            "group": report.category.group.name,
            "photos": photos,
            "supporters_count": report.supporters_count,
            "is_hazard": report.is_hazard,
            "location_generalised": report.is_hazard,
            "url": absolute_url(request, report.get_absolute_url()),
        }
    return data


@open311_view("GET", "POST")
def requests_view(request: HttpRequest, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create_request(request, fmt)
    extensions = parse_bool("extensions", raw) if (raw := param(request, "extensions")) else False
    if raw := param(request, "service_request_id"):
        # The spec: a list of ids overrides every other filter.
        ids = parse_ids(raw)
        reports = list(public_requests(ReportFilters()).filter(pk__in=ids))
    else:
        filters = ReportFilters()
        if raw := param(request, "service_code"):
            filters.categories = comma_list(raw)
        if raw := param(request, "status"):
            filters.statuses = parse_status(raw)
        parse_spatial(request, filters)
        qs = public_requests(filters)
        start, end, exclusive = parse_date_range(request, "start_date", "end_date")
        updated_after, updated_before, upd_exclusive = parse_date_range(
            request, "updated_after", "updated_before")
        if start is None and end is None and updated_after is None and updated_before is None:
            start = timezone.now() - DEFAULT_WINDOW
        elif start is None and end is not None:
            try:
                start = end - DEFAULT_WINDOW
            except OverflowError:
                start = None
        qs = apply_range(qs, "created", start, end, exclusive)
        qs = apply_range(qs, "updated", updated_after, updated_before, upd_exclusive)
        offset, limit = parse_page(request)
        reports = list(qs[offset:offset + limit])
    data = [_request_dict(request, r, extensions=extensions) for r in reports]
    return render(fmt, "service_requests", data)


@open311_view("GET")
def request_detail(request: HttpRequest, service_request_id: str, *, fmt: str) -> HttpResponse:
    not_found = Open311Error(404, f"Service request {service_request_id!r} does not exist.")
    if not is_id(service_request_id):
        raise not_found
    extensions = parse_bool("extensions", raw) if (raw := param(request, "extensions")) else False
    report = public_requests(ReportFilters()).filter(pk=int(service_request_id)).first()
    if report is None:
        raise not_found
    return render(fmt, "service_requests",
                  [_request_dict(request, report, extensions=extensions)])


@open311_view("GET")
def token_detail(request: HttpRequest, token: str, *, fmt: str) -> HttpResponse:
    not_found = Open311Error(404, f"Token {token!r} does not exist.")
    try:
        value = uuid.UUID(token)
    except ValueError as exc:
        raise not_found from exc
    report = (Report.objects.filter(token=value, is_hidden=False)
              .only("pk", "token", "status").first())
    if report is None:
        raise not_found
    return render(fmt, "service_requests",
                  [{"service_request_id": _published_id(report), "token": str(report.token)}])


def _published_id(report: Report) -> str | None:
    """The public id, or None while the report awaits pre-moderation (not public yet)."""
    return None if report.status == Status.MODERATION else str(report.pk)


# --- Creating requests --------------------------------------------------------------------

class ClientThrottle(MultiRateThrottle):
    """settings.OPEN311_RATE per API client, for every Open311 POST."""

    scope = "open311"
    setting = "OPEN311_RATE"
    default_rates = ("60/min", "5000/day")

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def identity(self, request) -> str:
        return f"client:{self.client.pk}"


def _client(request: HttpRequest) -> ApiClient:
    """The client owning the `api_key` (form body, or query string as some clients send it),
    within its POST budget."""
    key = param(request, "api_key", body=True) or param(request, "api_key")
    if not key:
        raise Open311Error(403, "api_key is required to post.")
    client = api_client_for_key(key)
    if client is None:
        raise Open311Error(403, "api_key is invalid or has been revoked.")
    throttle = ClientThrottle(client)
    if not throttle.allow_request(request, None):
        seconds = max(1, math.ceil(throttle.wait() or 0))
        rates = getattr(settings, throttle.setting, throttle.default_rates)
        limits = ", ".join(f"{count} per {_period(duration)}"
                           for count, duration in parse_rates(rates, setting=throttle.setting))
        raise Open311Error(
            429, f"Too many POSTs with this api_key (limit: {limits}); retry in {seconds} s.",
            headers={"Retry-After": str(seconds)},
        )
    return client


def _period(seconds: int) -> str:
    names = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
    return names.get(seconds, f"{seconds} s")


def _create_request(request: HttpRequest, fmt: str) -> HttpResponse:
    require_form(request)
    client = _client(request)
    service_code = param(request, "service_code", body=True)
    if not service_code:
        raise bad_request("service_code is required.")
    category = active_categories().filter(service_code=service_code).first()
    if category is None:
        raise bad_request(f"service_code {service_code!r} is not a known service.")
    location, address = parse_location(request)
    answers = parse_attributes(request)
    contact = parse_contact(request)
    media_url = parse_media_url(param(request, "media_url", body=True))
    description = param(request, "description", body=True)
    if len(description) > DESCRIPTION_MAX:
        raise bad_request(
            f"description is {len(description)} characters; the limit is {DESCRIPTION_MAX}."
        )
    # The spec makes description optional; a report needs one, so the service name stands in.
    description = description or category.name
    account_id = param(request, "account_id", body=True)[:MAX_NAME] or None
    device_id = param(request, "device_id", body=True)[:MAX_NAME]
    photos = request.FILES.getlist("media")
    try:
        report = request_submit(
            client=client, category=category, location=location, description=description,
            address=address, attributes=answers, contact=contact,
            lang=translation.get_language() or "uk", photos=photos, media_url=media_url,
            device_id=device_id, account_id=account_id,
        )
    except DomainError as exc:
        if category.is_hazard:  # safety first, even when the report cannot be taken
            raise bad_request(*describe(exc), _hazard_notice_text()) from exc
        raise
    data = [{
        "service_request_id": _published_id(report),
        "token": str(report.token),
        "service_notice": _hazard_notice_text() if report.is_hazard else _moderation_notice(
            report),
        "account_id": account_id,
    }]
    return render(fmt, "service_requests", data, status=201)


_MODERATION_NOTICE = {
    "uk": "Звернення буде опубліковано після перевірки модератором; номер "
          "(service_request_id) можна дізнатися пізніше за токеном.",
    "en": "The request is published once a moderator has checked it; look its token up "
          "later for the service_request_id.",
}


def _moderation_notice(report: Report) -> str | None:
    if report.status != Status.MODERATION:
        return None
    return _MODERATION_NOTICE["en" if translation.get_language() == "en" else "uk"]


# --- FixMyStreet's servicerequestupdates --------------------------------------------------

def _update_dict(event: ReportEvent) -> dict:
    # A note has no status of its own: the one the report had then (annotated), else now.
    status = event.to_status or getattr(event, "o311_status_then", None) or event.report.status
    return {
        "update_id": str(event.pk),
        "service_request_id": str(event.report_id),
        "status": OPEN311_STATUS[Status(status)][1],
        "updated_datetime": w3c(event.created),
        "description": event.public_note or None,
        "media_url": None,
    }


@open311_view("GET", "POST")
def updates_view(request: HttpRequest, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_update(request, fmt)
    qs = public_updates()
    if raw := param(request, "service_request_id"):
        qs = qs.filter(report_id__in=parse_ids(raw))
    start, end, exclusive = parse_date_range(request, "start_date", "end_date")
    if start is None and end is None:
        start = timezone.now() - DEFAULT_WINDOW
    qs = apply_range(qs, "created", start, end, exclusive)
    offset, limit = parse_page(request)
    data = [_update_dict(e) for e in qs[offset:offset + limit]]
    return render(fmt, "service_request_updates", data)


def _post_update(request: HttpRequest, fmt: str) -> HttpResponse:
    require_form(request)
    client = _client(request)
    raw_id = param(request, "service_request_id", body=True)
    if not raw_id:
        raise bad_request("service_request_id is required.")
    not_found = Open311Error(404, f"Service request {raw_id!r} does not exist.")
    if not is_id(raw_id):
        raise not_found
    report = Report.objects.select_related("department").filter(pk=int(raw_id)).first()
    allowed = set(client.departments.values_list("pk", flat=True))
    if report is None or (report.is_hidden and report.department_id not in allowed):
        raise not_found
    if report.department_id not in allowed:
        raise Open311Error(
            403, f"This api_key may not update service request {report.pk}: it belongs to "
                 f"{report.department.name if report.department else 'no department yet'}."
        )
    update_id = param(request, "update_id", body=True)
    if not update_id:
        raise bad_request("update_id is required.")
    if len(update_id) > MAX_UPDATE_ID:
        raise bad_request(f"update_id must be at most {MAX_UPDATE_ID} characters.")
    pushed = param(request, "status", body=True).upper()
    if not pushed:
        raise bad_request("status is required.")
    if pushed not in OPEN311_INBOUND:
        raise bad_request(
            f"status {pushed!r} cannot be pushed; use one of {', '.join(OPEN311_INBOUND)}."
        )
    stamp = None
    if raw := param(request, "updated_datetime", body=True):
        stamp = parse_w3c("updated_datetime", raw)[0].isoformat()
    description = param(request, "description", body=True)
    if len(description) > DESCRIPTION_MAX:
        raise bad_request(f"description must be at most {DESCRIPTION_MAX} characters.")
    media_url = parse_media_url(param(request, "media_url", body=True))
    duplicate_of = None
    if raw := param(request, "duplicate_of", body=True):
        duplicate_of = parse_int("duplicate_of", raw)
    internal = f"Open311 {client.name}: update {update_id}, {pushed}" + (
        f", at {stamp}" if stamp else "") + (f", media_url={media_url} (not fetched)"
                                             if media_url else "")
    event = update_push(client=client, report_id=report.pk, update_id=update_id,
                        pushed=pushed, description=description, internal_note=internal,
                        media_url=media_url, duplicate_of=duplicate_of)
    event.report = report
    data = [{**_update_dict(event), "external_id": update_id}]
    return render(fmt, "service_request_updates", data, status=201)
