"""Parsing Open311 parameters: numbers, datetimes and ranges, pages, locations, answers and
contact fields. Each bad value is a 400 that names the parameter (`bad_request`)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from geocity.errors import DomainError
from layers.geometry import parse_bbox, point_from_lat_lon
from layers.models import AddressPoint
from layers.selectors import address_nearest, address_search
from reports.selectors import ReportFilters
from reports.services import Contact

from .protocol import bad_request, param
from .statuses import CLOSED, OPEN, OPEN311_STATUS

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
MAX_UPDATE_ID = 100  # ClientUpdate.update_id

_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
# A "+hh:mm" offset that an unencoded query string turned into " hh:mm".
_SPACE_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}

# --- Values --------------------------------------------------------------------

def parse_int(name: str, raw: str, *, low: int = 1, high: int = MAX_DB_INT) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be a whole number, got {raw!r}.") from exc
    if not low <= value <= high:
        raise bad_request(f"{name} must be between {low} and {high}.")
    return value


def is_id(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_DB_INT


def parse_point(lat: str, lon: str):
    """A storage point from Open311's lat/long (WGS 84); errors name `long`, not `lon`."""
    if not (lat and lon):
        raise bad_request("lat and long must be given together.")
    try:
        return point_from_lat_lon(lat, lon)
    except DomainError as exc:
        raise bad_request(exc.message.replace("lon ", "long ")) from exc


def parse_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be a number, got {raw!r}.") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise bad_request(f"{name} must be a finite number.")
    return value


def parse_bool(name: str, raw: str) -> bool:
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise bad_request(f"{name} must be true or false, got {raw!r}.")


def parse_w3c(name: str, raw: str) -> tuple[datetime, bool]:
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


def parse_date_range(request: HttpRequest, start_name: str, end_name: str) -> tuple[
    datetime | None, datetime | None, bool
]:
    """(start, end, end_is_exclusive) from two parameters; a bare end date includes its day."""
    start = end = None
    exclusive = False
    if raw := param(request, start_name):
        start, _ = parse_w3c(start_name, raw)
    if raw := param(request, end_name):
        end, date_only = parse_w3c(end_name, raw)
        if date_only:
            try:
                end, exclusive = end + timedelta(days=1), True
            except OverflowError:  # the last day there is: no upper bound
                end = None
    if start and end and start > end:
        raise bad_request(f"{start_name} must not be after {end_name}.")
    return start, end, exclusive


def apply_range(qs: QuerySet, field: str, start, end, exclusive: bool) -> QuerySet:
    if start is not None:
        qs = qs.filter(**{f"{field}__gte": start})
    if end is not None:
        qs = qs.filter(**{f"{field}__lt" if exclusive else f"{field}__lte": end})
    return qs


def comma_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def parse_page(request: HttpRequest) -> tuple[int, int]:
    """(offset, limit) from page/page_size; by default the first MAX_RESULTS."""
    size = MAX_RESULTS
    if raw := param(request, "page_size"):
        size = parse_int("page_size", raw, high=MAX_RESULTS)
    page = 1
    if raw := param(request, "page"):
        page = parse_int("page", raw, high=MAX_PAGE)
    return (page - 1) * size, size


def absolute_url(request: HttpRequest, url: str) -> str:
    return url if url.startswith(("http://", "https://")) else request.build_absolute_uri(url)



def parse_status(raw: str) -> list[str] | None:
    wanted = {s.lower() for s in comma_list(raw)}
    unknown = wanted - {OPEN, CLOSED, "both"}
    if unknown:
        raise bad_request(f"status must be open, closed or both, got {raw!r}.")
    if "both" in wanted or wanted >= {OPEN, CLOSED}:
        return None
    return [s.value for s, (o311, _) in OPEN311_STATUS.items() if o311 in wanted]


def parse_spatial(request: HttpRequest, filters: ReportFilters) -> None:
    if raw := param(request, "bbox"):
        try:
            filters.bbox = parse_bbox(raw)
        except DomainError as exc:
            raise bad_request(
                "bbox must be min_long,min_lat,max_long,max_lat (WGS 84): "
                + exc.message.replace("in_bbox", "bbox")
            ) from exc
    lat, lon = param(request, "lat"), param(request, "long")
    if lat or lon:
        point = parse_point(lat, lon)
        radius = DEFAULT_RADIUS_M
        if raw := param(request, "radius"):
            radius = parse_float("radius", raw)
            if not 0 < radius <= MAX_RADIUS_M:
                raise bad_request(f"radius must be between 0 and {MAX_RADIUS_M} metres.")
        filters.near = (point, radius)
    elif param(request, "radius"):
        raise bad_request("radius needs lat and long.")


def parse_ids(raw: str) -> list[int]:
    parts = comma_list(raw)
    if len(parts) > MAX_IDS:
        raise bad_request(f"At most {MAX_IDS} service_request_id values at once.")
    return [parse_int("service_request_id", p) for p in parts]


def require_form(request: HttpRequest) -> None:
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


def parse_attributes(request: HttpRequest) -> dict[str, object]:
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


def parse_location(request: HttpRequest) -> tuple[object, str]:
    """(storage point, address text) from lat+long, address_id or address_string."""
    lat, lon = param(request, "lat", body=True), param(request, "long", body=True)
    address_string = param(request, "address_string", body=True)
    address_id = param(request, "address_id", body=True)
    if lat or lon:
        point = parse_point(lat, lon)
        if not address_string:
            nearest = address_nearest(point)
            address_string = nearest.label if nearest else ""
        return point, address_string
    if address_id:
        pk = parse_int("address_id", address_id)
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


def parse_media_url(raw: str) -> str:
    if not raw:
        return ""
    if len(raw) > MAX_MEDIA_URL:
        raise bad_request(f"media_url must be at most {MAX_MEDIA_URL} characters.")
    try:
        URLValidator(schemes=["http", "https"])(raw)
    except ValidationError as exc:
        raise bad_request("media_url must be an http(s) URL.") from exc
    return raw


def parse_contact(request: HttpRequest) -> Contact:
    email = param(request, "email", body=True)
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise bad_request(f"email {email!r} is not a valid e-mail address.") from exc
    first = param(request, "first_name", body=True)[:MAX_NAME]
    last = param(request, "last_name", body=True)[:MAX_NAME]
    phone = param(request, "phone", body=True)
    if len(phone) > 32:
        raise bad_request("phone must be at most 32 characters.")
    return Contact(name=f"{first} {last}".strip()[:MAX_NAME], email=email, phone=phone)


