"""An admin map widget that works on an isolated network: no CDN, no outside tiles.

Django's OpenLayersWidget loads OpenLayers from a CDN and draws NASA/OSM tiles. This one
loads the npm `ol` package served by staticfiles (STATICFILES_DIRS maps node_modules/ol to
/static/vendor/ol/) and draws BASEMAP_URL when one is configured, otherwise the city's own
district boundaries as vector tiles from /tiles/districts/. No request leaves the origin.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.forms.widgets import OpenLayersWidget
from django.template import loader
from django.urls import get_script_prefix
from django.utils.safestring import mark_safe


class OfflineMapWidget(OpenLayersWidget):
    template_name = "gis/geocity-openlayers.html"
    default_zoom = settings.MAP_ZOOM

    class Media:
        extend = False  # not the parent's CDN OpenLayers
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/dist/ol.js", "gis/js/OLMapWidget.js")

    def __init__(self, attrs=None):
        super().__init__(attrs)
        lat, lon = settings.MAP_CENTER
        self.attrs.setdefault("default_lat", lat)
        self.attrs.setdefault("default_lon", lon)
        self.attrs.setdefault("default_zoom", self.default_zoom)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["basemap_url"] = settings.BASEMAP_URL
        context["basemap_attribution"] = settings.BASEMAP_ATTRIBUTION
        context["fallback_tiles_url"] = (
            f"{get_script_prefix()}tiles/districts/{{z}}/{{x}}/{{y}}.pbf"
        )
        return context

    def _render(self, template_name, context, renderer=None):
        # The default form renderer only searches app and django.forms templates; this
        # template lives in the project's templates folder (TEMPLATES DIRS).
        return mark_safe(loader.render_to_string(template_name, context))  # noqa: S308
