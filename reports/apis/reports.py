"""Reports: the list and map (GET), a new report (POST), one report, and nearby open ones."""

from __future__ import annotations

import hashlib
import json
import re

from django.http import QueryDict
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.authentication import TokenAuthentication
from rest_framework.response import Response

from geocity.errors import ValidationFailed
from layers.apis import (
    ERRORS,
    LANG_PARAMETER,
    LAT_LON_PARAMETERS,
    ApiView,
    SafetyNoticeSerializer,
    query_float,
    query_point,
)
from layers.geometry import lat_lon, parse_bbox, point_from_lat_lon
from layers.safety import safety_notice
from layers.services import OutsideServiceArea

from ..models import IdempotencyKey, Report
from ..pagination import DEFAULT_ORDERING, ORDERINGS, ReportCursorPagination, parse_page_size
from ..selectors import (
    ReportFilters,
    get_category,
    nearby_open_reports,
    report_for_display,
    report_list,
    sees_exact_location,
)
from ..services import (
    Contact,
    report_create,
    report_create_idempotent,
    request_fingerprint,
)
from ..throttles import (
    ReportCreateIPThrottle,
    ReportCreateUserThrottle,
)
from ..workflow import Status
from .common import (
    IDEMPOTENCY_HEADER,
    MAX_FILTER_CODES,
    NEAR_DEFAULT_RADIUS_M,
    NEAR_MAX_RADIUS_M,
    WRITE,
    client_ident,
    code_name,
    idempotency_key,
    language,
    prefetch_thumbnails,
    serializer_context,
)
from .serializers import (
    CodeNameSerializer,
    ContactSerializer,
    CoordinateField,
    NearbyCollectionSerializer,
    NearbyFeatureSerializer,
    ReportCollectionSerializer,
    ReportDetailSerializer,
    ReportFeatureSerializer,
    RoutingSerializer,
    detail_response,
    routing_data,
)

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
        key = idempotency_key(self.request)
        if key and IdempotencyKey.objects.filter(
            scope=client_ident(self.request), key=key
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
        prefetch_thumbnails(rows)
        features = ReportFeatureSerializer(
            rows, many=True, context=serializer_context(request)
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
            "lang": language(),
            "photos": photos,
        }
        key = idempotency_key(request)
        try:
            if key:
                fingerprint = request_fingerprint(_fingerprint_payload(d, photos))
                report, created = report_create_idempotent(
                    idempotency=(client_ident(request), key, fingerprint), **kwargs)
            else:
                report, created = report_create(**kwargs), True
        except OutsideServiceArea as exc:
            if category.is_hazard:
                exc.extra = {**exc.extra, "hazard_notice": safety_notice()}
            raise
        report = report_for_display(report.pk, request.user, visible_only=False)
        generalised = bool(report.is_hazard and not sees_exact_location(request.user))
        lat, lon = lat_lon(report.display_location)
        api_url = request.build_absolute_uri(f"{request.path.rstrip('/')}/{report.pk}/")
        data = {
            "number": report.pk,
            "url": request.build_absolute_uri(report.get_absolute_url()),
            "api_url": api_url,
            "status": report.status,
            "status_display": report.get_status_display(),
            "department": code_name(report.department),
            "routing": routing_data(report),
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
        return detail_response(request, number)


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
        prefetch_thumbnails(rows)
        features = NearbyFeatureSerializer(
            rows, many=True, context=serializer_context(request)
        ).data["features"]
        return Response({"type": "FeatureCollection", "features": features})


