"""The officials' dashboard: KPIs, the per-department table, charts, a folium map, exports.

Views are thin: they parse the filters, ask `dashboard.kpis` for the aggregates (a fixed number
of SQL queries, cached briefly) and render. Charts are server-side SVG, so they print and
need no script; the map is folium with local assets only (no CDN: isolated networks).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from geocity.responses import csv_response, forbidden
from reports.roles import can_see_dashboard

from . import kpis, selectors
from .charts import age_chart, fmt_hours, fmt_percent, kpi_cards, trend_chart
from .forms import parse_filters
from .maps import build_map, rate_colour, rate_legend

# --- Access -------------------------------------------------------------------------------


def _guard(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_see_dashboard(request.user):
        return forbidden(request, _("The dashboard is for city officials and administrators."))
    return None


# --- Views --------------------------------------------------------------------------------

def _context(request: HttpRequest, *, interactive: bool) -> dict:
    filters, form = parse_filters(request)
    data = selectors.dashboard_data(filters)
    zones = selectors.hazard_zone_shapes(request.user)
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
    return render(request, "dashboard/index.html", _context(request, interactive=True))


@require_GET
def dashboard_print(request: HttpRequest) -> HttpResponse:
    """A printable view for council meetings: no filters form, no map controls."""
    if (denied := _guard(request)) is not None:
        return denied
    return render(request, "dashboard/print.html", _context(request, interactive=False))


# --- Exports ------------------------------------------------------------------------------

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
    rows = selectors.export_rows(filters).values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)

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
    rows = selectors.export_rows(filters).values_list(*fields).iterator(chunk_size=2000)

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
    rows = selectors.department_table(filters)
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
