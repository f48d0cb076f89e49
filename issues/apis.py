"""REST/GeoJSON API of reports under /api/v1/ (the contract is in the project brief).

Views are thin: an `InputSerializer` checks the shape of the request, one service or
selector does the work, an `OutputSerializer` renders. Business rules and domain errors come
from `issues.services`; visibility, the generalised location of explosive-ordnance reports
and the public timeline from `issues.selectors`; who may see contact data from
`issues.roles`. What this module adds is HTTP: authentication, the read-only official role,
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

import hashlib
import json
import re

from django.contrib.auth import authenticate
from django.db.models import Prefetch, prefetch_related_objects
from django.http import QueryDict
from django.utils import timezone, translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geocity.errors import Forbidden, NotFound, ValidationFailed
from layers.apis import (
    ERRORS,
    LANG_PARAMETER,
    LAT_LON_PARAMETERS,
    ApiView,
    SafetyNoticeSerializer,
    WGS84GeometryField,
    query_float,
    query_point,
)
from layers.geometry import lat_lon, point_from_lat_lon
from layers.safety import safety_notice
from layers.selectors import department_list
from layers.services import OutsideServiceArea

from . import sla
from .models import IdempotencyKey, Photo, Report
from .pagination import DEFAULT_ORDERING, ORDERINGS, ReportCursorPagination, parse_page_size
from .photos import PhotoRejected, photo_inspect
from .roles import (
    GROUP_RESIDENT,
    can_see_contact,
    can_see_dashboard,
    can_use_workspace,
    department_ids,
    is_admin,
    is_moderator,
    is_official,
    roles_for,
)
from .selectors import (
    ReportFilters,
    active_categories,
    display_location_expr,
    get_category,
    get_report,
    nearby_open_reports,
    parse_bbox,
    public_address,
    report_list,
    report_timeline,
    sees_exact_location,
)
from .services import (
    Contact,
    comment_create,
    report_create,
    report_create_idempotent,
    report_note_add,
    report_reassign,
    report_support,
    report_transition,
    request_fingerprint,
    subscription_create,
)
from .throttles import (
    PhotoInspectIPThrottle,
    PhotoInspectUserThrottle,
    ReportCreateIPThrottle,
    ReportCreateUserThrottle,
    TokenObtainThrottle,
)
from .workflow import OPEN_STATUSES, TRANSITIONS, Role, Status

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

def _code_name(obj) -> dict | None:
    return {"code": obj.code, "name": obj.name} if obj is not None else None


def _absolute(request, url: str | None) -> str | None:
    return request.build_absolute_uri(url) if url else None


def _file_url(request, field) -> str | None:
    return _absolute(request, field.url) if field and field.name else None


def _public_name(name: str) -> str:
    """A display name that never shows an e-mail address (usernames may be e-mails)."""
    name = (name or "").strip()
    return name.split("@", 1)[0] if "@" in name else name


def _language() -> str:
    return (translation.get_language() or "uk")[:2]


def _client_ident(request) -> str:
    """The idempotency and throttling scope: the account, or the client address."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"ip:{BaseThrottle().get_ident(request)}"


def _idempotency_key(request) -> str | None:
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


def _prefetch_thumbnails(reports: list[Report]) -> None:
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


def _for_display(number: int, user, *, visible_only: bool = True) -> Report:
    """A report with the location `user` may see (`display_location`) and its relations.

    After a successful write the actor gets the result even if it is no longer visible to
    them (a hidden report handed to another department): `visible_only=False`.
    """
    if visible_only:
        qs = report_list(user=user, filters=ReportFilters())
    else:
        qs = Report.objects.annotate(display_location=display_location_expr(user))
    report = (
        qs.select_related("category", "category__group", "department", "district", "assignee")
        .filter(pk=number)
        .first()
    )
    if report is None:
        raise NotFound(f"Report {number} does not exist.", code="report_not_found")
    return report


def _serializer_context(request, **extra) -> dict:
    return {
        "request": request,
        "now": timezone.now(),
        "exact": sees_exact_location(request.user),
        **extra,
    }


def _timeline(report: Report, *, internal: bool, names: bool) -> list[dict]:
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
                "department": None, "author": _public_name(item.author_name),
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
            "department": _code_name(item.to_department), "author": author,
            "is_staff_reply": False,
        })
    return rows


# --- Shared output serializers -----------------------------------------------------------

class CodeNameSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()

    class Meta:
        ref_name = "CodeName"


class CategoryRefSerializer(serializers.Serializer):
    code = serializers.CharField(source="service_code")
    name = serializers.CharField()
    icon = serializers.CharField()
    colour = serializers.CharField()

    class Meta:
        ref_name = "CategoryRef"


class ReportFeatureSerializer(GeoFeatureModelSerializer):
    """A report as a GeoJSON Feature (public fields). Needs `display_location`."""

    location = WGS84GeometryField(geometry_type="Point", source="display_location")
    number = serializers.IntegerField(source="pk", read_only=True)
    category = CategoryRefSerializer(read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    department = CodeNameSerializer(read_only=True, allow_null=True)
    district = CodeNameSerializer(read_only=True, allow_null=True)
    address = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    age_days = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    location_generalised = serializers.SerializerMethodField()

    class Meta:
        model = Report
        ref_name = "ReportFeature"
        geo_field = "location"
        fields = ["id", "location", "number", "category", "status", "status_display",
                  "department", "district", "address", "description", "created", "updated",
                  "due_at", "overdue", "age_days", "supporters_count", "thumbnail_url",
                  "is_hazard", "location_generalised"]
        read_only_fields = fields

    def _generalised(self, report) -> bool:
        return bool(report.is_hazard and not self.context.get("exact"))

    def get_location_generalised(self, report) -> bool:
        return self._generalised(report)

    def get_address(self, report) -> str:
        return public_address(report, self.context["request"].user)

    def get_overdue(self, report) -> bool:
        return sla.is_overdue(report, self.context["now"])

    def get_age_days(self, report) -> int:
        return max((self.context["now"] - report.created).days, 0)

    def get_thumbnail_url(self, report) -> str | None:
        thumbs = getattr(report, "api_thumbnails", None)
        if not thumbs:
            return None
        return _file_url(self.context["request"], thumbs[0].thumbnail)


class NearbyFeatureSerializer(ReportFeatureSerializer):
    distance_m = serializers.SerializerMethodField()

    class Meta(ReportFeatureSerializer.Meta):
        ref_name = "NearbyReportFeature"
        fields = [*ReportFeatureSerializer.Meta.fields, "distance_m"]
        read_only_fields = fields

    def get_distance_m(self, report) -> float:
        return round(report.distance.m, 1)


class PhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    state = serializers.CharField()
    display_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    width = serializers.IntegerField(help_text="Of the original.")
    height = serializers.IntegerField(help_text="Of the original.")

    class Meta:
        ref_name = "Photo"

    def get_display_url(self, photo) -> str | None:
        return _file_url(self.context["request"], photo.display)

    def get_thumbnail_url(self, photo) -> str | None:
        return _file_url(self.context["request"], photo.thumbnail)


class TimelineEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["event", "comment"])
    type = serializers.CharField()
    type_display = serializers.CharField(allow_null=True)
    created = serializers.DateTimeField()
    from_status = serializers.CharField(allow_null=True)
    to_status = serializers.CharField(allow_null=True)
    status_display = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_blank=True, help_text="Public note or comment text.")
    internal_note = serializers.CharField(
        allow_null=True, allow_blank=True, help_text="Staff, moderators and officials only."
    )
    department = CodeNameSerializer(allow_null=True)
    author = serializers.CharField(allow_null=True)
    is_staff_reply = serializers.BooleanField()

    class Meta:
        ref_name = "TimelineEntry"


class RoutingSerializer(serializers.Serializer):
    rule = serializers.CharField()
    explanation = serializers.DictField(child=serializers.CharField(allow_blank=True))

    class Meta:
        ref_name = "Routing"


class ContactSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.RegexField(
        r"^[0-9+()\- ]{3,32}$", required=False, allow_blank=True, default="",
        error_messages={"invalid": "Digits, spaces and + ( ) - only, 3 to 32 characters."},
    )

    class Meta:
        ref_name = "Contact"


class AllowedTransitionSerializer(serializers.Serializer):
    status = serializers.CharField()
    status_display = serializers.CharField()
    requires = serializers.ListField(child=serializers.CharField())

    class Meta:
        ref_name = "AllowedTransition"


def _routing(report: Report) -> dict:
    return {
        "rule": report.routing_rule,
        "explanation": {"uk": report.routing_explanation_uk,
                        "en": report.routing_explanation_en},
    }


class ReportDetailSerializer(ReportFeatureSerializer):
    """Public fields plus photos and timeline; routing/contact only for privileged users."""

    attributes = serializers.JSONField(read_only=True)
    duplicate_of = serializers.IntegerField(source="duplicate_of_id", allow_null=True,
                                            read_only=True)
    priority = serializers.IntegerField(read_only=True)
    priority_display = serializers.CharField(source="get_priority_display", read_only=True)
    is_hidden = serializers.BooleanField(read_only=True)
    photos = PhotoSerializer(source="api_photos", many=True, read_only=True)
    timeline = TimelineEntrySerializer(source="api_timeline", many=True, read_only=True)
    routing = serializers.SerializerMethodField()
    contact = serializers.SerializerMethodField()
    assignee = serializers.SerializerMethodField()
    allowed_transitions = serializers.SerializerMethodField()
    can_reassign = serializers.SerializerMethodField()

    class Meta(ReportFeatureSerializer.Meta):
        ref_name = "ReportDetailFeature"
        fields = [*ReportFeatureSerializer.Meta.fields, "attributes", "duplicate_of",
                  "priority", "priority_display", "is_hidden", "photos", "timeline",
                  "routing", "contact", "assignee", "allowed_transitions", "can_reassign"]
        read_only_fields = fields

    @extend_schema_field(RoutingSerializer(allow_null=True))
    def get_routing(self, report):
        return _routing(report) if self.context.get("privileged") else None

    @extend_schema_field(ContactSerializer(allow_null=True))
    def get_contact(self, report):
        if not self.context.get("privileged"):
            return None
        return {"name": report.contact_name, "email": report.contact_email,
                "phone": report.contact_phone}

    @extend_schema_field(inline_serializer("Assignee", {
        "username": serializers.CharField(), "name": serializers.CharField()},
        allow_null=True))
    def get_assignee(self, report):
        if not self.context.get("privileged") or report.assignee is None:
            return None
        user = report.assignee
        return {"username": user.get_username(), "name": user.get_full_name()}

    @extend_schema_field(AllowedTransitionSerializer(many=True))
    def get_allowed_transitions(self, report):
        roles = self.context.get("roles") or set()
        return [
            {"status": to.value, "status_display": str(to.label), "requires": list(t.requires)}
            for (frm, to), t in TRANSITIONS.items()
            if frm == report.status and t.roles & roles
        ]

    def get_can_reassign(self, report) -> bool:
        roles = self.context.get("roles") or set()
        return bool(roles & {Role.STAFF, Role.MODERATOR, Role.ADMIN}) and (
            report.status in OPEN_STATUSES
        )


def _detail_response(request, number: int, *, visible_only: bool = True,
                     status: int = http.HTTP_200_OK) -> Response:
    user = request.user
    report = _for_display(number, user, visible_only=visible_only)
    privileged = can_see_contact(user, report)
    report.api_timeline = _timeline(report, internal=privileged or is_official(user),
                                    names=privileged)
    report.api_photos = list(report.photos.exclude(state=Photo.State.FAILED))
    _prefetch_thumbnails([report])
    context = _serializer_context(request, privileged=privileged,
                                  roles=roles_for(user, report))
    return Response(ReportDetailSerializer(report, context=context).data, status=status)


class ReportCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = serializers.ListField(child=ReportFeatureSerializer())
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)

    class Meta:
        ref_name = "ReportCollection"


class NearbyCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = serializers.ListField(child=NearbyFeatureSerializer())

    class Meta:
        ref_name = "NearbyReportCollection"


@extend_schema_field(OpenApiTypes.NUMBER)
class CoordinateField(serializers.CharField):
    """A latitude or longitude as a JSON number or a numeric string, kept as text so that
    `point_from_lat_lon` gives every coordinate error the same code (invalid_location)."""



# --- Auth ---------------------------------------------------------------------------------

class TokenApi(ApiView):
    """Token authentication for apps and scripts (`Authorization: Token <key>`)."""

    throttle_classes = [TokenObtainThrottle]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False,
                                         style={"input_type": "password"})

        class Meta:
            ref_name = "TokenRequest"

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

        class Meta:
            ref_name = "Token"

    def get_throttles(self):
        return super().get_throttles() if self.request.method == "POST" else []

    def perform_authentication(self, request):
        # Signing in must work even when the app still sends a revoked token.
        if request.method != "POST":
            super().perform_authentication(request)

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "DELETE" else []

    @extend_schema(tags=["auth"], request=InputSerializer, auth=[],
                   responses={200: OutputSerializer, **ERRORS(400, 429)})
    def post(self, request):
        """Exchange a username and password for an API token (the same token every time)."""
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = authenticate(request._request, username=s.validated_data["username"],
                            password=s.validated_data["password"])
        if user is None or not user.is_active:
            raise ValidationFailed("Unable to sign in with these credentials.",
                                   code="invalid_credentials")
        token, _ = Token.objects.get_or_create(user=user)
        return Response(self.OutputSerializer({"token": token.key}).data)

    @extend_schema(tags=["auth"], request=None, responses={204: None, **ERRORS(401)})
    def delete(self, request):
        """Revoke the token this request was made with (sign out everywhere the app is)."""
        Token.objects.filter(user=request.user).delete()
        return Response(status=http.HTTP_204_NO_CONTENT)


class MeApi(ApiView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        email = serializers.CharField(allow_blank=True)
        name = serializers.CharField(allow_blank=True)
        roles = serializers.ListField(child=serializers.ChoiceField(
            choices=["resident", "staff", "moderator", "official", "admin"]))
        departments = CodeNameSerializer(many=True)
        can_use_workspace = serializers.BooleanField()
        can_see_dashboard = serializers.BooleanField()

        class Meta:
            ref_name = "Me"

    @extend_schema(tags=["auth"], responses={200: OutputSerializer, **ERRORS(401)})
    def get(self, request):
        """Who am I: roles and departments, for the UI to show the right tools."""
        user = request.user
        departments = list(user.departments.order_by("name_uk"))
        roles = []
        if user.groups.filter(name=GROUP_RESIDENT).exists():
            roles.append("resident")
        if departments:
            roles.append("staff")
        if is_moderator(user):
            roles.append("moderator")
        if is_official(user):
            roles.append("official")
        if is_admin(user):
            roles.append("admin")
        data = {
            "username": user.get_username(), "email": user.email,
            "name": user.get_full_name(), "roles": roles,
            "departments": [_code_name(d) for d in departments],
            "can_use_workspace": can_use_workspace(user),
            "can_see_dashboard": can_see_dashboard(user),
        }
        return Response(self.OutputSerializer(data).data)


# --- Categories ---------------------------------------------------------------------------

class CategoryListApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        class GroupSerializer(serializers.Serializer):
            code = serializers.CharField()
            name = serializers.CharField()
            icon = serializers.CharField()

            class Meta:
                ref_name = "CategoryGroup"

        class AttributeSerializer(serializers.Serializer):
            code = serializers.CharField()
            datatype = serializers.CharField()
            required = serializers.BooleanField()
            order = serializers.IntegerField()
            description = serializers.CharField()
            values = serializers.SerializerMethodField()

            class Meta:
                ref_name = "CategoryAttribute"

            @extend_schema_field(inline_serializer("AttributeValue", {
                "key": serializers.CharField(), "name": serializers.CharField()}, many=True))
            def get_values(self, attr):
                return [{"key": v.get("key"), "name": attr.value_name(v)}
                        for v in attr.values or [] if isinstance(v, dict) and "key" in v]

        service_code = serializers.CharField()
        name = serializers.CharField()
        name_uk = serializers.CharField()
        name_en = serializers.CharField()
        description = serializers.CharField()
        group = GroupSerializer()
        icon = serializers.CharField()
        colour = serializers.CharField()
        photo_required = serializers.BooleanField()
        is_hazard = serializers.BooleanField()
        is_urgent = serializers.BooleanField()
        sla = serializers.SerializerMethodField()
        duplicate_radius_m = serializers.IntegerField()
        attributes = AttributeSerializer(many=True, source="attributes.all")

        class Meta:
            ref_name = "Category"

        @extend_schema_field(inline_serializer("CategorySla", {
            "days": serializers.IntegerField(allow_null=True),
            "hours": serializers.IntegerField(allow_null=True)}))
        def get_sla(self, category):
            if category.sla_hours:
                return {"days": None, "hours": category.sla_hours}
            return {"days": category.sla_days, "hours": None}

    @extend_schema(tags=["look-ups"], parameters=[LANG_PARAMETER],
                   responses={200: OutputSerializer(many=True)})
    def get(self, request):
        """Active categories (Open311 services) with their extra questions."""
        return Response(self.OutputSerializer(active_categories(), many=True).data)


# --- Reports: list and create -------------------------------------------------------------

REPORT_FILTER_HELP = {
    "in_bbox": "min_lon,min_lat,max_lon,max_lat (WGS 84).",
    "lat": "With lon (and radius): reports near this point.",
    "radius": f"Metres around lat/lon, default {NEAR_DEFAULT_RADIUS_M:g}, "
              f"at most {NEAR_MAX_RADIUS_M:g}.",
    "category": "Comma list of service codes.",
    "status": "Comma list of statuses: " + ", ".join(Status.values) + ".",
}


class ReportCreateResponseSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    url = serializers.URLField(help_text="The report's public page.")
    api_url = serializers.URLField()
    status = serializers.CharField()
    status_display = serializers.CharField()
    department = CodeNameSerializer(allow_null=True)
    routing = RoutingSerializer()
    due_at = serializers.DateTimeField(allow_null=True)
    is_hazard = serializers.BooleanField()
    hazard_notice = SafetyNoticeSerializer(allow_null=True)
    location = inline_serializer("LatLon", {"lat": serializers.FloatField(),
                                            "lon": serializers.FloatField()})
    location_generalised = serializers.BooleanField()

    class Meta:
        ref_name = "ReportCreated"


class ReportListApi(ApiView):
    """GET: the map and list of reports. POST: a new report."""

    permission_classes = WRITE

    class FilterSerializer(serializers.Serializer):
        in_bbox = serializers.CharField(required=False, max_length=200,
                                        help_text=REPORT_FILTER_HELP["in_bbox"])
        lat = CoordinateField(required=False, help_text=REPORT_FILTER_HELP["lat"])
        lon = CoordinateField(required=False)
        radius = serializers.CharField(required=False, max_length=32,
                                       help_text=REPORT_FILTER_HELP["radius"])
        category = serializers.CharField(required=False, max_length=2000,
                                         help_text=REPORT_FILTER_HELP["category"])
        status = serializers.CharField(required=False, max_length=500,
                                       help_text=REPORT_FILTER_HELP["status"])
        department = serializers.CharField(required=False, max_length=64,
                                           help_text="Department code.")
        district = serializers.CharField(required=False, max_length=32,
                                         help_text="District code.")
        created_after = serializers.DateTimeField(required=False,
                                                  help_text="ISO 8601; inclusive.")
        created_before = serializers.DateTimeField(required=False,
                                                   help_text="ISO 8601; exclusive.")
        overdue = serializers.ChoiceField(choices=["true", "false"], required=False)
        due_soon = serializers.ChoiceField(choices=["true", "false"], required=False)
        q = serializers.CharField(required=False, max_length=200,
                                  help_text="Text in description or address, or a number.")
        ordering = serializers.ChoiceField(choices=list(ORDERINGS), required=False,
                                           default=DEFAULT_ORDERING,
                                           help_text="Ties are broken by number.")
        page_size = serializers.CharField(required=False, max_length=12,
                                          help_text="1 to 500, default 100.")
        cursor = serializers.CharField(required=False, max_length=2000,
                                       help_text="From the `next`/`previous` links.")

        class Meta:
            ref_name = "ReportFilter"

    class InputSerializer(serializers.Serializer):
        category = serializers.CharField(max_length=64, help_text="The service_code.")
        lat = CoordinateField()
        lon = CoordinateField()
        description = serializers.CharField(
            required=False, allow_blank=True, default="", trim_whitespace=False,
            help_text="Plain text, up to 4000 characters.",
        )
        address = serializers.CharField(required=False, allow_blank=True, max_length=300,
                                        default="")
        attributes = serializers.DictField(required=False, default=dict,
                                           help_text="{code: answer} for the questions.")
        contact = ContactSerializer(required=False)

        class Meta:
            ref_name = "ReportCreate"

    class MultipartInputSerializer(serializers.Serializer):
        category = serializers.CharField()
        lat = serializers.FloatField()
        lon = serializers.FloatField()
        description = serializers.CharField(required=False)
        address = serializers.CharField(required=False)
        attributes = serializers.CharField(required=False,
                                           help_text="A JSON object {code: answer}.")
        contact_name = serializers.CharField(required=False)
        contact_email = serializers.EmailField(required=False)
        contact_phone = serializers.CharField(required=False)
        photos = serializers.ListField(child=serializers.ImageField(), required=False,
                                       help_text="Up to 5 JPEG/PNG/WebP/HEIC files.")

        class Meta:
            ref_name = "ReportCreateMultipart"

    def get_throttles(self):
        if self.request.method != "POST":
            return []
        key = _idempotency_key(self.request)
        if key and IdempotencyKey.objects.filter(
            scope=_client_ident(self.request), key=key
        ).exists():
            return []  # a retry of a report that exists creates nothing: never throttled
        return [ReportCreateIPThrottle(), ReportCreateUserThrottle()]

    @extend_schema(
        tags=["reports"],
        operation_id="reports_list",
        parameters=[FilterSerializer, LANG_PARAMETER],
        responses={200: ReportCollectionSerializer, **ERRORS(400)},
    )
    def get(self, request):
        """Reports as a GeoJSON FeatureCollection, newest first, in pages (cursor).

        Hidden reports appear only to moderators, officials, admins and their department's
        staff. Explosive-ordnance reports are placed at the centre of a 500 m cell for
        everyone but staff, and spatial filters match that cell.
        """
        s = self.FilterSerializer(data=request.query_params)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        filters = _report_filters(d)
        qs = report_list(user=request.user, filters=filters)
        paginator = ReportCursorPagination()
        rows = paginator.paginate(qs, request, ordering=d["ordering"],
                                  page_size=parse_page_size(d.get("page_size")))
        _prefetch_thumbnails(rows)
        features = ReportFeatureSerializer(
            rows, many=True, context=_serializer_context(request)
        ).data["features"]
        return Response({
            "type": "FeatureCollection",
            "features": features,
            "next": paginator.next_link(),
            "previous": paginator.previous_link(),
        })

    @extend_schema(
        tags=["reports"],
        operation_id="reports_create",
        parameters=[OpenApiParameter(
            IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER,
            description="A client-made unique key (a UUID). A retry with the same key and "
                        "body returns the first report (200) instead of a duplicate; the same "
                        "key with another body is 409 idempotency_key_reused.",
        )],
        request={"application/json": InputSerializer,
                 "multipart/form-data": MultipartInputSerializer},
        responses={
            201: ReportCreateResponseSerializer,
            200: OpenApiResponse(ReportCreateResponseSerializer,
                                 description="Idempotent replay: the report already exists."),
            **ERRORS(400, 409, 413, 415, 429),
        },
    )
    def post(self, request):
        """Report a problem: routed at once, with the routing result and any hazard notice.

        Outside the service area: 400 `outside_service_area` with `distance_m` (and
        `hazard_notice` for an explosive-ordnance category).
        """
        s = self.InputSerializer(data=_create_payload(request))
        s.is_valid(raise_exception=True)
        d = s.validated_data
        if _has_nul(d["attributes"]):
            raise ValidationFailed("Answers may not contain NUL characters.",
                                   code="invalid_attributes",
                                   fields={"attributes": ["NUL character."]})
        category = get_category(d["category"])
        location = point_from_lat_lon(d["lat"], d["lon"])
        photos = request.FILES.getlist("photos") if request.FILES else []
        contact = d.get("contact") or {}
        kwargs = {
            "category": category,
            "location": location,
            "description": d["description"],
            "address": d["address"],
            "attributes": d["attributes"],
            "reporter": request.user,
            "contact": Contact(name=contact.get("name", ""), email=contact.get("email", ""),
                               phone=contact.get("phone", "")),
            "source": _source(request),
            "lang": _language(),
            "photos": photos,
        }
        key = _idempotency_key(request)
        try:
            if key:
                fingerprint = request_fingerprint(_fingerprint_payload(d, photos))
                report, created = report_create_idempotent(
                    idempotency=(_client_ident(request), key, fingerprint), **kwargs)
            else:
                report, created = report_create(**kwargs), True
        except OutsideServiceArea as exc:
            if category.is_hazard:
                exc.extra = {**exc.extra, "hazard_notice": safety_notice()}
            raise
        report = _for_display(report.pk, request.user, visible_only=False)
        generalised = bool(report.is_hazard and not sees_exact_location(request.user))
        lat, lon = lat_lon(report.display_location)
        api_url = request.build_absolute_uri(f"{request.path.rstrip('/')}/{report.pk}/")
        data = {
            "number": report.pk,
            "url": request.build_absolute_uri(report.get_absolute_url()),
            "api_url": api_url,
            "status": report.status,
            "status_display": report.get_status_display(),
            "department": _code_name(report.department),
            "routing": _routing(report),
            "due_at": report.due_at,
            "is_hazard": report.is_hazard,
            "hazard_notice": safety_notice() if report.is_hazard else None,
            "location": {"lat": lat, "lon": lon},
            "location_generalised": generalised,
        }
        headers = {"Location": api_url}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return Response(ReportCreateResponseSerializer(data).data, headers=headers,
                        status=http.HTTP_201_CREATED if created else http.HTTP_200_OK)


def _codes(raw: str | None, name: str) -> list[str] | None:
    if not raw:
        return None
    codes = [c.strip() for c in raw.split(",") if c.strip()]
    if len(codes) > MAX_FILTER_CODES:
        raise ValidationFailed(f"At most {MAX_FILTER_CODES} values in {name}.", code="invalid",
                               fields={name: [f"At most {MAX_FILTER_CODES} values."]})
    return codes or None


def _report_filters(d: dict) -> ReportFilters:
    near = None
    if "lat" in d or "lon" in d:
        point = point_from_lat_lon(d.get("lat"), d.get("lon"))
        radius = query_float(d, "radius", default=NEAR_DEFAULT_RADIUS_M, low=1,
                             high=NEAR_MAX_RADIUS_M)
        near = (point, radius)
    return ReportFilters(
        bbox=parse_bbox(d["in_bbox"]) if "in_bbox" in d else None,
        near=near,
        categories=_codes(d.get("category"), "category"),
        statuses=_codes(d.get("status"), "status"),
        department=d.get("department") or None,
        district=d.get("district") or None,
        created_after=d.get("created_after"),
        created_before=d.get("created_before"),
        overdue={"true": True, "false": False}.get(d.get("overdue")),
        due_soon=d.get("due_soon") == "true" or None,
        text=d.get("q") or None,
    )


_ATTRIBUTE_KEY = re.compile(r"attributes?\[([\w.-]{1,64})\]")


def _create_payload(request) -> dict:
    """The report fields as one dict, from a JSON object or from form fields."""
    data = request.data
    if not isinstance(data, QueryDict):
        if not isinstance(data, dict):
            raise ValidationFailed("The body must be a JSON object.", code="invalid",
                                   fields={"non_field_errors": ["Expected a JSON object."]})
        return data
    payload = {k: data.get(k) for k in ("category", "lat", "lon", "description", "address")
               if k in data}
    contact = {k.removeprefix("contact_"): data.get(k)
               for k in ("contact_name", "contact_email", "contact_phone") if k in data}
    if contact:
        payload["contact"] = contact
    attributes: object = {}
    raw = data.get("attributes")
    if raw not in (None, ""):
        try:
            attributes = json.loads(raw)
        except ValueError as exc:
            raise ValidationFailed(
                "attributes must be a JSON object.", code="invalid_attributes",
                fields={"attributes": ["Not valid JSON."]},
            ) from exc
    for key in data:
        match = _ATTRIBUTE_KEY.fullmatch(key)
        if match and isinstance(attributes, dict):
            values = data.getlist(key)
            attributes[match[1]] = values if len(values) > 1 else values[0]
    payload["attributes"] = attributes
    return payload


def _has_nul(value) -> bool:
    """NUL anywhere in nested JSON (PostgreSQL's jsonb and text refuse it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


def _fingerprint_payload(d: dict, photos) -> dict:
    digests = []
    for upload in photos:
        upload.seek(0)
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        digests.append(digest.hexdigest())
    contact = d.get("contact") or {}
    return {
        "category": d["category"], "lat": float(d["lat"]), "lon": float(d["lon"]),
        "description": d["description"], "address": d["address"],
        "attributes": d["attributes"], "contact": dict(contact), "photos": digests,
    }


def _source(request) -> str:
    """`api` for token clients and scripts, `web` for the browser UI (session or CSRF
    cookie)."""
    if isinstance(request.successful_authenticator, TokenAuthentication):
        return Report.Source.API
    if request.user.is_authenticated or "csrftoken" in request.COOKIES:
        return Report.Source.WEB
    return Report.Source.API


# --- Reports: one report and its actions --------------------------------------------------

NUMBER_PARAMETER = OpenApiParameter("number", int, OpenApiParameter.PATH,
                                    description="The report's public number.")


class ReportDetailApi(ApiView):
    @extend_schema(tags=["reports"], parameters=[NUMBER_PARAMETER, LANG_PARAMETER],
                   responses={200: ReportDetailSerializer, **ERRORS(404)})
    def get(self, request, number: int):
        """One report with photos and its public timeline (internal notes, routing and
        contact data for the department's staff and moderators)."""
        return _detail_response(request, number)


class ReportTransitionApi(ApiView):
    permission_classes = SIGNED_IN_WRITE

    class InputSerializer(serializers.Serializer):
        status = serializers.CharField(max_length=32)
        note = serializers.CharField(required=False, allow_blank=True, default="",
                                     max_length=4000, help_text="Public note.")
        internal_note = serializers.CharField(required=False, allow_blank=True, default="",
                                              max_length=4000)
        reason = serializers.CharField(required=False, allow_blank=True, default="",
                                       max_length=4000,
                                       help_text="Required to reject or reopen.")
        duplicate_of = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                                max_value=2**63 - 1)

        class Meta:
            ref_name = "TransitionRequest"

    @extend_schema(tags=["workflow"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={200: ReportDetailSerializer, **ERRORS(400, 401, 403, 404, 409)})
    def post(self, request, number: int):
        """Move a report to another status, as the workflow table allows for your role.

        409 `invalid_transition` when there is no such transition from the current status
        (also what the loser of a race gets); 403 when it exists but not for you.
        """
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        report_transition(
            report_id=number, actor=request.user, to_status=d["status"], note=d["note"],
            internal_note=d["internal_note"], reason=d["reason"],
            duplicate_of_id=d.get("duplicate_of"),
            photos=request.FILES.getlist("photos") if request.FILES else (),
        )
        return _detail_response(request, number, visible_only=False)


class ReportReassignApi(ApiView):
    permission_classes = SIGNED_IN_WRITE

    class InputSerializer(serializers.Serializer):
        department = serializers.CharField(max_length=64, help_text="Department code.")
        reason = serializers.CharField(required=False, allow_blank=True, default="",
                                       max_length=4000)

        class Meta:
            ref_name = "ReassignRequest"

    @extend_schema(tags=["workflow"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={200: ReportDetailSerializer, **ERRORS(400, 401, 403, 404, 409)})
    def post(self, request, number: int):
        """Hand the report to another department, with a reason (staff, moderators)."""
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        code = s.validated_data["department"]
        department = department_list().filter(code=code).first()
        if department is None:
            raise ValidationFailed(f"Department {code!r} does not exist.",
                                   code="department_invalid",
                                   fields={"department": ["No such department."]})
        report_reassign(report_id=number, actor=request.user, department_id=department.pk,
                        reason=s.validated_data["reason"])
        return _detail_response(request, number, visible_only=False)


class ReportNoteApi(ApiView):
    permission_classes = SIGNED_IN_WRITE

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, default="",
                                     max_length=4000, help_text="Public: subscribers are told.")
        internal_note = serializers.CharField(required=False, allow_blank=True, default="",
                                              max_length=4000)

        class Meta:
            ref_name = "NoteRequest"

    @extend_schema(tags=["workflow"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={201: ReportDetailSerializer, **ERRORS(400, 401, 403, 404)})
    def post(self, request, number: int):
        """A note on the timeline without a status change (the department's staff,
        moderators). A public note is e-mailed to subscribers."""
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        report_note_add(report_id=number, actor=request.user,
                        public_note=s.validated_data["note"],
                        internal_note=s.validated_data["internal_note"])
        return _detail_response(request, number, status=http.HTTP_201_CREATED)


class ReportSupportApi(ApiView):
    permission_classes = WRITE

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(required=False, allow_blank=True, default="",
                                       help_text="Required when not signed in.")

        class Meta:
            ref_name = "SupportRequest"

    class OutputSerializer(serializers.Serializer):
        supporters_count = serializers.IntegerField()
        created = serializers.BooleanField(help_text="False when you already supported it.")

        class Meta:
            ref_name = "Support"

    @extend_schema(tags=["reports"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={201: OutputSerializer, 200: OutputSerializer,
                              **ERRORS(400, 403, 404, 409)})
    def post(self, request, number: int):
        """"Me too": counted once per account or e-mail; subscribes you to its updates."""
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        report, created = report_support(report_id=number, user=request.user,
                                         email=s.validated_data["email"])
        data = {"supporters_count": report.supporters_count, "created": created}
        return Response(self.OutputSerializer(data).data,
                        status=http.HTTP_201_CREATED if created else http.HTTP_200_OK)


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.SerializerMethodField()
    text = serializers.CharField()
    created = serializers.DateTimeField()
    is_staff_reply = serializers.BooleanField()

    class Meta:
        ref_name = "Comment"

    def get_author(self, comment) -> str:
        return _public_name(comment.author_name)


class ReportCommentsApi(ApiView):
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=20_000, allow_blank=True,
                                     help_text="Up to 2000 characters.")

        class Meta:
            ref_name = "CommentRequest"

    def get_permissions(self):
        if self.request.method == "POST":
            return [p() for p in SIGNED_IN_WRITE]
        return []

    @extend_schema(tags=["reports"], parameters=[NUMBER_PARAMETER],
                   responses={200: CommentSerializer(many=True), **ERRORS(404)})
    def get(self, request, number: int):
        """Public comments, oldest first (hidden ones only for staff and moderators)."""
        report = get_report(number=number, user=request.user)
        internal = can_see_contact(request.user, report) or is_official(request.user)
        comments = [e.item for e in report_timeline(report, internal=internal)
                    if e.kind == "comment"]
        return Response(CommentSerializer(comments, many=True).data)

    @extend_schema(tags=["reports"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={201: CommentSerializer, **ERRORS(400, 401, 403, 404)})
    def post(self, request, number: int):
        """Comment on a report (signed-in users)."""
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        comment = comment_create(report_id=number, author=request.user,
                                 text=s.validated_data["text"])
        return Response(CommentSerializer(comment).data, status=http.HTTP_201_CREATED)


class ReportSubscribeApi(ApiView):
    permission_classes = WRITE

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(required=False, allow_blank=True, default="",
                                       help_text="Default: your account's e-mail.")

        class Meta:
            ref_name = "SubscribeRequest"

    class OutputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        subscribed = serializers.BooleanField()

        class Meta:
            ref_name = "Subscription"

    @extend_schema(tags=["reports"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={200: OutputSerializer, **ERRORS(400, 403, 404)})
    def post(self, request, number: int):
        """E-mail me on public changes of this report (each mail has an opt-out link)."""
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        email = s.validated_data["email"] or (
            request.user.email if request.user.is_authenticated else ""
        )
        sub = subscription_create(report_id=number, email=email, user=request.user,
                                  lang=_language())
        return Response(self.OutputSerializer({"email": sub.email, "subscribed": True}).data)


class ReportNearbyApi(ApiView):
    @extend_schema(
        tags=["reports"],
        parameters=[
            *LAT_LON_PARAMETERS,
            OpenApiParameter("category", str, required=True, description="Service code."),
            OpenApiParameter("exclude", int, description="A report number to leave out."),
            OpenApiParameter("limit", int, description="1 to 50, default 10."),
        ],
        responses={200: NearbyCollectionSerializer, **ERRORS(400)},
    )
    def get(self, request):
        """Open reports of the category within its duplicate radius, nearest first: shown
        before a new report is sent ("is this yours? support it instead")."""
        params = request.query_params
        category = get_category((params.get("category") or "").strip())
        point = query_point(params)
        exclude = int(query_float(params, "exclude", default=0, low=0, high=2**53))
        limit = int(query_float(params, "limit", default=10, low=1, high=50))
        rows = list(nearby_open_reports(location=point, category=category, user=request.user,
                                        exclude_id=exclude or None, limit=limit))
        _prefetch_thumbnails(rows)
        features = NearbyFeatureSerializer(
            rows, many=True, context=_serializer_context(request)
        ).data["features"]
        return Response({"type": "FeatureCollection", "features": features})


# --- Photos -------------------------------------------------------------------------------

class PhotoInspectApi(ApiView):
    parser_classes = [MultiPartParser]
    throttle_classes = [PhotoInspectIPThrottle, PhotoInspectUserThrottle]

    class InputSerializer(serializers.Serializer):
        photo = serializers.FileField()

        class Meta:
            ref_name = "PhotoInspectRequest"

    class OutputSerializer(serializers.Serializer):
        format = serializers.CharField()
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        size = serializers.IntegerField()
        gps = inline_serializer("PhotoGps", {"lat": serializers.FloatField(),
                                             "lon": serializers.FloatField()},
                                allow_null=True)

        class Meta:
            ref_name = "PhotoInspection"

    @extend_schema(tags=["reports"], request={"multipart/form-data": InputSerializer},
                   responses={200: OutputSerializer, **ERRORS(400, 413, 415, 429)})
    def post(self, request):
        """Check a photo before the report is sent, and read its GPS position (offered as
        the report's location). Nothing is stored."""
        upload = request.FILES.get("photo")
        if upload is None:
            raise ValidationFailed("Attach the photo as the `photo` file field.",
                                   code="photo_required", fields={"photo": ["Required."]})
        try:
            info = photo_inspect(upload, name=upload.name or "photo")
        except PhotoRejected as exc:
            exc.fields = {"photo": exc.fields.get("photos", [exc.message])}
            raise
        gps = {"lat": info.gps[0], "lon": info.gps[1]} if info.gps else None
        data = {"format": info.format, "width": info.width, "height": info.height,
                "size": info.size, "gps": gps}
        return Response(self.OutputSerializer(data).data)
