"""The Open311 protocol around every view: errors as the spec's arrays, JSON and XML
rendering, W3C datetimes, jurisdiction and locale, and the view wrapper that turns every
error into a spec answer (`open311_view`). The module docstring of `open311.apis` lists the
rules the views follow."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any
from xml.etree import ElementTree as ET

from django.conf import settings
from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt

from geocity.errors import Conflict, DomainError, status_for

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


def describe(error: DomainError) -> list[str]:
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


# --- The view wrapper ----------------------------------------------------------------------

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
                jurisdiction = param(request, "jurisdiction_id") or param(
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
                return error_response(fmt, 400, describe(exc))
            except DomainError as exc:
                return error_response(fmt, status_for(exc), describe(exc))
            except DataError:
                return error_response(fmt, 400, ["A parameter is out of range."])

        return wrapper

    return decorator


def param(request: HttpRequest, name: str, *, body: bool = False) -> str:
    """A parameter, stripped; "" when absent or empty (the spec treats both the same)."""
    source = request.POST if body else request.GET
    value = source.get(name)
    return (value or "").strip()
