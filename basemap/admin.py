"""Admin for the basemap: what the imports brought, to look at, not to edit.

Every row comes from `manage.py import_osm` and the next import replaces it, so the admin
is read-only (an edit here would silently disappear); geometry shows on the offline map
widget. Fix the data in OpenStreetMap, or in the extract, and import again.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from django.http import HttpRequest

from geocity.widgets import OfflineMapWidget

from .models import BasemapImport, Building, Park, Railway, Street, Water


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class FeatureAdmin(ReadOnlyAdmin, GISModelAdmin):
    gis_widget = OfflineMapWidget
    list_per_page = 50
    readonly_fields = ("osm_type", "osm_id", "min_zoom")


@admin.register(BasemapImport)
class BasemapImportAdmin(ReadOnlyAdmin):
    list_display = ("file_name", "imported_at", "streets", "buildings", "water", "parks",
                    "railways", "addresses", "addresses_skipped", "geometries_repaired",
                    "geometry_errors")


@admin.register(Street)
class StreetAdmin(FeatureAdmin):
    list_display = ("name_uk", "name_en", "road_class", "highway", "min_zoom", "osm_id")
    list_filter = ("road_class", "min_zoom")
    search_fields = ("name_uk", "name_en")


@admin.register(Building)
class BuildingAdmin(FeatureAdmin):
    list_display = ("__str__", "area_m2", "min_zoom", "osm_id")
    list_select_related = ("address",)
    search_fields = ("address__street_uk", "address__house_number")
    raw_id_fields = ("address",)


@admin.register(Water)
class WaterAdmin(FeatureAdmin):
    list_display = ("__str__", "kind", "min_zoom", "osm_id")
    list_filter = ("kind",)


@admin.register(Park)
class ParkAdmin(FeatureAdmin):
    list_display = ("__str__", "kind", "area_m2", "min_zoom", "osm_id")
    list_filter = ("kind",)


@admin.register(Railway)
class RailwayAdmin(FeatureAdmin):
    list_display = ("__str__", "kind", "min_zoom", "osm_id")
    list_filter = ("kind",)
