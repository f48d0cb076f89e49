"""The dashboard's folium map: heat tiles, hazard zones and a district choropleth of the
resolution rate, with local assets only (no CDN: isolated networks)."""

from __future__ import annotations

import json
import math
from urllib.parse import urlencode

import folium
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import escape
from django.utils.translation import gettext as _

from . import kpis, selectors
from .charts import fmt_percent

RATE_BREAKS = (0, 50, 60, 70, 80, 90, 100)
RATE_COLOURS = ("#f0f9e8", "#ccebc5", "#a8ddb5", "#7bccc4", "#43a2ca", "#0868ac")  # GnBu
NO_DATA_COLOUR = "#bdbdbd"


def rate_colour(rate: float | None) -> str:
    if rate is None:
        return NO_DATA_COLOUR
    for colour, upper in zip(RATE_COLOURS, RATE_BREAKS[1:], strict=True):
        if rate < upper:
            return colour
    return RATE_COLOURS[-1]


def rate_legend() -> list[dict]:
    items = [{"colour": c, "label": f"{lo}–{hi} %"}
             for c, lo, hi in zip(RATE_COLOURS, RATE_BREAKS[:-1], RATE_BREAKS[1:], strict=True)]
    return [*items, {"colour": NO_DATA_COLOUR, "label": _("no reports")}]


# --- The folium map -----------------------------------------------------------------------

def _local_assets(element) -> None:
    """Point folium at our own copies: nothing may load from a CDN."""
    element.default_js = [("leaflet", static("vendor/leaflet/leaflet.js"))]
    element.default_css = [("leaflet_css", static("vendor/leaflet/leaflet.css"))]


def _bounds(districts: list[selectors.DistrictStat]) -> list[list[float]] | None:
    xs, ys = [], []
    for d in districts:  # a handful of simplified outlines
        if not d.geojson:
            continue
        stack = [json.loads(d.geojson)["coordinates"]]
        while stack:
            item = stack.pop()
            if item and isinstance(item[0], (int, float)):
                xs.append(item[0])
                ys.append(item[1])
            else:
                stack.extend(item)
    if not xs:
        return None
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def heat_tile_url(f: kpis.DashboardFilters) -> str:
    params = {"weight": "open"}
    if f.category:
        params["category"] = f.category.service_code
    if f.department:
        params["department"] = f.department.code
    if f.district:
        params["district"] = f.district.code
    return "/tiles/heat/{z}/{x}/{y}.png?" + urlencode(params)


def build_map(data: selectors.DashboardData, f: kpis.DashboardFilters, hazard_zones: list[dict], *,
              interactive: bool = True) -> dict[str, str]:
    """The dashboard map as HTML and script fragments to embed in our own page."""
    options = {} if interactive else {"dragging": False, "scroll_wheel_zoom": False,
                                      "double_click_zoom": False, "box_zoom": False,
                                      "keyboard": False, "touch_zoom": False}
    m = folium.Map(location=list(settings.MAP_CENTER), zoom_start=settings.MAP_ZOOM,
                   tiles=None, control_scale=interactive, zoom_control=interactive,
                   prefer_canvas=True, **options)
    _local_assets(m)
    if settings.BASEMAP_URL:
        folium.TileLayer(settings.BASEMAP_URL, attr=settings.BASEMAP_ATTRIBUTION or " ",
                         name=_("Basemap"), control=False).add_to(m)

    features = []
    for d in data.districts:
        if not d.geojson:
            continue
        rate = d.resolution_rate
        features.append({
            "type": "Feature", "id": d.code, "geometry": json.loads(d.geojson),
            "properties": {
                "name": d.name, "rate": fmt_percent(rate),
                "received": d.received, "resolved": d.resolved, "backlog": d.backlog,
                "colour": rate_colour(rate),
            },
        })
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=_("Resolution rate by district"),
            style_function=lambda feat: {
                "fillColor": feat["properties"]["colour"], "fillOpacity": 0.55,
                "color": "#37474f", "weight": 1.5,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "rate", "received", "resolved", "backlog"],
                aliases=[_("District"), _("Resolved of received"), _("Received"),
                         _("Resolved"), _("Open now")],
            ),
        ).add_to(m)

    folium.TileLayer(heat_tile_url(f), attr=settings.SITE_NAME, name=_("Open reports (heat)"),
                     overlay=True, opacity=0.6, max_native_zoom=18).add_to(m)

    zones = [{
        "type": "Feature", "id": z["id"], "geometry": json.loads(z["shape"]),
        "properties": {"name": z["name"], "kind": z["kind"],
                       "demo": _("demo data") if z["is_demo"] else ""},
    } for z in hazard_zones if z["shape"]]
    if zones:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": zones}, name=_("Mine-hazard zones"),
            style_function=lambda feat: {"color": "#b42318", "weight": 2, "dashArray": "6 4",
                                         "fillColor": "#b42318", "fillOpacity": 0.15},
            tooltip=folium.GeoJsonTooltip(fields=["name", "kind", "demo"],
                                          aliases=[_("Zone"), _("Kind"), ""]),
        ).add_to(m)

    spots = folium.FeatureGroup(name=_("Hotspots"))
    biggest = max([s.open for s in data.hotspots] + [1])
    for rank, s in enumerate(data.hotspots, start=1):
        folium.CircleMarker(
            [s.lat, s.lon], radius=6 + 14 * math.sqrt(s.open / biggest), color="#7a2e00",
            weight=2, fill=True, fill_color="#f08c00", fill_opacity=0.7,
            tooltip=escape(f"{rank}. {s.address or s.near or s.category_name}: "
                           + _("%(n)s open") % {"n": s.open}),
        ).add_to(spots)
    spots.add_to(m)

    if interactive:
        folium.LayerControl(collapsed=False).add_to(m)
    bounds = _bounds(data.districts)
    if bounds:
        m.fit_bounds(bounds)
    root = m.get_root()
    root.render()
    return {"html": root.html.render(), "script": root.script.render()}


