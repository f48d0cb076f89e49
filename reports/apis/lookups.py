"""Look-ups for the report form: categories with their questions, and photo inspection."""

from __future__ import annotations

from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from geocity.errors import ValidationFailed
from layers.apis import (
    ERRORS,
    LANG_PARAMETER,
    ApiView,
)

from ..photos import PhotoRejected, photo_inspect
from ..selectors import (
    active_categories,
)
from ..throttles import (
    PhotoInspectIPThrottle,
    PhotoInspectUserThrottle,
)

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
