"""Read selectors for the officials' dashboard: KPIs, the per-department table, the weekly
trend, backlog ages, hotspots, district rates, and exports, built from `dashboard.kpis`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.contrib.gis.geos import Point
from django.contrib.postgres.fields import ArrayField
from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Floor
from django.utils import timezone, translation

from geocity import dbrouter
from layers.geometry import PointX, PointY, to_api
from layers.models import Department, District, HazardZone
from layers.selectors import visible_hazard_zones
from reports.models import Category, Report
from reports.selectors import generalised_location

from .cache import data_version
from .kpis import (
    AGE_THRESHOLDS,
    CACHE_SECONDS,
    HOTSPOT_CELL_M,
    HOTSPOT_LIMIT,
    OPEN,
    RUNNING,
    DashboardFilters,
    EpochDays,
    MainAggregates,
    Mode,
    SimplifyPreserveTopology,
    WidthBucket,
    base_reports,
    fetch_rows,
    hours_to_resolve,
    in_range,
    main_aggregates,
    trend_weeks,
    ts_value,
)

# --- KPIs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kpi:
    key: str
    value: float | int | None
    previous: float | int | None
    kind: str  # "count", "hours", "percent"
    better: str  # "up", "down" or "" (neutral): which direction of change is good

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def change_percent(self) -> float | None:
        """Relative change for counts and hours; percent KPIs show points instead."""
        if self.kind == "percent" or self.change is None or not self.previous:
            return None
        return 100.0 * self.change / self.previous

    @property
    def trend(self) -> str:
        """"good", "bad" or "neutral" for the change, for colouring."""
        change = self.change
        if not change or not self.better:
            return "neutral"
        return "good" if (change > 0) == (self.better == "up") else "bad"


def _rate(part: int | None, whole: int | None) -> float | None:
    return None if not whole else 100.0 * (part or 0) / whole


def kpi_summary(f: DashboardFilters, *, now: datetime | None = None,
                agg: MainAggregates | None = None) -> list[Kpi]:
    """The KPI cards for the period and the previous period of equal length."""
    agg = agg or main_aggregates(f, now=now)
    row, pct = agg.total, agg.percentiles

    def pair(name: str):
        return row[f"cur_{name}"], row[f"prev_{name}"]

    def pct_pair(name: str):
        return pct.get(f"cur_{name}"), pct.get(f"prev_{name}")

    def rate_pair(part: str, whole: str):
        return (_rate(row[f"cur_{part}"], row[f"cur_{whole}"]),
                _rate(row[f"prev_{part}"], row[f"prev_{whole}"]))

    return [
        Kpi("received", *pair("received"), kind="count", better=""),
        Kpi("resolved", *pair("resolved"), kind="count", better="up"),
        Kpi("backlog", *pair("backlog"), kind="count", better="down"),
        Kpi("median_hours", *pct_pair("median_hours"), kind="hours", better="down"),
        Kpi("p90_hours", *pct_pair("p90_hours"), kind="hours", better="down"),
        Kpi("within_sla", *rate_pair("within_sla", "resolved_with_due"), kind="percent",
            better="up"),
        Kpi("overdue", *pair("overdue"), kind="count", better="down"),
        Kpi("reopen_rate", *rate_pair("reopened", "ever_resolved"), kind="percent",
            better="down"),
        Kpi("supporters", *pair("supporters"), kind="count", better=""),
    ]


# --- Per-department table -----------------------------------------------------------------

@dataclass(frozen=True)
class DepartmentRow:
    department_id: int | None
    code: str
    name_uk: str
    name_en: str
    received: int
    resolved: int
    backlog: int
    overdue: int
    median_hours: float | None
    within_sla: int
    resolved_with_due: int

    @property
    def within_sla_percent(self) -> float | None:
        return _rate(self.within_sla, self.resolved_with_due)

    @property
    def small_sample(self) -> bool:
        """Fewer than 10 resolved reports: a rate that says little (shown with a mark)."""
        return self.resolved_with_due < 10


def department_table(f: DashboardFilters, *, now: datetime | None = None,
                     agg: MainAggregates | None = None) -> list[DepartmentRow]:
    """Volume, backlog, median time and % within SLA per department, in name order.

    Name order on purpose: the table is read beside each department's volume, never as a
    ranking (FixMyStreet users objected to raw league tables).
    """
    agg = agg or main_aggregates(f, now=now)
    names = {d["id"]: d for d in Department.objects.filter(pk__in=[
        k for k in agg.departments if k is not None]).values("id", "code", "name_uk", "name_en")}
    result = []
    for dept_id, r in agg.departments.items():  # one row per department, not per report
        if not (r["cur_received"] or r["cur_resolved"] or r["cur_backlog"]):
            continue
        d = names.get(dept_id, {})
        result.append(DepartmentRow(
            department_id=dept_id, code=d.get("code", ""), name_uk=d.get("name_uk", ""),
            name_en=d.get("name_en", ""), received=r["cur_received"],
            resolved=r["cur_resolved"], backlog=r["cur_backlog"], overdue=r["cur_overdue"],
            median_hours=agg.department_percentiles.get(dept_id, {}).get("cur_median_hours"),
            within_sla=r["cur_within_sla"], resolved_with_due=r["cur_resolved_with_due"],
        ))
    # name order; reports without a department (triage) last
    return sorted(result, key=lambda row: (not row.code, row.name_uk))


# --- Weekly trend -------------------------------------------------------------------------

@dataclass(frozen=True)
class WeekPoint:
    week: date
    received: int
    resolved: int


def weekly_trend(f: DashboardFilters, *, now: datetime | None = None,
                 agg: MainAggregates | None = None) -> list[WeekPoint]:
    """Received and resolved per ISO week (local time), zero-filled."""
    agg = agg or main_aggregates(f, now=now)
    points = [WeekPoint(week, agg.received_weeks.get(week, 0), agg.resolved_weeks.get(week, 0))
              for week in trend_weeks(f)]
    return points


# --- Backlog age histogram ----------------------------------------------------------------

@dataclass(frozen=True)
class AgeBucket:
    index: int
    low: int
    high: int | None  # None: open-ended
    total: int
    overdue: int


def backlog_age_histogram(f: DashboardFilters, *, now: datetime | None = None) -> list[AgeBucket]:
    """Open reports now, by age in days (width_bucket over fixed thresholds)."""
    now = now or timezone.now()
    thresholds = Value([float(t) for t in AGE_THRESHOLDS],
                       output_field=ArrayField(FloatField()))
    rows = (
        base_reports(f).filter(status__in=OPEN)
        .annotate(bucket=WidthBucket(EpochDays(ts_value(now) - F("created")), thresholds))
        .values("bucket")
        .annotate(total=Count("*"), overdue=Count("created", filter=Q(status__in=RUNNING,
                                                                      due_at__lt=now)))
    )
    found = {r["bucket"]: r for r in rows}
    edges = (0, *AGE_THRESHOLDS, None)
    buckets = []
    for i in range(len(edges) - 1):
        r = found.get(i, {"total": 0, "overdue": 0})
        buckets.append(AgeBucket(i, edges[i], edges[i + 1], r["total"], r["overdue"]))
    return buckets


# --- Hotspots -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Hotspot:
    cell_x: int
    cell_y: int
    open: int
    overdue: int
    supporters: int
    address: str
    category_id: int | None
    lat: float = 0.0
    lon: float = 0.0
    category_name: str = ""
    near: str = ""  # the nearest gazetteer address to the cell's centre


NEAREST_ADDRESS_SQL = """
SELECT c.i, a.street_uk, a.street_en, a.house_number
FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS c(x, y, i)
CROSS JOIN LATERAL (
    SELECT street_uk, street_en, house_number FROM layers_addresspoint
    WHERE location && ST_Expand(ST_SetSRID(ST_MakePoint(c.x, c.y), %s), %s)
    ORDER BY location <-> ST_SetSRID(ST_MakePoint(c.x, c.y), %s)
    LIMIT 1
) a
"""


def nearest_addresses(points: list[tuple[float, float]], *, within_m: float) -> dict[int, str]:
    """The nearest gazetteer address (within `within_m`) of each storage-SRID point, by
    index: one KNN query for all (the ORM cannot say a LATERAL nearest-neighbour join)."""
    if not points:
        return {}
    srid = settings.STORAGE_SRID
    rows = fetch_rows(NEAREST_ADDRESS_SQL, [[p[0] for p in points], [p[1] for p in points], srid,
                                            within_m, srid])
    english = translation.get_language() == "en"
    labels = {}
    for r in rows:
        street = r["street_en"] if english and r["street_en"] else r["street_uk"]
        labels[r["i"] - 1] = f"{street}, {r['house_number']}" if r["house_number"] else street
    return labels


def hotspots(f: DashboardFilters, *, now: datetime | None = None,
             limit: int = HOTSPOT_LIMIT) -> list[Hotspot]:
    """Top HOTSPOT_CELL_M grid cells (storage SRID, metres) by open reports now."""
    now = now or timezone.now()
    cell = float(HOTSPOT_CELL_M)
    rows = list(
        base_reports(f).filter(status__in=OPEN)
        .annotate(cx=Floor(PointX("location") / cell), cy=Floor(PointY("location") / cell))
        .values("cx", "cy")
        .annotate(
            open=Count("*"),
            overdue=Count("created", filter=Q(status__in=RUNNING, due_at__lt=now)),
            supporters=Coalesce(Sum("supporters_count"), 0, output_field=IntegerField()),
            address=Mode(Case(When(address="", then=None), default=F("address"),
                              output_field=CharField())),
            category=Mode("category_id", output_field=IntegerField()),
        )
        .order_by("-open", "-overdue", "cx", "cy")[:limit]
    )
    names = {c.pk: c.name for c in Category.objects.filter(pk__in=[r["category"] for r in rows])}
    centres = [((r["cx"] + 0.5) * cell, (r["cy"] + 0.5) * cell) for r in rows]
    near = nearest_addresses([c for c, r in zip(centres, rows, strict=True)
                              if not r["address"]], within_m=cell)
    unlabelled = iter(range(len(centres)))
    result = []
    for r, (x, y) in zip(rows, centres, strict=True):  # at most `limit` cells
        centre = to_api(Point(x, y, srid=settings.STORAGE_SRID))
        label = "" if r["address"] else near.get(next(unlabelled), "")
        result.append(Hotspot(
            cell_x=int(r["cx"]), cell_y=int(r["cy"]), open=r["open"], overdue=r["overdue"],
            supporters=r["supporters"], address=r["address"] or "", category_id=r["category"],
            lat=round(centre.y, 6), lon=round(centre.x, 6),
            category_name=names.get(r["category"], ""), near=label,
        ))
    return result


# --- Districts (choropleth) ---------------------------------------------------------------

@dataclass
class DistrictStat:
    district_id: int
    code: str
    name: str
    received: int = 0
    resolved: int = 0  # of those received in the period, resolved by now
    within_sla: int = 0
    backlog: int = 0
    geojson: str = ""

    @property
    def resolution_rate(self) -> float | None:
        return _rate(self.resolved, self.received)


def district_stats(f: DashboardFilters, *, now: datetime | None = None,
                   agg: MainAggregates | None = None) -> list[DistrictStat]:
    """Per district: received in the period, how many of those are resolved, backlog now,
    with the simplified WGS 84 outline (cached per districts layer version)."""
    agg = agg or main_aggregates(f, now=now)
    result = []
    for d in district_outlines():  # one row per district
        if f.district is not None and d["id"] != f.district.pk:
            continue
        r = agg.districts.get(d["id"], {})
        result.append(DistrictStat(
            district_id=d["id"], code=d["code"],
            name=d["name_en"] if translation.get_language() == "en" and d["name_en"]
            else d["name_uk"],
            received=r.get("cur_received", 0), resolved=r.get("received_resolved", 0),
            within_sla=r.get("received_within_sla", 0), backlog=r.get("cur_backlog", 0),
            geojson=d["outline"] or "",
        ))
    return result


def district_outlines() -> list[dict]:
    """District outlines, simplified to 10 m, as GeoJSON: cached until the layer changes."""
    key = f"dashboard:districts:{data_version('districts')}"
    outlines = cache.get(key)
    if outlines is None:
        outlines = list(
            District.objects.annotate(outline=AsGeoJSON(
                Transform(SimplifyPreserveTopology("geometry", 10.0), 4326), precision=5))
            .values("id", "code", "name_uk", "name_en", "outline").order_by("name_uk")
        )
        cache.set(key, outlines, 24 * 3600)
    return outlines


def hazard_zone_shapes(user) -> list[dict]:
    """Open SHA/CHA zones the user may see, simplified, as GeoJSON strings: one query."""
    return list(
        visible_hazard_zones(user)
        .filter(status=HazardZone.Status.OPEN,
                kind__in=(HazardZone.Kind.SHA, HazardZone.Kind.CHA))
        .annotate(shape=AsGeoJSON(Transform(SimplifyPreserveTopology("geometry", 5.0), 4326),
                                  precision=5))
        .values("id", "name", "kind", "is_demo", "shape")
        .order_by("id")
    )


# --- Everything the dashboard shows -------------------------------------------------------

@dataclass
class DashboardData:
    kpis: list[Kpi]
    departments: list[DepartmentRow]
    trend: list[WeekPoint]
    age: list[AgeBucket]
    hotspots: list[Hotspot]
    districts: list[DistrictStat]
    computed_at: datetime = field(default_factory=timezone.now)


def _data_version() -> str:
    return f"{data_version('reports')}.{data_version('districts')}"


def dashboard_data(f: DashboardFilters, *, now: datetime | None = None,
                   use_cache: bool = True) -> DashboardData:
    """All dashboard aggregates, cached for CACHE_SECONDS per filter set and data version.

    Any report or district change bumps the data version on commit (dashboard.receivers), so
    a cached entry is never older than the last change; time-driven values ("overdue now")
    are at most CACHE_SECONDS old. Computed from a replica, an entry is kept only seconds
    (`geocity.dbrouter.cache_seconds`): the replica may not yet have the change its key counts.
    """
    key = f"dashboard:v1:{_data_version()}:{f.cache_key()}"
    if use_cache and now is None:
        cached = cache.get(key)
        if cached is not None:
            return cached
    now = now or timezone.now()
    agg = main_aggregates(f, now=now)
    data = DashboardData(
        kpis=kpi_summary(f, agg=agg),
        departments=department_table(f, agg=agg),
        trend=weekly_trend(f, agg=agg),
        age=backlog_age_histogram(f, now=now),
        hotspots=hotspots(f, now=now),
        districts=district_stats(f, agg=agg),
        computed_at=now,
    )
    if use_cache:
        cache.set(key, data, dbrouter.cache_seconds(CACHE_SECONDS))  # from a replica: briefly
    return data


# --- Exports ------------------------------------------------------------------------------

def export_rows(f: DashboardFilters) -> QuerySet[Report]:
    """Reports received in the period, with WGS 84 coordinates computed in SQL.

    Exported files leave the system: explosive-ordnance reports are given at their public
    grid cell, never at the exact spot.
    """
    point = Case(When(is_hazard=True, then=generalised_location()), default=F("location"),
                 output_field=GeometryField(srid=settings.STORAGE_SRID))
    within = Case(
        When(resolved_at__isnull=True, then=Value(None)),
        When(due_at__isnull=True, then=Value(None)),
        When(resolved_at__lte=F("due_at"), then=Value(True)),
        default=Value(False), output_field=BooleanField(),
    )
    return (
        base_reports(f).filter(in_range("created", f.start, f.end))
        .annotate(
            wgs=Transform(point, 4326),
            hours=Case(When(resolved_at__isnull=False, then=hours_to_resolve()),
                       default=Value(None), output_field=FloatField()),
            within_sla=within,
        )
        .annotate(lon=PointX("wgs"), lat=PointY("wgs"), geometry=AsGeoJSON("wgs", precision=6))
        .order_by("pk")
    )
