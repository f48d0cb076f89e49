"""Output shapes shared by the report API views (GeoJSON features, detail, timeline)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.response import Response
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from layers.apis import (
    WGS84GeometryField,
)

from .. import sla
from ..models import Photo, Report
from ..roles import (
    can_see_contact,
    is_official,
    roles_for,
)
from ..selectors import (
    public_address,
    report_for_display,
)
from ..workflow import OPEN_STATUSES, TRANSITIONS, Role
from .common import (
    file_url,
    prefetch_thumbnails,
    serializer_context,
    timeline_rows,
)

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
        return file_url(self.context["request"], thumbs[0].thumbnail)


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
        return file_url(self.context["request"], photo.display)

    def get_thumbnail_url(self, photo) -> str | None:
        return file_url(self.context["request"], photo.thumbnail)


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


def routing_data(report: Report) -> dict:
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
        return routing_data(report) if self.context.get("privileged") else None

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


def detail_response(request, number: int, *, visible_only: bool = True,
                    status: int = http.HTTP_200_OK) -> Response:
    user = request.user
    report = report_for_display(number, user, visible_only=visible_only)
    privileged = can_see_contact(user, report)
    report.api_timeline = timeline_rows(report, internal=privileged or is_official(user),
                                        names=privileged)
    report.api_photos = list(report.photos.exclude(state=Photo.State.FAILED))
    prefetch_thumbnails([report])
    context = serializer_context(request, privileged=privileged,
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



