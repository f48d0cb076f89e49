"""REST/GeoJSON views of the layers app, and the small API toolkit both apps share.

Views are thin: they parse query parameters, call one selector of `layers.selectors`, and
render. Sensitivity rules (non-public hazard zones, restricted infrastructure) live in the
selectors. Geometries are stored in the metric STORAGE_SRID and rendered as WGS 84 GeoJSON
(RFC 7946) through `WGS84GeometryField`, which converts with `layers.geometry.to_api`.

Shared with `reports.apis` (which depends on this app, not the other way round):
`WGS84GeometryField`, `ErrorSerializer`/`ERRORS`, `ApiView`, `query_point`.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.gis.geos import MultiPolygon
from django.utils import translation
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_array_type, build_object_type
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geocity.errors import NotFound, ValidationFailed
from geocity.parsers import SafeJSONParser

from .geometry import lat_lon, parse_bbox, point_from_lat_lon, to_api
from .models import District, HazardZone, InfrastructureFeature, ServiceArea
from .selectors import (
    address_nearest,
    address_search,
    department_list,
    hazard_check,
    visible_hazard_zones,
    visible_infrastructure,
)

COORDINATE_DECIMALS = 7  # ~1 cm; more digits only add bytes
INFRASTRUCTURE_MAX_FEATURES = 2000  # per response; beyond it a bbox is required
SIMPLIFY_DEFAULT_M = 10.0
SIMPLIFY_MAX_M = 1000.0


# --- Shared toolkit ----------------------------------------------------------------------

class WGS84GeometryField(GeometryField):
    """Read-only GeoJSON geometry in WGS 84 from a storage-SRID GEOS geometry.

    `simplify` (metres, or the `simplify_m` serializer context) simplifies with GEOS's
    topology-preserving algorithm (PostGIS's ST_SimplifyPreserveTopology) in the metric
    storage SRID before the transform.
    """

    def __init__(self, *, geometry_type: str = "Geometry", simplify: bool = False, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("precision", COORDINATE_DECIMALS)
        self.geometry_type = geometry_type
        self.simplify = simplify
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None or isinstance(value, dict):
            return value
        if self.simplify:
            tolerance = float(self.context.get("simplify_m", SIMPLIFY_DEFAULT_M))
            if tolerance > 0:
                simplified = value.simplify(tolerance, preserve_topology=True)
                if value.geom_type == "MultiPolygon" and simplified.geom_type == "Polygon":
                    simplified = MultiPolygon(simplified, srid=value.srid)
                value = simplified
        return super().to_representation(to_api(value))


def _coordinates_schema(geometry_type: str) -> dict:
    point = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3}
    line = build_array_type(point)
    polygon = build_array_type(line)
    return {
        "Point": point,
        "MultiPoint": line,
        "LineString": line,
        "MultiLineString": polygon,
        "Polygon": polygon,
        "MultiPolygon": build_array_type(polygon),
    }[geometry_type]


class WGS84GeometryFieldExtension(OpenApiSerializerFieldExtension):
    """OpenAPI for WGS84GeometryField: the declared GeoJSON geometry type."""

    target_class = WGS84GeometryField
    match_subclasses = True
    priority = 1  # before drf-spectacular's generic GeometryField extension

    def map_serializer_field(self, auto_schema, direction):
        kind = self.target.geometry_type
        if kind == "Geometry":
            return build_object_type(
                properties={
                    "type": {"type": "string", "enum": [
                        "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                        "MultiPolygon", "GeometryCollection"]},
                    "coordinates": {"type": "array", "items": {}},
                },
                required=["type"],
                description="GeoJSON geometry, WGS 84 (RFC 7946).",
            )
        return build_object_type(
            properties={
                "type": {"type": "string", "enum": [kind]},
                "coordinates": _coordinates_schema(kind),
            },
            required=["type", "coordinates"],
            description=f"GeoJSON {kind}, WGS 84 longitude/latitude (RFC 7946).",
        )


@extend_schema_field({
    "oneOf": [
        {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "object"}]}},
        {"type": "object", "description": "The errors of a nested object's fields."},
    ],
})
class FieldErrors(serializers.JSONField):
    """A field's messages, or for a nested object (`contact`) its fields' errors in turn."""


class ErrorSerializer(serializers.Serializer):
    """Every error: a stable `code`, a readable `message`, per-field `errors` when relevant."""

    code = serializers.CharField()
    message = serializers.CharField()
    errors = serializers.DictField(child=FieldErrors(), required=False)
    # Context some codes add (geocity.errors.DomainError.extra, throttling):
    status = serializers.CharField(required=False,
                                   help_text="`invalid_transition`: the report's status now.")
    distance_m = serializers.FloatField(required=False,
                                        help_text="`outside_service_area`: how far outside.")
    retry_after = serializers.IntegerField(required=False,
                                           help_text="`throttled`: seconds to wait.")
    hazard_notice = serializers.DictField(
        required=False, help_text="An explosive-ordnance report refused (outside the service "
                                  "area): ДСНС's safety rules all the same (SafetyNotice).")

    class Meta:
        ref_name = "Error"


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Schema responses for the given error statuses."""
    text = {
        400: "Invalid input: `code` names the problem, `errors` the fields.",
        401: "Not signed in (send `Authorization: Token <key>` or a session cookie).",
        403: "Signed in, but this role may not do this.",
        404: "No such object, or not visible to you.",
        409: "Conflicts with the object's current state.",
        413: "Request body too large.",
        415: "Unsupported content type.",
        429: "Too many requests; see the Retry-After header.",
    }
    return {s: OpenApiResponse(ErrorSerializer, description=text[s]) for s in statuses}


ERRORS = errors  # short alias for decorators


PARSERS = [SafeJSONParser, MultiPartParser, FormParser]


class ApiView(APIView):
    """Base view: `?lang=uk|en` overrides the language cookie for one request; JSON bodies
    go through SafeJSONParser."""

    parser_classes = PARSERS

    def initial(self, request, *args, **kwargs):
        # PostgreSQL refuses NUL in text: refuse it here, not with a 500 from the driver.
        for key, values in request.query_params.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                raise ValidationFailed("Query parameters may not contain NUL characters.",
                                       code="invalid",
                                       fields={key.replace("\x00", ""): ["NUL character."]})
        lang = request.query_params.get("lang")
        if lang in dict(settings.LANGUAGES):
            translation.activate(lang)
            request.LANGUAGE_CODE = lang
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response.setdefault("Content-Language", translation.get_language() or "uk")
        return response


def query_point(params, *, lat: str = "lat", lon: str = "lon"):
    """A storage-SRID point from WGS 84 query parameters (400 invalid_location otherwise)."""
    return point_from_lat_lon(params.get(lat), params.get(lon))


def query_float(params, name: str, *, default: float, low: float, high: float) -> float:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise ValidationFailed(
            f"{name} must be a number from {low:g} to {high:g}.", code="invalid",
            fields={name: [f"A number from {low:g} to {high:g}."]},
        )
    return value


LAT_LON_PARAMETERS = [
    OpenApiParameter("lat", float, required=True, description="Latitude, WGS 84."),
    OpenApiParameter("lon", float, required=True, description="Longitude, WGS 84."),
]
LANG_PARAMETER = OpenApiParameter(
    "lang", str, enum=["uk", "en"],
    description="Language of localised names (default: the language cookie, then uk).",
)
BBOX_PARAMETER = OpenApiParameter(
    "in_bbox", str, description="min_lon,min_lat,max_lon,max_lat (WGS 84).",
)


def _bbox(params):
    raw = params.get("in_bbox")
    if raw is None:
        return None
    return parse_bbox(raw)


def _code_name(obj) -> dict | None:
    return {"code": obj.code, "name": obj.name} if obj is not None else None


# --- Departments -------------------------------------------------------------------------

class DepartmentListApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        name_uk = serializers.CharField()
        name_en = serializers.CharField()
        kind = serializers.CharField()
        kind_display = serializers.CharField(source="get_kind_display")
        is_emergency_service = serializers.BooleanField()

        class Meta:
            ref_name = "Department"

    @extend_schema(tags=["look-ups"], parameters=[LANG_PARAMETER],
                   responses={200: OutputSerializer(many=True)})
    def get(self, request):
        """Active departments, communal enterprises and state services."""
        return Response(self.OutputSerializer(department_list(), many=True).data)


# --- Hazard check ------------------------------------------------------------------------

class SafetyNoticeSerializer(serializers.Serializer):
    title = serializers.DictField(child=serializers.CharField())
    rules = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    emergency_phone = serializers.CharField()

    class Meta:
        ref_name = "SafetyNotice"


class HazardCheckApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        class ZoneSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            name = serializers.CharField()
            kind = serializers.CharField()
            distance_m = serializers.SerializerMethodField()
            is_demo = serializers.BooleanField()

            class Meta:
                ref_name = "HazardCheckZone"

            def get_distance_m(self, zone) -> float:
                return round(zone.distance.m, 1)

        near = serializers.BooleanField()
        inside = serializers.BooleanField()
        zones = ZoneSerializer(many=True)
        notice = SafetyNoticeSerializer(allow_null=True)

        class Meta:
            ref_name = "HazardCheck"

    @extend_schema(tags=["look-ups"], parameters=LAT_LON_PARAMETERS,
                   responses={200: OutputSerializer, **ERRORS(400)})
    def get(self, request):
        """Open mine-hazard zones within 100 m, and the ДСНС safety notice when any.

        Non-public zones trigger the notice but are listed only to staff.
        """
        check = hazard_check(query_point(request.query_params), user=request.user)
        return Response(self.OutputSerializer(check).data)


# --- Geocoding (local gazetteer) ---------------------------------------------------------

class AddressSerializer(serializers.Serializer):
    label = serializers.CharField()
    lat = serializers.SerializerMethodField()
    lon = serializers.SerializerMethodField()

    class Meta:
        ref_name = "Address"

    def get_lat(self, address) -> float:
        return lat_lon(address.location)[0]

    def get_lon(self, address) -> float:
        return lat_lon(address.location)[1]


class GeocodeApi(ApiView):
    @extend_schema(
        tags=["look-ups"],
        parameters=[OpenApiParameter("q", str, required=True,
                                     description="Street and house number, any order."),
                    OpenApiParameter("limit", int, description="1 to 50, default 10.")],
        responses={200: AddressSerializer(many=True), **ERRORS(400)},
    )
    def get(self, request):
        """Addresses from the city's own gazetteer (no outside geocoder)."""
        q = (request.query_params.get("q") or "").strip()
        if not q:
            raise ValidationFailed("q is required.", code="invalid", fields={"q": ["Required."]})
        if len(q) > 200:
            raise ValidationFailed("q is too long.", code="invalid",
                                   fields={"q": ["At most 200 characters."]})
        limit = int(query_float(request.query_params, "limit", default=10, low=1, high=50))
        return Response(AddressSerializer(address_search(q, limit=limit), many=True).data)


class GeocodeReverseApi(ApiView):
    @extend_schema(tags=["look-ups"], parameters=LAT_LON_PARAMETERS,
                   responses={200: AddressSerializer, **ERRORS(400, 404)})
    def get(self, request):
        """The nearest gazetteer address within 150 m of a point, or 404."""
        address = address_nearest(query_point(request.query_params))
        if address is None:
            raise NotFound("No known address near this point.", code="address_not_found")
        return Response(AddressSerializer(address).data)


# --- Map layers --------------------------------------------------------------------------

def _collection(serializer_class, rows, **context) -> dict:
    return serializer_class(rows, many=True, context=context).data


class HazardZoneFeatureSerializer(GeoFeatureModelSerializer):
    geometry = WGS84GeometryField(geometry_type="MultiPolygon")
    kind_display = serializers.CharField(source="get_kind_display")

    class Meta:
        model = HazardZone
        ref_name = "HazardZoneFeature"
        geo_field = "geometry"
        fields = ["id", "name", "kind", "kind_display", "status", "eo_types", "source_org",
                  "survey_date", "marking", "is_demo"]


class HazardZoneLayerApi(ApiView):
    @extend_schema(
        tags=["layers"],
        parameters=[BBOX_PARAMETER, OpenApiParameter("status", str, enum=["open", "closed"])],
        responses={200: HazardZoneFeatureSerializer(many=True), **ERRORS(400)},
    )
    def get(self, request):
        """Mine-hazard zones (IMAS SHA/CHA, cancelled, cleared). Non-public zones: staff only."""
        qs = visible_hazard_zones(request.user).order_by("id")
        bbox = _bbox(request.query_params)
        if bbox is not None:
            qs = qs.filter(geometry__intersects=bbox)
        status = request.query_params.get("status")
        if status is not None:
            if status not in HazardZone.Status.values:
                raise ValidationFailed("status must be open or closed.", code="invalid_status",
                                       fields={"status": ["open or closed."]})
            qs = qs.filter(status=status)
        return Response(_collection(HazardZoneFeatureSerializer, qs))


class InfrastructureFeatureSerializer(GeoFeatureModelSerializer):
    geometry = WGS84GeometryField()
    kind_display = serializers.CharField(source="get_kind_display")
    shelter_type_display = serializers.CharField(source="get_shelter_type_display")
    layer = serializers.SerializerMethodField()

    class Meta:
        model = InfrastructureFeature
        ref_name = "InfrastructureFeature"
        geo_field = "geometry"
        fields = ["id", "kind", "kind_display", "name", "shelter_type", "shelter_type_display",
                  "address", "attributes", "layer"]

    @extend_schema_field(inline_serializer("InfrastructureLayerRef", {
        "code": serializers.CharField(), "name": serializers.CharField(),
        "colour": serializers.CharField()}))
    def get_layer(self, feature) -> dict:
        layer = feature.layer
        return {"code": layer.code, "name": layer.name, "colour": layer.colour}


class InfrastructureCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = serializers.ListField(child=InfrastructureFeatureSerializer())
    truncated = serializers.BooleanField(
        help_text="True when more features match than `limit`: zoom in (narrow in_bbox)."
    )
    limit = serializers.IntegerField()

    class Meta:
        ref_name = "InfrastructureCollection"


class InfrastructureLayerApi(ApiView):
    @extend_schema(
        tags=["layers"],
        parameters=[
            BBOX_PARAMETER,
            OpenApiParameter("kind", str, description="Comma list of kinds: "
                             + ", ".join(InfrastructureFeature.Kind.values)),
            OpenApiParameter("layer", str, description="Comma list of layer codes."),
        ],
        responses={200: InfrastructureCollectionSerializer, **ERRORS(400)},
    )
    def get(self, request):
        """Infrastructure features; restricted ones only for staff, officials and moderators.

        Bounded: at most 2000 features. Without `in_bbox` a larger result is refused
        (400 `bbox_required`); with it, the first 2000 come back with `truncated: true`.
        """
        params = request.query_params
        kind = params.get("kind") or None
        if kind:
            unknown = {k for k in kind.split(",") if k} - set(InfrastructureFeature.Kind.values)
            if unknown:
                raise ValidationFailed(
                    f"Unknown kind: {', '.join(sorted(unknown))}.", code="invalid_kind",
                    fields={"kind": [f"One of {', '.join(InfrastructureFeature.Kind.values)}."]},
                )
        qs = visible_infrastructure(request.user, kind=kind).order_by("id")
        layers = [c for c in (params.get("layer") or "").split(",") if c]
        if layers:
            qs = qs.filter(layer__code__in=layers)
        bbox = _bbox(params)
        if bbox is not None:
            qs = qs.filter(geometry__intersects=bbox)
        limit = INFRASTRUCTURE_MAX_FEATURES
        rows = list(qs[: limit + 1])
        truncated = len(rows) > limit
        if truncated and bbox is None:
            raise ValidationFailed(
                f"More than {limit} features match: give in_bbox (or a kind).",
                code="bbox_required", fields={"in_bbox": ["Required for this many features."]},
            )
        data = _collection(InfrastructureFeatureSerializer, rows[:limit])
        return Response({**data, "truncated": truncated, "limit": limit})


SIMPLIFY_PARAMETER = OpenApiParameter(
    "simplify", float,
    description=f"Simplification tolerance in metres (0 to {SIMPLIFY_MAX_M:g}, "
                f"default {SIMPLIFY_DEFAULT_M:g}); topology-preserving.",
)


class DistrictFeatureSerializer(GeoFeatureModelSerializer):
    geometry = WGS84GeometryField(geometry_type="MultiPolygon", simplify=True)

    class Meta:
        model = District
        ref_name = "DistrictFeature"
        geo_field = "geometry"
        fields = ["id", "code", "name", "name_uk", "name_en"]


class ServiceAreaFeatureSerializer(GeoFeatureModelSerializer):
    geometry = WGS84GeometryField(geometry_type="MultiPolygon", simplify=True)

    class Meta:
        model = ServiceArea
        ref_name = "ServiceAreaFeature"
        geo_field = "geometry"
        fields = ["id", "code", "name", "name_uk", "name_en"]


class _SimplifiedLayerApi(ApiView):
    serializer_class: type
    model: type

    def get(self, request):
        tolerance = query_float(request.query_params, "simplify", default=SIMPLIFY_DEFAULT_M,
                                low=0, high=SIMPLIFY_MAX_M)
        rows = self.model.objects.order_by("pk")
        return Response(_collection(self.serializer_class, rows, simplify_m=tolerance))


class DistrictLayerApi(_SimplifiedLayerApi):
    serializer_class = DistrictFeatureSerializer
    model = District

    @extend_schema(tags=["layers"], parameters=[SIMPLIFY_PARAMETER, LANG_PARAMETER],
                   responses={200: DistrictFeatureSerializer(many=True), **ERRORS(400)})
    def get(self, request):
        """City districts, simplified for a fallback basemap and district filters."""
        return super().get(request)


class ServiceAreaLayerApi(_SimplifiedLayerApi):
    serializer_class = ServiceAreaFeatureSerializer
    model = ServiceArea

    @extend_schema(tags=["layers"], parameters=[SIMPLIFY_PARAMETER, LANG_PARAMETER],
                   responses={200: ServiceAreaFeatureSerializer(many=True), **ERRORS(400)})
    def get(self, request):
        """The municipality's boundary, simplified."""
        return super().get(request)
