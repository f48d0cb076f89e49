"""The officials' dashboard: KPIs, the per-department table, charts, a folium map, exports.

Views are thin: they parse the filters, ask `issues.kpis` for the aggregates (a fixed number
of SQL queries, cached briefly) and render. Charts are server-side SVG, so they print and
need no script; the map is folium with local assets only (no CDN: isolated networks).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import folium
from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import formats, timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from layers.models import Department, District

from . import kpis
from .models import Category
from .roles import can_see_dashboard

# --- Access -------------------------------------------------------------------------------


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """The 403 page of the workspace and the dashboard (a page, not a bare error)."""
    return render(request, "issues/workspace/forbidden.html", {"message": message}, status=403)


def _guard(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_see_dashboard(request.user):
        return forbidden(request, _("The dashboard is for city officials and administrators."))
    return None


# --- Filters ------------------------------------------------------------------------------

PERIOD_CHOICES = [
    ("7d", gettext_lazy("Last 7 days")),
    ("30d", gettext_lazy("Last 30 days")),
    ("90d", gettext_lazy("Last 90 days")),
    ("365d", gettext_lazy("Last 12 months")),
    ("month", gettext_lazy("This month")),
    ("quarter", gettext_lazy("This quarter")),
    ("year", gettext_lazy("This year")),
    ("custom", gettext_lazy("Dates…")),
]
MAX_PERIOD_DAYS = 3 * 366


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PERIOD_CHOICES,
                               required=False)
    date_from = forms.DateField(label=gettext_lazy("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    district = forms.ModelChoiceField(
        label=gettext_lazy("District"), queryset=District.objects.order_by("name_uk"),
        to_field_name="code", required=False, empty_label=gettext_lazy("All districts"))
    department = forms.ModelChoiceField(
        label=gettext_lazy("Department"),
        queryset=Department.objects.filter(is_active=True).order_by("name_uk"),
        to_field_name="code", required=False, empty_label=gettext_lazy("All departments"))
    category = forms.ModelChoiceField(
        label=gettext_lazy("Category"),
        queryset=Category.objects.select_related("group").order_by("group__order", "order",
                                                                   "service_code"),
        to_field_name="service_code", required=False,
        empty_label=gettext_lazy("All categories"))

    def __init__(self, data, *args, **kwargs):
        data = data.copy()
        # short GET names: ?from=&to= for custom dates
        for short, name in (("from", "date_from"), ("to", "date_to")):
            if short in data and name not in data:
                data[name] = data[short]
        if not data.get("period"):
            data["period"] = "custom" if data.get("date_from") else "30d"
        super().__init__(data, *args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("period") == "custom":
            first, last = cleaned.get("date_from"), cleaned.get("date_to")
            if not first:
                self.add_error("date_from", _("Choose the first day."))
            elif (last or timezone.localdate()) - first > timedelta(days=MAX_PERIOD_DAYS):
                self.add_error("date_from", _("At most three years at a time."))
        return cleaned


def parse_filters(request: HttpRequest) -> tuple[kpis.DashboardFilters, DashboardFilterForm]:
    """Valid filters from the query string; invalid parts fall back to the defaults and the
    form carries the error messages."""
    form = DashboardFilterForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    now = timezone.now()
    period = data.get("period") or "30d"
    if period == "custom" and data.get("date_from") and not form.has_error("date_from"):
        start, end = kpis.custom_bounds(data["date_from"],
                                        data.get("date_to") or timezone.localdate(now))
    else:
        period = period if period in kpis.PERIOD_PRESETS else "30d"
        start, end = kpis.period_bounds(period, now)
    filters = kpis.DashboardFilters(
        start=start, end=end, period=period,
        district=data.get("district"), department=data.get("department"),
        category=data.get("category"),
    )
    return filters, form


# --- Presentation helpers -----------------------------------------------------------------

KPI_LABELS = {
    "received": gettext_lazy("Received"),
    "resolved": gettext_lazy("Resolved"),
    "backlog": gettext_lazy("Open backlog"),
    "median_hours": gettext_lazy("Median time to resolve"),
    "p90_hours": gettext_lazy("90th percentile time to resolve"),
    "within_sla": gettext_lazy("Resolved within SLA"),
    "overdue": gettext_lazy("Overdue"),
    "reopen_rate": gettext_lazy("Reopen rate"),
    "supporters": gettext_lazy("Supporters"),
}
KPI_HELP = {
    "received": gettext_lazy("Reports created in the period."),
    "resolved": gettext_lazy("Reports marked resolved in the period."),
    "backlog": gettext_lazy("Open reports at the end of the period."),
    "median_hours": gettext_lazy("Half of the reports resolved in the period took less."),
    "p90_hours": gettext_lazy("Nine in ten reports resolved in the period took less."),
    "within_sla": gettext_lazy(
        "Share resolved by the deadline; time waiting for the reporter does not count."),
    "overdue": gettext_lazy("Open reports past their deadline at the end of the period."),
    "reopen_rate": gettext_lazy(
        "Of the reports received in the period that were resolved, the share reopened."),
    "supporters": gettext_lazy("“Me too” supporters of the reports received in the period."),
}


def fmt_number(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    return formats.number_format(value, decimal_pos=digits, use_l10n=True, force_grouping=True)


def fmt_hours(hours: float | None) -> str:
    if hours is None:
        return "—"
    if abs(hours) < 48:
        return _("%(n)s h") % {"n": fmt_number(hours, 1)}
    return _("%(n)s d") % {"n": fmt_number(hours / 24, 1)}


def fmt_percent(value: float | None) -> str:
    return "—" if value is None else f"{fmt_number(value, 1)} %"


def fmt_value(kind: str, value) -> str:
    if kind == "hours":
        return fmt_hours(value)
    if kind == "percent":
        return fmt_percent(value)
    return fmt_number(value)


def _signed(text: str, value: float) -> str:
    return f"+{text}" if value > 0 else (f"−{text.lstrip('-')}" if value < 0 else text)


def fmt_change(kpi: kpis.Kpi) -> str:
    change = kpi.change
    if change is None:
        return _("no comparison")
    if kpi.kind == "percent":
        return _signed(_("%(n)s pp") % {"n": fmt_number(abs(change), 1)}, change)
    if kpi.kind == "hours":
        text = _signed(fmt_hours(abs(change)), change)
    else:
        text = _signed(fmt_number(abs(change)), change)
    if kpi.change_percent is not None:
        text += f" ({_signed(fmt_number(abs(kpi.change_percent), 0), kpi.change_percent)} %)"
    return text


@dataclass
class KpiCard:
    key: str
    label: str
    help: str
    value: str
    previous: str
    change: str
    trend: str


def kpi_cards(items: list[kpis.Kpi]) -> list[KpiCard]:
    return [
        KpiCard(key=k.key, label=str(KPI_LABELS[k.key]), help=str(KPI_HELP[k.key]),
                value=fmt_value(k.kind, k.value), previous=fmt_value(k.kind, k.previous),
                change=fmt_change(k), trend=k.trend)
        for k in items
    ]


def axis_ticks(value: float, *, max_ticks: int = 5) -> tuple[int, list[int]]:
    """A round axis maximum >= value and whole-number ticks (steps of 1, 2, 5 x 10^n)."""
    value = max(value, 1)
    step = 1
    for exp in range(0, 12):
        for base in (1, 2, 5):
            step = base * 10 ** exp
            if math.ceil(value / step) <= max_ticks - 1:
                top = math.ceil(value / step) * step
                return top, list(range(0, top + 1, step))
    return int(value), [0, int(value)]  # pragma: no cover - beyond 10^12


@dataclass
class Chart:
    width: int
    height: int
    plot: dict
    ticks: list[dict]
    labels: list[dict]
    series: list[dict]
    bars: list[dict]


def trend_chart(points: list[kpis.WeekPoint], *, width: int = 760, height: int = 240) -> Chart:
    """Two lines (received, resolved) per week as SVG coordinates."""
    left, right, top, bottom = 44, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, tick_values = axis_ticks(max([max(p.received, p.resolved) for p in points]
                                            + [1]))
    step = plot_w / max(len(points) - 1, 1)

    def y(v: int) -> float:
        return round(top + plot_h * (1 - v / top_value), 1)

    def x(i: int) -> float:
        return round(left + i * step, 1)

    series = []
    for key, label, css in (("received", _("Received"), "received"),
                            ("resolved", _("Resolved"), "resolved")):
        pts = [{"x": x(i), "y": y(getattr(p, key)), "value": getattr(p, key),
                "title": f"{formats.date_format(p.week, 'SHORT_DATE_FORMAT')}: {label} "
                         f"{getattr(p, key)}"} for i, p in enumerate(points)]
        series.append({"key": key, "label": label, "css": css, "points": pts,
                       "path": " ".join(f"{p['x']},{p['y']}" for p in pts)})
    ticks = [{"y": y(v), "x": left - 6, "label": fmt_number(v)} for v in tick_values]
    every = max(1, math.ceil(len(points) / 10))
    labels = [{"x": x(i), "y": top + plot_h + 18, "label": formats.date_format(p.week, "d.m")}
              for i, p in enumerate(points) if i % every == 0]
    return Chart(width, height, {"left": left, "top": top, "right": width - right,
                                 "bottom": top + plot_h}, ticks, labels, series, [])


def age_chart(buckets: list[kpis.AgeBucket], *, width: int = 760, height: int = 240) -> Chart:
    """Stacked bars: open reports by age, overdue part on top."""
    left, right, top, bottom = 44, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, tick_values = axis_ticks(max([b.total for b in buckets] + [1]))
    slot = plot_w / max(len(buckets), 1)
    bars = []
    for i, b in enumerate(buckets):
        label = (_("%(a)s–%(b)s d") % {"a": b.low, "b": b.high} if b.high is not None
                 else _("%(a)s+ d") % {"a": b.low})
        on_time = b.total - b.overdue
        h_total = plot_h * b.total / top_value
        h_over = plot_h * b.overdue / top_value
        x0 = left + i * slot + slot * 0.15
        bars.append({
            "x": round(x0, 1), "w": round(slot * 0.7, 1), "label": label,
            "cx": round(left + (i + 0.5) * slot, 1),
            "y_total": round(top + plot_h - h_total, 1), "h_ontime": round(h_total - h_over, 1),
            "y_over": round(top + plot_h - h_total, 1), "h_over": round(h_over, 1),
            "y_ontime": round(top + plot_h - h_total + h_over, 1),
            "y_value": round(top + plot_h - h_total - 4, 1), "y_label": top + plot_h + 18,
            "total": b.total, "overdue": b.overdue, "ontime": on_time,
        })
    ticks = [{"y": round(top + plot_h * (1 - v / top_value), 1), "x": left - 6,
              "label": fmt_number(v)} for v in tick_values]
    return Chart(width, height, {"left": left, "top": top, "right": width - right,
                                 "bottom": top + plot_h}, ticks, [], [], bars)


# Resolution rates of real cities sit mostly between 50 and 95 %: finer classes there.
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


def _bounds(districts: list[kpis.DistrictStat]) -> list[list[float]] | None:
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


def build_map(data: kpis.DashboardData, f: kpis.DashboardFilters, hazard_zones: list[dict], *,
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


# --- Views --------------------------------------------------------------------------------

def _context(request: HttpRequest, *, interactive: bool) -> dict:
    filters, form = parse_filters(request)
    data = kpis.dashboard_data(filters)
    zones = kpis.hazard_zone_shapes(request.user)
    query = urlencode(filters.as_query())
    districts = sorted(data.districts, key=lambda d: d.name)
    return {
        "form": form,
        "filters": filters,
        "query": query,
        "period_label": _period_label(filters),
        "previous_label": _range_label(filters.prev_start, filters.prev_end),
        "kpis": kpi_cards(data.kpis),
        "department_rows": [{
            "row": r,
            "name": r.name_en if translation.get_language() == "en" and r.name_en else r.name_uk,
            "median": fmt_hours(r.median_hours),
            "rate": fmt_percent(r.within_sla_percent),
            "bar": round(r.within_sla_percent or 0),
        } for r in data.departments],
        "trend": trend_chart(data.trend),
        "trend_points": data.trend,
        "age": age_chart(data.age),
        "hotspots": data.hotspots,
        "districts": [{"stat": d, "rate": fmt_percent(d.resolution_rate),
                       "colour": rate_colour(d.resolution_rate)} for d in districts],
        "legend": rate_legend(),
        "map": build_map(data, filters, zones, interactive=interactive),
        "computed_at": data.computed_at,
        "cell_m": kpis.HOTSPOT_CELL_M,
    }


def _range_label(start, end) -> str:
    last = timezone.localtime(end) - timedelta(days=1)
    return (f"{formats.date_format(timezone.localtime(start), 'SHORT_DATE_FORMAT')} – "
            f"{formats.date_format(last, 'SHORT_DATE_FORMAT')}")


def _period_label(f: kpis.DashboardFilters) -> str:
    parts = [_range_label(f.start, f.end)]
    for item in (f.district, f.department, f.category):
        if item is not None:
            parts.append(item.name)
    return " · ".join(parts)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    if (denied := _guard(request)) is not None:
        return denied
    return render(request, "issues/dashboard/index.html", _context(request, interactive=True))


@require_GET
def dashboard_print(request: HttpRequest) -> HttpResponse:
    """A printable view for council meetings: no filters form, no map controls."""
    if (denied := _guard(request)) is not None:
        return denied
    return render(request, "issues/dashboard/print.html", _context(request, interactive=False))


# --- Exports ------------------------------------------------------------------------------

class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(header: list[str], rows: Iterable[Iterable],
                 filename: str) -> StreamingHttpResponse:
    """A streamed CSV (UTF-8 with BOM, so spreadsheet programs read Cyrillic)."""
    writer = csv.writer(_Echo())

    def stream() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _iso(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


EXPORT_FIELDS = ("pk", "created", "category__service_code", "category__name_uk",
                 "department__code", "district__code", "status", "address", "due_at",
                 "resolved_at", "closed_at", "hours", "within_sla", "reopen_count",
                 "supporters_count", "is_hazard", "lat", "lon")


def _export_name(f: kpis.DashboardFilters, ext: str) -> str:
    start = timezone.localtime(f.start).date().isoformat()
    end = (timezone.localtime(f.end) - timedelta(days=1)).date().isoformat()
    return f"open-city-reports-{start}-{end}.{ext}"


@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    if (denied := _guard(request)) is not None:
        return denied
    filters, _form = parse_filters(request)
    rows = kpis.export_rows(filters).values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)

    def lines():
        for r in rows:  # streamed: one CSV line per report, no aggregation in Python
            (pk, created, code, cat, dept, district, status, address, due, resolved, closed,
             hours, within, reopens, supporters, hazard, lat, lon) = r
            yield [pk, _iso(created), code, cat, dept or "", district or "", status, address,
                   _iso(due), _iso(resolved), _iso(closed),
                   "" if hours is None else round(hours, 2),
                   "" if within is None else int(within), reopens, supporters, int(hazard),
                   round(lat, 6), round(lon, 6)]

    header = ["number", "created", "category", "category_name", "department", "district",
              "status", "address", "due_at", "resolved_at", "closed_at", "hours_to_resolve",
              "within_sla", "reopen_count", "supporters", "is_hazard", "lat", "lon"]
    return csv_response(header, lines(), _export_name(filters, "csv"))


@require_GET
def export_geojson(request: HttpRequest) -> HttpResponse:
    if (denied := _guard(request)) is not None:
        return denied
    filters, _form = parse_filters(request)
    fields = [f for f in EXPORT_FIELDS if f not in ("lat", "lon")] + ["geometry"]
    rows = kpis.export_rows(filters).values_list(*fields).iterator(chunk_size=2000)

    def stream() -> Iterator[str]:
        yield '{"type":"FeatureCollection","features":['
        first = True
        for r in rows:  # streamed: one feature per report
            (pk, created, code, cat, dept, district, status, address, due, resolved, closed,
             hours, within, reopens, supporters, hazard, geometry) = r
            props = {
                "number": pk, "created": _iso(created), "category": code,
                "category_name": cat, "department": dept, "district": district,
                "status": status, "address": address, "due_at": _iso(due) or None,
                "resolved_at": _iso(resolved) or None, "closed_at": _iso(closed) or None,
                "hours_to_resolve": None if hours is None else round(hours, 2),
                "within_sla": within, "reopen_count": reopens, "supporters": supporters,
                "is_hazard": hazard, "location_generalised": hazard,
            }
            properties = json.dumps(props, ensure_ascii=False)
            feature = (f'{{"type":"Feature","id":{int(pk)},"geometry":{geometry},'
                       f'"properties":{properties}}}')
            yield feature if first else "," + feature
            first = False
        yield "]}"

    response = StreamingHttpResponse(stream(), content_type="application/geo+json")
    response["Content-Disposition"] = f'attachment; filename="{_export_name(filters, "geojson")}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def export_departments_csv(request: HttpRequest) -> HttpResponse:
    """The per-department table as CSV, volumes beside rates."""
    if (denied := _guard(request)) is not None:
        return denied
    filters, _form = parse_filters(request)
    rows = kpis.department_table(filters)
    header = ["department", "name_uk", "name_en", "received", "resolved", "open_backlog",
              "overdue", "median_hours_to_resolve", "resolved_with_deadline",
              "within_sla", "within_sla_percent"]
    lines = ([r.code, r.name_uk, r.name_en, r.received, r.resolved, r.backlog, r.overdue,
              "" if r.median_hours is None else round(r.median_hours, 1),
              r.resolved_with_due, r.within_sla,
              "" if r.within_sla_percent is None else round(r.within_sla_percent, 1)]
             for r in rows)
    start = timezone.localtime(filters.start).date().isoformat()
    return csv_response(header, lines, f"open-city-departments-{start}.csv")
