"""REST/GeoJSON API of reports under /api/v1/: what every view shares (permissions, helpers).

The views, one module per resource: `reports` (list, create, detail, nearby), `actions`
(workflow and residents' actions on one report), `accounts` (token, me), `lookups`
(categories, photo inspection); `serializers` holds the shared output shapes.

Views are thin: an `InputSerializer` checks the shape of the request, one service or
selector does the work, an `OutputSerializer` renders. Business rules and domain errors come
from `reports.services`; visibility, the generalised location of explosive-ordnance reports
and the public timeline from `reports.selectors`; who may see contact data from
`reports.roles`. What this module adds is HTTP: authentication, the read-only official role,
throttling, `Idempotency-Key`, pagination and the OpenAPI description.

Decisions a client should know:
- POST reports/ answers 201 for a new report and 200 (same body, header
  `Idempotent-Replayed: true`) when an `Idempotency-Key` retry finds the report the first
  request made. Keys are scoped per user, or per client address for anonymous clients.
- Officials read everything and change nothing: every write answers 403 `read_only_role`
  (unless the official also works for a department or moderates).
- Contact data and the routing explanation appear only to staff of the report's department,
  moderators and admins; public output of explosive-ordnance reports carries the centre of a
  HAZARD_PUBLIC_CELL_M grid cell (`location_generalised: true`) and no address.
"""

from __future__ import annotations

from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone, translation
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.throttling import BaseThrottle

from geocity.errors import Forbidden, ValidationFailed

from ..models import Photo, Report
from ..roles import (
    department_ids,
    is_moderator,
    is_official,
)
from ..selectors import (
    report_timeline,
    sees_exact_location,
)
from ..workflow import Role, Status

IDEMPOTENCY_HEADER = "Idempotency-Key"
NEAR_DEFAULT_RADIUS_M = 1000.0
NEAR_MAX_RADIUS_M = 50_000.0
MAX_FILTER_CODES = 100


# --- Permissions ---------------------------------------------------------------------------

class NotReadOnlyRole(BasePermission):
    """Officials read everything and change nothing, unless they also hold a working role."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        user = request.user
        if is_official(user) and not is_moderator(user) and not department_ids(user):
            raise Forbidden("Officials have read-only access.", code="read_only_role")
        return True


WRITE = [NotReadOnlyRole]
SIGNED_IN_WRITE = [IsAuthenticated, NotReadOnlyRole]


# --- Small helpers (API formatting only) -------------------------------------------------

def code_name(obj) -> dict | None:
    return {"code": obj.code, "name": obj.name} if obj is not None else None


def absolute(request, url: str | None) -> str | None:
    return request.build_absolute_uri(url) if url else None


def file_url(request, field) -> str | None:
    return absolute(request, field.url) if field and field.name else None


def public_name(name: str) -> str:
    """A display name that never shows an e-mail address (usernames may be e-mails)."""
    name = (name or "").strip()
    return name.split("@", 1)[0] if "@" in name else name


def language() -> str:
    return (translation.get_language() or "uk")[:2]


def client_ident(request) -> str:
    """The idempotency and throttling scope: the account, or the client address."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"ip:{BaseThrottle().get_ident(request)}"


def idempotency_key(request) -> str | None:
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not 1 <= len(key) <= 200 or not key.isascii() or not key.isprintable():
        raise ValidationFailed(
            f"{IDEMPOTENCY_HEADER} must be 1 to 200 printable ASCII characters.",
            code="invalid_idempotency_key",
            fields={IDEMPOTENCY_HEADER: ["1 to 200 printable ASCII characters (a UUID)."]},
        )
    return key


def prefetch_thumbnails(reports: list[Report]) -> None:
    """One query for the list's thumbnails (the first ready resident photo of each)."""
    prefetch_related_objects(
        reports,
        Prefetch(
            "photos",
            queryset=Photo.objects.filter(state=Photo.State.READY, kind=Photo.Kind.RESIDENT)
            .exclude(thumbnail="")
            .only("id", "report_id", "thumbnail", "created")
            .order_by("created", "id"),
            to_attr="api_thumbnails",
        ),
    )


def serializer_context(request, **extra) -> dict:
    return {
        "request": request,
        "now": timezone.now(),
        "exact": sees_exact_location(request.user),
        **extra,
    }


def timeline_rows(report: Report, *, internal: bool, names: bool) -> list[dict]:
    """Timeline rows. `internal`: internal events and notes (insiders and officials);
    `names`: who acted, by name (only those who may see the reporter's identity)."""
    rows = []
    for entry in report_timeline(report, internal=internal):
        item = entry.item
        if entry.kind == "comment":
            rows.append({
                "kind": "comment", "type": "comment", "type_display": None,
                "created": item.created, "from_status": None, "to_status": None,
                "status_display": None, "note": item.text, "internal_note": None,
                "department": None, "author": public_name(item.author_name),
                "is_staff_reply": item.is_staff_reply,
            })
            continue
        role_label = Role(item.actor_role).label if item.actor_role in Role.values else None
        if names and item.actor is not None:
            author = item.actor.get_full_name() or item.actor.get_username()
        else:
            author = str(role_label) if role_label else None
        rows.append({
            "kind": "event", "type": item.type, "type_display": item.get_type_display(),
            "created": item.created, "from_status": item.from_status or None,
            "to_status": item.to_status or None,
            "status_display": Status(item.to_status).label if item.to_status else None,
            "note": item.public_note, "internal_note": item.internal_note if internal else None,
            "department": code_name(item.to_department), "author": author,
            "is_staff_reply": False,
        })
    return rows


