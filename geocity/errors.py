"""Domain errors and how the HTTP layers render them.

Services raise `DomainError` subclasses with a stable `code`. The API maps the class to an
HTTP status (400/403/404/409) and renders `{"code", "message", "errors"}`; Open311 renders
its spec arrays. Nothing under /api/, /tiles/ or /open311/ ever answers with HTML.
"""

from __future__ import annotations

import logging
from typing import Any
from xml.etree import ElementTree as ET

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused the operation. `code` is stable and machine-readable."""

    code = "domain_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}
        self.extra = extra or {}


class ValidationFailed(DomainError):
    code = "invalid"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Unavailable(DomainError):
    """A service the operation needs is down (storage full or unwritable): nothing was kept,
    and the same request may be retried later."""

    code = "unavailable"


HTTP_STATUS: dict[type[DomainError], int] = {
    ValidationFailed: http.HTTP_400_BAD_REQUEST,
    Forbidden: http.HTTP_403_FORBIDDEN,
    NotFound: http.HTTP_404_NOT_FOUND,
    Conflict: http.HTTP_409_CONFLICT,
    Unavailable: http.HTTP_503_SERVICE_UNAVAILABLE,
}
RETRY_AFTER_S = 5  # what a 503 of a database or storage outage asks clients to wait


def status_for(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return http.HTTP_400_BAD_REQUEST


def error_body(code: str, message: str, errors: dict | None = None, **extra: Any) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def _flatten(detail: Any) -> dict[str, list[str]] | list[str]:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}  # type: ignore[misc]
    if isinstance(detail, list):
        if all(not isinstance(d, (dict, list)) for d in detail):
            return [str(d) for d in detail]
        return [_flatten(d) for d in detail]  # type: ignore[misc]
    return [str(detail)]


_DRF_CODES = {
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.PermissionDenied: "forbidden",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF hook: every error becomes `{"code", "message", "errors"?}`."""
    if isinstance(exc, DomainError):
        response = Response(
            error_body(exc.code, exc.message, exc.fields or None, **exc.extra),
            status=status_for(exc),
        )
        if isinstance(exc, Unavailable):
            response["Retry-After"] = str(RETRY_AFTER_S)
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("payload_too_large", "The request body is too large."),
            status=http.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, (Http404, DjangoPermissionDenied)):
        exc = drf_exceptions.NotFound() if isinstance(exc, Http404) else (
            drf_exceptions.PermissionDenied()
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = _flatten(exc.detail)
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
        first = next(iter(errors.values()), ["Invalid input."])
        message = first[0] if isinstance(first, list) and first else "Invalid input."
        if not isinstance(message, str):
            message = "Invalid input."
        response.data = error_body("invalid", message, errors)
        return response
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    detail = getattr(exc, "detail", str(exc))
    response.data = error_body(code, str(detail))
    if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
        response.data["retry_after"] = int(exc.wait)
    return response


# --- Middleware: JSON (or Open311) errors outside DRF's reach ----------------------------

JSON_PREFIXES = ("/api/", "/tiles/")
OPEN311_PREFIX = "/open311/"


def open311_error_response(request: HttpRequest, status: int, description: str) -> HttpResponse:
    """Open311 errors are arrays of {code, description}; XML when the path ends in .xml."""
    if request.path.endswith(".xml"):
        root = ET.Element("errors")
        error = ET.SubElement(root, "error")
        ET.SubElement(error, "code").text = str(status)
        ET.SubElement(error, "description").text = description
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")
        return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")
    return JsonResponse(
        [{"code": status, "description": description}],
        status=status,
        safe=False,
        json_dumps_params={"ensure_ascii": False},
    )


_DEFAULT_MESSAGES = {
    400: ("bad_request", "Bad request."),
    403: ("forbidden", "You do not have permission to do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("payload_too_large", "The request body is too large."),
    500: ("server_error", "Internal error. It has been logged."),
    503: ("database_unavailable",
          "The database is unavailable; nothing was changed. Retry shortly (with the same "
          "Idempotency-Key for a report)."),
}


def is_database_outage(exc: Exception) -> bool:
    """The database could not be reached or went away mid-request (a restart, a failover):
    the transaction did not commit, so the client may safely retry."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)


class JsonErrorMiddleware:
    """Turns HTML error pages under the API prefixes into JSON, and refuses huge bodies early."""

    def __init__(self, get_response):
        self.get_response = get_response

    def _kind(self, request: HttpRequest) -> str | None:
        if request.path.startswith(OPEN311_PREFIX):
            return "open311"
        if request.path.startswith(JSON_PREFIXES):
            return "json"
        return None

    def _error(self, request: HttpRequest, status: int, message: str | None = None):
        code, default = _DEFAULT_MESSAGES.get(status, ("error", "Error."))
        if self._kind(request) == "open311":
            return open311_error_response(request, status, message or default)
        return JsonResponse(error_body(code, message or default), status=status)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        kind = self._kind(request)
        if kind:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return self._error(request, 400, "Invalid Content-Length header.")
            if length > settings.MAX_REQUEST_BODY_BYTES:
                return self._error(
                    request,
                    413,
                    f"The request body is {length} bytes; the limit is "
                    f"{settings.MAX_REQUEST_BODY_BYTES}.",
                )
        response = self.get_response(request)
        if (
            kind
            and response.status_code >= 400
            and "html" in response.get("Content-Type", "")
        ):
            return self._error(request, response.status_code)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception):
        if not self._kind(request):
            return None
        if isinstance(exc, RequestDataTooBig):
            return self._error(request, 413)
        if isinstance(exc, SuspiciousOperation):
            return self._error(request, 400, str(exc) or None)
        if isinstance(exc, Http404):
            return self._error(request, 404)
        if isinstance(exc, DjangoPermissionDenied):
            return self._error(request, 403)
        if isinstance(exc, DomainError):
            body = error_body(exc.code, exc.message, exc.fields or None, **exc.extra)
            if self._kind(request) == "open311":
                return open311_error_response(request, status_for(exc), exc.message)
            return JsonResponse(body, status=status_for(exc))
        if is_database_outage(exc):
            logger.warning("Database unavailable on %s: %s", request.path, exc)
            response = self._error(request, 503)
            response["Retry-After"] = str(RETRY_AFTER_S)
            return response
        logger.exception("Unhandled error on %s", request.path)
        return self._error(request, 500)


def _error_view(status: int, default_view):
    """A handlerNNN view: machine-readable under the API prefixes, the site's page elsewhere.

    Django calls these for errors raised before a view runs, outside `JsonErrorMiddleware`
    (a bad Host header is refused by CommonMiddleware, for example)."""

    def view(request: HttpRequest, exception: Exception | None = None, **kwargs) -> HttpResponse:
        middleware = JsonErrorMiddleware(lambda request: None)
        if middleware._kind(request):
            message = str(exception) if status == 400 and exception else None
            return middleware._error(request, status, message)
        if status == 500:
            return default_view(request, **kwargs)
        return default_view(request, exception, **kwargs)

    view.__name__ = f"error_{status}"
    return view


def _defaults():
    from django.views import defaults

    return defaults


bad_request = _error_view(400, lambda r, e, **kw: _defaults().bad_request(r, e, **kw))
permission_denied = _error_view(403,
                                lambda r, e, **kw: _defaults().permission_denied(r, e, **kw))
page_not_found = _error_view(404, lambda r, e, **kw: _defaults().page_not_found(r, e, **kw))
server_error = _error_view(500, lambda r, **kw: _defaults().server_error(r, **kw))
