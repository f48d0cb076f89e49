"""Admin for the map layers: every model on the offline map widget, plus file import/export.

Each geometry layer's change list has "Import from file" (upload -> dry-run summary ->
confirm -> import, all through `layers.importing.layer_import`) and "Export" links
(GeoJSON/GeoPackage via `layers.exporting`), and export actions for selected rows.

The uploaded file is staged under PRIVATE_MEDIA_ROOT between the preview and the confirm;
the confirm form carries a signed token, so what is imported is exactly what was previewed.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.gis.admin import GISModelAdmin
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geocity.widgets import OfflineMapWidget

from .exporting import LayerExportError, export_content_type, layer_export, layer_for_model
from .forms import LayerImportForm
from .importing import LayerImportError, layer_import
from .models import (
    AddressPoint,
    Department,
    District,
    HazardZone,
    InfrastructureFeature,
    InfrastructureLayer,
    Membership,
    ResponsibilityArea,
    ServiceArea,
)
from .services import layer_changed

TOKEN_SALT = "layers.admin.import"
TOKEN_MAX_AGE = 3600
STAGING_MAX_AGE = 24 * 3600


def staging_root() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / "layer-imports"


def _clean_stale_staging() -> None:
    root = staging_root()
    if not root.exists():
        return
    cutoff = time.time() - STAGING_MAX_AGE
    for entry in root.iterdir():
        if entry.is_dir() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)


def _stage(upload) -> tuple[str, Path]:
    """Save an upload under a fresh private folder; returns (folder id, file path)."""
    _clean_stale_staging()
    folder = uuid.uuid4().hex
    directory = staging_root() / folder
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (get_valid_filename(Path(upload.name).name) or "upload")
    with target.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return folder, target


def _unstage(folder: str) -> None:
    if folder and folder.isalnum():
        shutil.rmtree(staging_root() / folder, ignore_errors=True)


class LayerChangeMixin:
    """Every admin write to a layer busts its tiles and, for routing layers, re-routes.

    The hooks run inside the admin's transaction; `layer_changed` defers the work to
    after the commit.
    """

    changed_layer: str = ""

    def _layer_changed(self, request) -> None:
        if layer_changed(layer=self.changed_layer):
            messages.info(request, _("Open reports no one has touched yet will be re-routed "
                                     "to match the changed layer."))

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        self._layer_changed(request)

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        self._layer_changed(request)

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        self._layer_changed(request)


class LayerAdmin(LayerChangeMixin, GISModelAdmin):
    """A geometry layer: offline map widget, import page, export links and actions."""

    gis_widget = OfflineMapWidget
    change_list_template = "admin/layers/change_list.html"
    actions = ["export_geojson", "export_gpkg"]

    @property
    def layer_name(self) -> str:
        return layer_for_model(self.model)

    @property
    def changed_layer(self) -> str:
        return self.layer_name

    # --- URLs -----------------------------------------------------------------------------
    def _url_name(self, view: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view),
                 name=self._url_name("import")),
            path("export/<str:fmt>/", self.admin_site.admin_view(self.export_view),
                 name=self._url_name("export")),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "layer_import_url": reverse("admin:" + self._url_name("import")),
            "layer_export_geojson_url": reverse("admin:" + self._url_name("export"),
                                                args=["geojson"]),
            "layer_export_gpkg_url": reverse("admin:" + self._url_name("export"),
                                             args=["gpkg"]),
            "can_import_layer": self.has_add_permission(request),
        }
        return super().changelist_view(request, extra_context)

    # --- Import ---------------------------------------------------------------------------
    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import %(layer)s from a file") % {"layer": self.opts.verbose_name_plural},
            "changelist_url": reverse("admin:" + self._url_name("changelist")),
        }
        if request.method == "POST" and "token" in request.POST:
            return self._import_confirm(request, context)
        if request.method == "POST":
            form = LayerImportForm(request.POST, request.FILES)
            if form.is_valid():
                response = self._import_preview(request, form, context)
                if response is not None:
                    return response
        else:
            form = LayerImportForm(initial={"layer": self.layer_name})
        return TemplateResponse(request, "admin/layers/import.html", {**context, "form": form})

    def _check_replace(self, request, options: dict) -> None:
        if options.get("replace") and not self.has_delete_permission(request):
            raise PermissionDenied

    def _import_preview(self, request, form: LayerImportForm, context: dict):
        options = form.options()
        self._check_replace(request, options)
        folder, staged = _stage(form.cleaned_data["file"])
        try:
            summary = layer_import(staged, dry_run=True, **options)
        except LayerImportError as exc:
            _unstage(folder)
            form.add_error(None, exc.summary_message)
            for problem in exc.problems:
                form.add_error(None, problem)
            return None
        token = signing.dumps({"folder": folder, "name": staged.name, "options": options},
                              salt=TOKEN_SALT)
        return TemplateResponse(request, "admin/layers/import.html", {
            **context, "form": None, "summary": summary, "token": token,
            "file_name": staged.name,
        })

    def _import_confirm(self, request, context: dict) -> HttpResponse:
        try:
            payload = signing.loads(request.POST["token"], salt=TOKEN_SALT,
                                    max_age=TOKEN_MAX_AGE)
        except signing.BadSignature:
            messages.error(request, _("The preview expired: upload the file again."))
            return HttpResponseRedirect(request.path)
        folder = payload["folder"]
        if "cancel" in request.POST:
            _unstage(folder)
            messages.info(request, _("Import cancelled; nothing was written."))
            return HttpResponseRedirect(context["changelist_url"])
        options = payload["options"]
        self._check_replace(request, options)
        staged = staging_root() / folder / payload["name"]
        if not staged.exists():
            messages.error(request, _("The preview expired: upload the file again."))
            return HttpResponseRedirect(request.path)
        try:
            summary = layer_import(staged, dry_run=False, **options)
        except LayerImportError as exc:
            field_map = "\n".join(f"{k}={v}" for k, v in options["field_map"].items())
            form = LayerImportForm(initial={**options, "field_map": field_map})
            return TemplateResponse(request, "admin/layers/import.html", {
                **context, "form": form, "import_errors": [exc.summary_message, *exc.problems],
            })
        finally:
            _unstage(folder)
        messages.success(request, " ".join(summary.lines()))
        return HttpResponseRedirect(context["changelist_url"])

    # --- Export ---------------------------------------------------------------------------
    def _export_response(self, queryset, fmt: str) -> HttpResponse:
        suffix = "geojson" if fmt == "geojson" else "gpkg"
        workdir = Path(tempfile.mkdtemp(prefix="geocity-admin-export-"))
        target = workdir / f"{self.layer_name}.{suffix}"
        try:
            layer_export(target, layer=self.layer_name, fmt=fmt, queryset=queryset)
            handle = target.open("rb")
        finally:
            # The open handle keeps the data readable after the unlink (POSIX).
            shutil.rmtree(workdir, ignore_errors=True)
        return FileResponse(handle, as_attachment=True, filename=target.name,
                            content_type=export_content_type(fmt))

    def export_view(self, request: HttpRequest, fmt: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if fmt not in ("geojson", "gpkg"):
            return HttpResponse(status=404)
        try:
            return self._export_response(self.get_queryset(request).order_by("pk"), fmt)
        except LayerExportError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("admin:" + self._url_name("changelist")))

    @admin.action(description=gettext_lazy("Download selected as GeoJSON"),
                  permissions=["view"])
    def export_geojson(self, request, queryset):
        return self._export_response(queryset.order_by("pk"), "geojson")

    @admin.action(description=gettext_lazy("Download selected as GeoPackage"),
                  permissions=["view"])
    def export_gpkg(self, request, queryset):
        return self._export_response(queryset.order_by("pk"), "gpkg")


@admin.register(ServiceArea)
class ServiceAreaAdmin(LayerAdmin):
    list_display = ["name_uk", "name_en", "code"]
    search_fields = ["name_uk", "name_en", "code"]


@admin.register(District)
class DistrictAdmin(LayerAdmin):
    list_display = ["code", "name_uk", "name_en"]
    search_fields = ["code", "name_uk", "name_en"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(LayerChangeMixin, admin.ModelAdmin):
    changed_layer = "responsibility"  # an inactive department is skipped by routing
    list_display = ["code", "name_uk", "kind", "is_emergency_service", "is_active", "email"]
    list_filter = ["kind", "is_emergency_service", "is_active"]
    search_fields = ["code", "name_uk", "name_en", "email"]
    inlines = [MembershipInline]


@admin.register(ResponsibilityArea)
class ResponsibilityAreaAdmin(LayerAdmin):
    list_display = ["__str__", "department", "priority", "category_list", "valid_from",
                    "valid_to"]
    list_filter = ["department", "priority"]
    list_select_related = ["department"]
    search_fields = ["name", "department__code", "department__name_uk"]
    filter_horizontal = ["categories"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")

    @admin.display(description=gettext_lazy("categories"))
    def category_list(self, obj: ResponsibilityArea) -> str:
        codes = sorted(c.service_code for c in obj.categories.all())
        return ", ".join(codes) if codes else _("all")


@admin.register(HazardZone)
class HazardZoneAdmin(LayerAdmin):
    list_display = ["name", "kind", "status", "public", "is_demo", "survey_date", "source_org"]
    list_filter = ["kind", "status", "public", "is_demo"]
    search_fields = ["name", "external_id", "source_org"]


@admin.register(InfrastructureLayer)
class InfrastructureLayerAdmin(LayerChangeMixin, admin.ModelAdmin):
    changed_layer = "infrastructure"
    list_display = ["code", "name_uk", "name_en", "colour", "order", "feature_count"]
    search_fields = ["code", "name_uk", "name_en"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(feature_count=Count("features"))

    @admin.display(description=gettext_lazy("features"), ordering="feature_count")
    def feature_count(self, obj) -> int:
        return obj.feature_count


@admin.register(InfrastructureFeature)
class InfrastructureFeatureAdmin(LayerAdmin):
    list_display = ["__str__", "kind", "layer", "shelter_type", "sensitivity", "address"]
    list_filter = ["layer", "kind", "sensitivity", "shelter_type"]
    list_select_related = ["layer"]
    search_fields = ["name", "address"]


@admin.register(AddressPoint)
class AddressPointAdmin(LayerAdmin):
    list_display = ["street_uk", "house_number", "street_en"]
    search_fields = ["search_text"]
    exclude = ["search_text"]

    def save_model(self, request, obj: AddressPoint, form, change) -> None:
        house = obj.house_number
        text = f"{obj.street_uk} {house} {obj.street_en} {house}" if obj.street_en else (
            f"{obj.street_uk} {house}")
        obj.search_text = text.lower().strip()[:500]
        super().save_model(request, obj, form, change)
