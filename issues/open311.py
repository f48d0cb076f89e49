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
- the output is the public view (`issues.selectors.report_list` for an anonymous user):
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

A pushed status is applied through `issues.services.report_transition` as the system role;
a move the workflow table does not allow from the current status is refused with 400 and
the list of statuses that may be pushed from there. A push that keeps the current status
(e.g. ACTION_SCHEDULED while in progress) is recorded through
`issues.services.report_note_add` (a public note when it has a description). Either way the
`update_id` is kept as the event's external id: a repeat from the same client is 400.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from functools import wraps
from typing import Any
from xml.etree import ElementTree as ET

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import DataError, IntegrityError, transaction
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.csrf import csrf_exempt

from geocity.errors import Conflict, DomainError, status_for
from layers.geometry import lat_lon, point_from_lat_lon
from layers.models import AddressPoint
from layers.safety import safety_notice
from layers.selectors import address_nearest, address_search

from .models import DESCRIPTION_MAX, ApiClient, Category, Photo, Report, ReportEvent
from .selectors import (
    ReportFilters,
    active_categories,
    api_client_for_key,
    parse_bbox,
    public_address,
    report_list,
    visible_reports,
)
from .services import Contact, report_create, report_note_add, report_transition
from .throttles import MultiRateThrottle, parse_rates
from .workflow import OPEN311_INBOUND, OPEN311_STATUS, TRANSITIONS, Role, Status

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this implementation's discovery document last changed.
DISCOVERY_CHANGESET = datetime(2026, 11, 22, tzinfo=UTC)
DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000  # the spec's default cap, and the largest page
MAX_PAGE = 1_000_000
MAX_IDS = 1000
MAX_RADIUS_M = 50_000
DEFAULT_RADIUS_M = 1000
MAX_DB_INT = 2**63 - 1
MAX_NAME = 200
MAX_MEDIA_URL = 500
MAX_ADDRESS = 300  # Report.address
MAX_UPDATE_ID = 100  # ReportEvent.external_id
OPEN, CLOSED = "open", "closed"
CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
}
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
# Container element -> the element name of each item, for lists in XML.
XML_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "photos": "photo",
    "errors": "error",
}
# Characters XML 1.0 cannot carry at all; dropped from XML output (JSON escapes them).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
# A "+hh:mm" offset that an unencoded query string turned into " hh:mm".
_SPACE_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
# Defaults for pushes that need a reason the back-office did not give (shown publicly).
_DEFAULT_REASONS = {
    "NOT_COUNCILS_RESPONSIBILITY": "Питання не належить до компетенції підрозділу.",
    "NO_FURTHER_ACTION": "Подальші дії не плануються.",
    "INTERNAL_REFERRAL": "Звернення передано іншій службі.",
    "REOPEN": "Повторно відкрито службою.",
    "OPEN": "Повторно відкрито службою.",
}

Event = ReportEvent.Type


class Open311Error(Exception):
    """An error answered as the spec's array of {code, description} (plus any headers)."""

    def __init__(self, status: int, *descriptions: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(descriptions[0] if descriptions else "")
        self.status = status
        self.descriptions = list(descriptions) or ["Error."]
        self.headers = headers or {}


def bad_request(*descriptions: str) -> Open311Error:
    return Open311Error(400, *descriptions)


# --- Rendering ----------------------------------------------------------------------------

def w3c(value: datetime | None) -> str | None:
    """A W3C datetime with the city's offset, e.g. 2026-01-01T12:00:00+02:00."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))


def _xml_add(parent: ET.Element, name: str, value: Any) -> None:
    element = ET.SubElement(parent, name)
    if value is None:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_add(element, key, item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _xml_add(element, XML_ITEMS.get(name, "item"), item)
    else:
        element.text = _xml_text(value)


def to_xml(root: str, data: dict | list) -> bytes:
    """`data` as an XML document: a list becomes repeated items under `root`."""
    element = ET.Element(root)
    if isinstance(data, list):
        for item in data:
            _xml_add(element, XML_ITEMS.get(root, "item"), item)
    else:
        for key, value in data.items():
            _xml_add(element, key, value)
    return XML_DECLARATION + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def render(fmt: str, root: str, data: dict | list, *, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        return HttpResponse(to_xml(root, data), status=status, content_type=CONTENT_TYPES["xml"])
    return JsonResponse(data, status=status, safe=False, content_type=CONTENT_TYPES["json"],
                        json_dumps_params={"ensure_ascii": False})


def error_response(fmt: str, status: int, descriptions: list[str]) -> HttpResponse:
    errors = [{"code": status, "description": d} for d in descriptions]
    return render(fmt, "errors", errors, status=status)


def _describe(error: DomainError) -> list[str]:
    """A domain error as Open311 descriptions: the message, then one line per field."""
    lines = [error.message]
    for field, messages in (error.fields or {}).items():
        name = field
        if field.startswith("attributes."):
            name = f"attribute[{field.split('.', 1)[1]}]"
        elif field == "lon":
            name = "long"
        for message in messages:
            lines.append(f"{name}: {message}")
    return lines


# --- The view wrapper ---------------------------------------------------------------------

def _jurisdiction() -> str:
    return settings.OPEN311_JURISDICTION


def _locale(request: HttpRequest) -> str | None:
    raw = (request.GET.get("locale") or request.POST.get("locale") or "").strip().lower()
    code = raw.replace("_", "-").split("-")[0]
    return code if code in dict(settings.LANGUAGES) else None


def _has_nul(request: HttpRequest) -> bool:
    for data in (request.GET, request.POST):
        for key, values in data.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return True
    return False


def open311_view(*methods: str) -> Callable:
    """Method check, jurisdiction, locale, and every error rendered the spec's way."""

    def decorator(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, fmt: str = "json", **kwargs) -> HttpResponse:
            if request.method == "HEAD" and "GET" in methods:
                request.method = "GET"
            try:
                if request.method not in methods:
                    raise Open311Error(
                        405, f"{request.method} is not allowed here; use {' or '.join(methods)}."
                    )
                if _has_nul(request):
                    raise bad_request("Parameters must not contain NUL characters.")
                jurisdiction = _param(request, "jurisdiction_id") or _param(
                    request, "jurisdiction_id", body=True)
                if jurisdiction and jurisdiction != _jurisdiction():
                    raise Open311Error(
                        404, f"Unknown jurisdiction_id {jurisdiction!r}; this endpoint serves "
                             f"{_jurisdiction()!r}."
                    )
                language = _locale(request)
                if language:
                    with translation.override(language):
                        return view(request, *args, fmt=fmt, **kwargs)
                return view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as exc:
                response = error_response(fmt, exc.status, exc.descriptions)
                if exc.status == 405:
                    response["Allow"] = ", ".join(methods)
                for header, value in exc.headers.items():
                    response[header] = value
                return response
            except MultiPartParserError:
                return error_response(fmt, 400, ["The multipart body could not be parsed."])
            except Conflict as exc:  # the spec knows no 409: a refused change is bad input
                return error_response(fmt, 400, _describe(exc))
            except DomainError as exc:
                return error_response(fmt, status_for(exc), _describe(exc))
            except DataError:
                return error_response(fmt, 400, ["A parameter is out of range."])

        return wrapper

    return decorator


# --- Parameter parsing --------------------------------------------------------------------

def _param(request: HttpRequest, name: str, *, body: bool = False) -> str:
    """A parameter, stripped; "" when absent or empty (the spec treats both the same)."""
    source = request.POST if body else request.GET
    value = source.get(name)
    return (value or "").strip()


def _int(name: str, raw: str, *, low: int = 1, high: int = MAX_DB_INT) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be a whole number, got {raw!r}.") from exc
    if not low <= value <= high:
        raise bad_request(f"{name} must be between {low} and {high}.")
    return value


def _is_id(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_DB_INT


def _point(lat: str, lon: str):
    """A storage point from Open311's lat/long (WGS 84); errors name `long`, not `lon`."""
    if not (lat and lon):
        raise bad_request("lat and long must be given together.")
    try:
        return point_from_lat_lon(lat, lon)
    except DomainError as exc:
        raise bad_request(exc.message.replace("lon ", "long ")) from exc


def _float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be a number, got {raw!r}.") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise bad_request(f"{name} must be a finite number.")
    return value


def _bool(name: str, raw: str) -> bool:
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise bad_request(f"{name} must be true or false, got {raw!r}.")


def _datetime(name: str, raw: str) -> tuple[datetime, bool]:
    """A W3C datetime (or a bare date); (value, was_date_only). Naive values are local time."""
    text = _SPACE_OFFSET.sub(r"\1+\2", raw.strip())
    date_only = bool(_DATE_ONLY.match(text))
    try:
        if date_only:
            day = parse_date(text)
            value = datetime.combine(day, time.min) if day else None
        else:
            value = parse_datetime(text)
    except ValueError:
        value = None
    if value is None:
        raise bad_request(
            f"{name} must be a W3C datetime such as 2026-01-31T00:00:00Z or "
            f"2026-01-31T00:00:00+02:00, got {raw!r}."
        )
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value, date_only


def _date_range(request: HttpRequest, start_name: str, end_name: str) -> tuple[
    datetime | None, datetime | None, bool
]:
    """(start, end, end_is_exclusive) from two parameters; a bare end date includes its day."""
    start = end = None
    exclusive = False
    if raw := _param(request, start_name):
        start, _ = _datetime(start_name, raw)
    if raw := _param(request, end_name):
        end, date_only = _datetime(end_name, raw)
        if date_only:
            try:
                end, exclusive = end + timedelta(days=1), True
            except OverflowError:  # the last day there is: no upper bound
                end = None
    if start and end and start > end:
        raise bad_request(f"{start_name} must not be after {end_name}.")
    return start, end, exclusive


def _apply_range(qs: QuerySet, field: str, start, end, exclusive: bool) -> QuerySet:
    if start is not None:
        qs = qs.filter(**{f"{field}__gte": start})
    if end is not None:
        qs = qs.filter(**{f"{field}__lt" if exclusive else f"{field}__lte": end})
    return qs


def _comma_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _page(request: HttpRequest) -> tuple[int, int]:
    """(offset, limit) from page/page_size; by default the first MAX_RESULTS."""
    size = MAX_RESULTS
    if raw := _param(request, "page_size"):
        size = _int("page_size", raw, high=MAX_RESULTS)
    page = 1
    if raw := _param(request, "page"):
        page = _int("page", raw, high=MAX_PAGE)
    return (page - 1) * size, size


def _absolute(request: HttpRequest, url: str) -> str:
    return url if url.startswith(("http://", "https://")) else request.build_absolute_uri(url)


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


def _public_reports(filters: ReportFilters) -> QuerySet[Report]:
    """The public view of reports with what the renderer needs, in a fixed number of queries."""
    latest_note = (
        ReportEvent.objects.filter(report=OuterRef("pk"), type=Event.STATUS)
        .exclude(public_note="")
        .order_by("-created", "-id")
        .values("public_note")[:1]
    )
    return (
        report_list(user=AnonymousUser(), filters=filters)
        .select_related("category__group", "department", "district")
        .defer("contact_name", "contact_email", "contact_phone")
        .annotate(o311_status_notes=Subquery(latest_note))
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


def _photo_urls(request: HttpRequest, report: Report) -> list[str]:
    return [_absolute(request, p.display.url) for p in report.o311_photos if p.display]


def _request_dict(request: HttpRequest, report: Report, *, extensions: bool) -> dict:
    status, detailed = OPEN311_STATUS[Status(report.status)]
    # report_list's display_location: the grid-cell centre for explosive-ordnance reports
    lat, lon = lat_lon(report.display_location)
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
            "url": _absolute(request, report.get_absolute_url()),
        }
    return data


def _status_filter(raw: str) -> list[str] | None:
    wanted = {s.lower() for s in _comma_list(raw)}
    unknown = wanted - {OPEN, CLOSED, "both"}
    if unknown:
        raise bad_request(f"status must be open, closed or both, got {raw!r}.")
    if "both" in wanted or wanted >= {OPEN, CLOSED}:
        return None
    return [s.value for s, (o311, _) in OPEN311_STATUS.items() if o311 in wanted]


def _spatial_filters(request: HttpRequest, filters: ReportFilters) -> None:
    if raw := _param(request, "bbox"):
        try:
            filters.bbox = parse_bbox(raw)
        except DomainError as exc:
            raise bad_request(
                "bbox must be min_long,min_lat,max_long,max_lat (WGS 84): "
                + exc.message.replace("in_bbox", "bbox")
            ) from exc
    lat, lon = _param(request, "lat"), _param(request, "long")
    if lat or lon:
        point = _point(lat, lon)
        radius = DEFAULT_RADIUS_M
        if raw := _param(request, "radius"):
            radius = _float("radius", raw)
            if not 0 < radius <= MAX_RADIUS_M:
                raise bad_request(f"radius must be between 0 and {MAX_RADIUS_M} metres.")
        filters.near = (point, radius)
    elif _param(request, "radius"):
        raise bad_request("radius needs lat and long.")


def _ids(raw: str) -> list[int]:
    parts = _comma_list(raw)
    if len(parts) > MAX_IDS:
        raise bad_request(f"At most {MAX_IDS} service_request_id values at once.")
    return [_int("service_request_id", p) for p in parts]


@open311_view("GET", "POST")
def requests_view(request: HttpRequest, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create_request(request, fmt)
    extensions = _bool("extensions", raw) if (raw := _param(request, "extensions")) else False
    if raw := _param(request, "service_request_id"):
        # The spec: a list of ids overrides every other filter.
        ids = _ids(raw)
        reports = list(_public_reports(ReportFilters()).filter(pk__in=ids))
    else:
        filters = ReportFilters()
        if raw := _param(request, "service_code"):
            filters.categories = _comma_list(raw)
        if raw := _param(request, "status"):
            filters.statuses = _status_filter(raw)
        _spatial_filters(request, filters)
        qs = _public_reports(filters)
        start, end, exclusive = _date_range(request, "start_date", "end_date")
        updated_after, updated_before, upd_exclusive = _date_range(
            request, "updated_after", "updated_before")
        if start is None and end is None and updated_after is None and updated_before is None:
            start = timezone.now() - DEFAULT_WINDOW
        elif start is None and end is not None:
            try:
                start = end - DEFAULT_WINDOW
            except OverflowError:
                start = None
        qs = _apply_range(qs, "created", start, end, exclusive)
        qs = _apply_range(qs, "updated", updated_after, updated_before, upd_exclusive)
        offset, limit = _page(request)
        reports = list(qs[offset:offset + limit])
    data = [_request_dict(request, r, extensions=extensions) for r in reports]
    return render(fmt, "service_requests", data)


@open311_view("GET")
def request_detail(request: HttpRequest, service_request_id: str, *, fmt: str) -> HttpResponse:
    not_found = Open311Error(404, f"Service request {service_request_id!r} does not exist.")
    if not _is_id(service_request_id):
        raise not_found
    extensions = _bool("extensions", raw) if (raw := _param(request, "extensions")) else False
    report = _public_reports(ReportFilters()).filter(pk=int(service_request_id)).first()
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
    key = _param(request, "api_key", body=True) or _param(request, "api_key")
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


def _require_form(request: HttpRequest) -> None:
    """A body, if any, must be a form: a JSON body would silently lose every field."""
    content_type = request.content_type or ""
    has_body = (request.META.get("CONTENT_LENGTH") or "0") not in ("", "0")
    if has_body and content_type not in (
        "application/x-www-form-urlencoded", "multipart/form-data"
    ):
        raise bad_request(
            "POST bodies must be application/x-www-form-urlencoded (or multipart/form-data "
            f"to upload photos as `media`), not {content_type or 'empty'}."
        )


def _attributes(request: HttpRequest) -> dict[str, object]:
    """attribute[CODE]=v, and attribute[CODE][]=a&attribute[CODE][]=b for multivaluelists."""
    answers: dict[str, object] = {}
    for key, values in request.POST.lists():
        if not key.startswith("attribute"):
            continue
        match = _ATTRIBUTE_KEY.match(key)
        if match is None:
            raise bad_request(f"{key!r} is not attribute[CODE] or attribute[CODE][].")
        code, is_list = match.group(1), bool(match.group(2))
        cleaned = [v.strip() for v in values if v.strip()]
        if is_list or len(cleaned) > 1:
            previous = answers.get(code, [])
            answers[code] = [*(previous if isinstance(previous, list) else [previous]), *cleaned]
        elif cleaned:
            answers[code] = cleaned[0]
    return answers


def _location(request: HttpRequest) -> tuple[object, str]:
    """(storage point, address text) from lat+long, address_id or address_string."""
    lat, lon = _param(request, "lat", body=True), _param(request, "long", body=True)
    address_string = _param(request, "address_string", body=True)
    address_id = _param(request, "address_id", body=True)
    if lat or lon:
        point = _point(lat, lon)
        if not address_string:
            nearest = address_nearest(point)
            address_string = nearest.label if nearest else ""
        return point, address_string
    if address_id:
        pk = _int("address_id", address_id)
        address = AddressPoint.objects.filter(pk=pk).first()
        if address is None:
            raise bad_request(f"address_id {address_id} is not a known address.")
        return address.location, address_string or address.label
    if address_string:
        if len(address_string) > MAX_ADDRESS:
            raise bad_request(f"address_string must be at most {MAX_ADDRESS} characters.")
        found = address_search(address_string, limit=1)
        if not found:
            raise bad_request(
                f"address_string {address_string!r} was not found in the city's address "
                "register; send lat and long instead."
            )
        return found[0].location, found[0].label
    raise bad_request("A location is required: lat and long, address_string or address_id.")


def _media_url(raw: str) -> str:
    if not raw:
        return ""
    if len(raw) > MAX_MEDIA_URL:
        raise bad_request(f"media_url must be at most {MAX_MEDIA_URL} characters.")
    try:
        URLValidator(schemes=["http", "https"])(raw)
    except ValidationError as exc:
        raise bad_request("media_url must be an http(s) URL.") from exc
    return raw


def _contact(request: HttpRequest) -> Contact:
    email = _param(request, "email", body=True)
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise bad_request(f"email {email!r} is not a valid e-mail address.") from exc
    first = _param(request, "first_name", body=True)[:MAX_NAME]
    last = _param(request, "last_name", body=True)[:MAX_NAME]
    phone = _param(request, "phone", body=True)
    if len(phone) > 32:
        raise bad_request("phone must be at most 32 characters.")
    return Contact(name=f"{first} {last}".strip()[:MAX_NAME], email=email, phone=phone)


def _create_request(request: HttpRequest, fmt: str) -> HttpResponse:
    _require_form(request)
    client = _client(request)
    service_code = _param(request, "service_code", body=True)
    if not service_code:
        raise bad_request("service_code is required.")
    category = active_categories().filter(service_code=service_code).first()
    if category is None:
        raise bad_request(f"service_code {service_code!r} is not a known service.")
    location, address = _location(request)
    answers = _attributes(request)
    contact = _contact(request)
    media_url = _media_url(_param(request, "media_url", body=True))
    description = _param(request, "description", body=True)
    if len(description) > DESCRIPTION_MAX:
        raise bad_request(
            f"description is {len(description)} characters; the limit is {DESCRIPTION_MAX}."
        )
    # The spec makes description optional; a report needs one, so the service name stands in.
    description = description or category.name
    account_id = _param(request, "account_id", body=True)[:MAX_NAME] or None
    device_id = _param(request, "device_id", body=True)[:MAX_NAME]
    photos = request.FILES.getlist("media")
    try:
        with transaction.atomic():
            report = report_create(
                category=category, location=location, description=description,
                address=address, attributes=answers, contact=contact,
                source=Report.Source.OPEN311, lang=translation.get_language() or "uk",
                photos=photos, api_client=client,
            )
            _record_extras(report, client=client, media_url=media_url, device_id=device_id,
                           account_id=account_id)
    except DomainError as exc:
        if category.is_hazard:  # safety first, even when the report cannot be taken
            raise bad_request(*_describe(exc), _hazard_notice_text()) from exc
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


def _record_extras(report: Report, *, client: ApiClient, media_url: str, device_id: str,
                   account_id: str | None) -> None:
    """Keep what the report model has no field for in a private note."""
    if not (media_url or device_id or account_id):
        return
    extra = {k: v for k, v in (("media_url", media_url), ("device_id", device_id),
                               ("account_id", account_id)) if v}
    report_note_add(
        report_id=report.pk, api_client=client,
        internal_note=f"Open311 client {client.name}: "
        + ", ".join(f"{k}={v}" for k, v in extra.items())
        + (" (media_url is not fetched by the server)" if media_url else ""),
        data=extra,
    )


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
    status_then = (
        ReportEvent.objects.filter(report=OuterRef("report"), created__lte=OuterRef("created"))
        .exclude(to_status="")
        .order_by("-created", "-id")
        .values("to_status")[:1]
    )
    qs = (
        ReportEvent.objects.filter(report__in=visible_reports(AnonymousUser()))
        .filter(
            Q(type=Event.STATUS, data__public=True)
            | (Q(type=Event.NOTE) & ~Q(public_note=""))
        )
        .select_related("report")
        .annotate(o311_status_then=Subquery(status_then))
        .order_by("created", "id")
    )
    if raw := _param(request, "service_request_id"):
        qs = qs.filter(report_id__in=_ids(raw))
    start, end, exclusive = _date_range(request, "start_date", "end_date")
    if start is None and end is None:
        start = timezone.now() - DEFAULT_WINDOW
    qs = _apply_range(qs, "created", start, end, exclusive)
    offset, limit = _page(request)
    data = [_update_dict(e) for e in qs[offset:offset + limit]]
    return render(fmt, "service_request_updates", data)


def _pushable_from(status: Status) -> list[str]:
    return [
        name for name, target in OPEN311_INBOUND.items()
        if (t := TRANSITIONS.get((status, target))) and Role.SYSTEM in t.roles
    ]


def _already_received(client: ApiClient, update_id: str) -> bool:
    """Checked first, so a replay is named as such whatever the report's status is now; the
    note service and the database's unique (client, external id) catch a racing repeat."""
    return ReportEvent.objects.filter(api_client=client, external_id=update_id).exists()


def _post_update(request: HttpRequest, fmt: str) -> HttpResponse:
    _require_form(request)
    client = _client(request)
    raw_id = _param(request, "service_request_id", body=True)
    if not raw_id:
        raise bad_request("service_request_id is required.")
    not_found = Open311Error(404, f"Service request {raw_id!r} does not exist.")
    if not _is_id(raw_id):
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
    update_id = _param(request, "update_id", body=True)
    if not update_id:
        raise bad_request("update_id is required.")
    if len(update_id) > MAX_UPDATE_ID:
        raise bad_request(f"update_id must be at most {MAX_UPDATE_ID} characters.")
    repeated = bad_request(f"update_id {update_id!r} was already received from this client.")
    if _already_received(client, update_id):
        raise repeated
    pushed = _param(request, "status", body=True).upper()
    if not pushed:
        raise bad_request("status is required.")
    if pushed not in OPEN311_INBOUND:
        raise bad_request(
            f"status {pushed!r} cannot be pushed; use one of {', '.join(OPEN311_INBOUND)}."
        )
    stamp = None
    if raw := _param(request, "updated_datetime", body=True):
        stamp = _datetime("updated_datetime", raw)[0].isoformat()
    description = _param(request, "description", body=True)
    if len(description) > DESCRIPTION_MAX:
        raise bad_request(f"description must be at most {DESCRIPTION_MAX} characters.")
    media_url = _media_url(_param(request, "media_url", body=True))
    duplicate_of = None
    if raw := _param(request, "duplicate_of", body=True):
        duplicate_of = _int("duplicate_of", raw)
    target = OPEN311_INBOUND[pushed]
    internal = f"Open311 {client.name}: update {update_id}, {pushed}" + (
        f", at {stamp}" if stamp else "") + (f", media_url={media_url} (not fetched)"
                                            if media_url else "")
    try:
        with transaction.atomic():
            current = Report.objects.select_for_update().get(pk=report.pk)
            if current.status == target:
                report_note_add(
                    report_id=current.pk, api_client=client, external_id=update_id,
                    public_note=description, internal_note=internal,
                    data={"open311_status": pushed,
                          **({"media_url": media_url} if media_url else {})},
                )
            else:
                _transition(current, target, pushed, client=client, update_id=update_id,
                            description=description, internal=internal,
                            duplicate_of=duplicate_of)
    except IntegrityError as exc:  # a concurrent push with the same update_id won
        raise repeated from exc
    except Conflict as exc:
        if exc.code == "duplicate_update_id":
            raise repeated from exc
        raise
    event = ReportEvent.objects.select_related("report").get(
        api_client=client, external_id=update_id)
    data = [{**_update_dict(event), "external_id": update_id}]
    return render(fmt, "service_request_updates", data, status=201)


def _transition(report: Report, target: Status, pushed: str, *, client: ApiClient,
                update_id: str, description: str, internal: str,
                duplicate_of: int | None) -> None:
    current = Status(report.status)
    transition = TRANSITIONS.get((current, target))
    if transition is None or Role.SYSTEM not in transition.roles:
        pushable = _pushable_from(current)
        raise bad_request(
            f"Service request {report.pk} is {current.value} "
            f"({OPEN311_STATUS[current][1]}); {pushed} ({target.value}) cannot follow it. "
            + (f"From here a back-office may push: {', '.join(pushable)}."
               if pushable else "A back-office cannot change it from here.")
        )
    reason = ""
    if "reason" in transition.requires:
        reason = description or _DEFAULT_REASONS.get(pushed, f"{pushed} (back-office).")
    if target == Status.DUPLICATE:
        _check_original(report, duplicate_of, client=client)
    report_transition(
        report_id=report.pk, to_status=target, note=description, internal_note=internal,
        reason=reason, duplicate_of_id=duplicate_of, system=True, api_client=client,
        external_id=update_id,
    )


def _check_original(report: Report, duplicate_of: int | None, *, client: ApiClient) -> None:
    """The original of a pushed DUPLICATE: given, not the report itself, and a request this
    client can see (public, or of one of its departments)."""
    if duplicate_of is None:
        raise bad_request(
            f"DUPLICATE needs duplicate_of=<service_request_id>: the request that service "
            f"request {report.pk} duplicates."
        )
    if duplicate_of == report.pk:
        raise bad_request(f"Service request {report.pk} cannot be a duplicate of itself.")
    visible = visible_reports(AnonymousUser()) | Report.objects.filter(
        department__in=client.departments.all())
    if not visible.filter(pk=duplicate_of).exists():
        raise bad_request(
            f"duplicate_of {duplicate_of} is not a known service request; give the "
            "service_request_id of the original."
        )
