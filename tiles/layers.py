"""The vector-tile layers of the tiles contract: one django-vectortiles layer class each.

Every class is a `vectortiles.backends.postgis.VectorLayer` (same attributes: `id`,
`geom_field`, `tile_fields`, `layer_fields`, `min_zoom`/`max_zoom`, `tile_extent`,
`tile_buffer`, the `get_queryset()`/`get_vector_tile_queryset()` hooks and TileJSON
descriptions), so the querysets, fields and zooms read like any django-vectortiles project.

`TileLayer.get_tile()` replaces the library's method, for reasons it cannot express:
- it filters on the tile *plus its buffer*, so a marker on a tile edge is drawn in both
  tiles instead of being cut in half (the library filters on the bare tile);
- it reads a stored Web-Mercator column as is (the library always wraps it in
  ST_Transform) and can rename attributes (`layer`, `department` and `category` are model
  fields, so the ORM cannot annotate under those names);
- it can turn parallel query off for small tiles in the same round trip (`tiles.sql`);
- the reports layer needs aggregation, a points-or-cells switch and a second output (when
  the tile will change by itself) in the same single statement: see `ReportsLayer`.
The SQL is still the ORM's, with bound parameters, wrapped in `ST_AsMVT` (`tiles.sql`).

Layer names are the MVT source-layer names the map clients (Leaflet.VectorGrid) style by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import mercantile
from django.conf import settings
from django.contrib.gis.db.models.functions import Transform
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db.models import (
    BooleanField,
    Count,
    DateField,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Floor, NullIf, TruncDate
from django.utils import timezone, translation
from django.utils.functional import cached_property  # no lock (functools' takes one)
from vectortiles.backends.postgis import VectorLayer
from vectortiles.backends.postgis.functions import AsMVTGeom, MakeEnvelope

from geocity.clock import city_today
from geocity.errors import Forbidden, ValidationFailed
from layers.models import (
    District,
    HazardZone,
    InfrastructureFeature,
    ResponsibilityArea,
    ServiceArea,
)
from layers.selectors import visible_hazard_zones, visible_infrastructure
from reports.models import Report
from reports.workflow import OPEN_STATUSES, SLA_RUNNING_STATUSES

from . import cache as tcache
from . import sql as tsql
from .selectors import (
    Audience,
    DrawnRows,
    box_values,
    parse_tile_filters,
    report_rows_in_box,
    reports_in_box,
    tile_reports,
)

TILE_SRID = 3857  # what ST_AsMVT and slippy maps use; settings.TILE_SRID says the same
MAX_ZOOM = 22


@dataclass(frozen=True)
class TileBox:
    """A z/x/y tile in Web Mercator metres, with the helpers the queries need."""

    z: int
    x: int
    y: int

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        b = mercantile.xy_bounds(self.x, self.y, self.z)
        return b.left, b.bottom, b.right, b.top

    @property
    def size(self) -> float:
        return self.bounds[2] - self.bounds[0]

    def envelope(self) -> MakeEnvelope:
        return MakeEnvelope(*self.bounds, TILE_SRID)

    def polygon(self, margin: float = 0.0) -> Polygon:
        """The tile grown by `margin` Mercator metres on each side."""
        x0, y0, x1, y1 = self.bounds
        x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
        # From WKT in one GEOS call (Polygon.from_bbox makes one call per coordinate).
        return GEOSGeometry(f"POLYGON(({x0!r} {y0!r},{x0!r} {y1!r},{x1!r} {y1!r},{x1!r} {y0!r},"
                            f"{x0!r} {y0!r}))", srid=TILE_SRID)

    def buffer_margin(self, extent: int, buffer: int) -> float:
        return self.size * buffer / extent


@dataclass(frozen=True)
class RenderedTile:
    content: bytes
    # Seconds until the tile changes without any write (e.g. a report turning overdue).
    expires_in: int | None = None


class TileLayer(VectorLayer):
    """Base of the layers: the django-vectortiles layer API plus audience and caching facts.

    Preconditions: `audience` comes from `tiles.selectors.audience_for`; `params` is the
    request's query string. Constructing a layer validates both (400/403 domain errors).
    """

    id = ""
    model: ClassVar[Any] = None
    geom_field = "geometry"
    tile_fields: tuple[str, ...] = ()
    # MVT attribute -> queryset column, for attributes the ORM cannot annotate by name.
    rename: ClassVar[dict[str, str]] = {}
    tile_buffer = 256
    tile_extent = 4096
    # Who may ask and what the tile depends on (cache key, Cache-Control, Vary).
    staff_only = False
    audience_dependent = False
    language_dependent = False
    date_dependent = False
    serial = True  # parallel query off: these tables are small, tiles are small

    def __init__(self, *, audience: Audience, params=None) -> None:
        self.audience = audience
        self.params = params if params is not None else {}
        if self.staff_only and not audience.restricted:
            raise Forbidden(f"The {self.id} layer is for staff only.", code="staff_only")

    # --- Facts for the cache ---------------------------------------------------------
    @property
    def is_public(self) -> bool:
        """Whether a shared (browser/proxy) cache may keep and reuse the tile."""
        if self.staff_only:
            return False
        return not self.audience_dependent or self.audience_is_public

    @property
    def audience_is_public(self) -> bool:
        return not self.audience.restricted

    def audience_key(self) -> str:
        return self.audience.layers_key

    def variant(self, box: TileBox) -> str:
        """Everything besides z/x/y and the layer version that the tile content depends on."""
        parts = []
        if self.audience_dependent:
            parts.append(self.audience_key())
        if self.language_dependent:
            parts.append(translation.get_language() or settings.LANGUAGE_CODE)
        if self.date_dependent:
            parts.append(city_today().isoformat())
        return "|".join(parts)

    def grace(self, box: TileBox) -> float:
        """Seconds an invalidated tile may still be served (see tiles.cache)."""
        return 0

    # --- django-vectortiles hooks ------------------------------------------------------
    def get_queryset(self) -> QuerySet:
        return self.model.objects.all()

    def get_vector_tile_queryset(self, z: int, x: int, y: int) -> QuerySet:
        return self.get_queryset()

    def columns(self) -> dict[str, str]:
        names = [*self.get_tile_fields(), "geom"]
        return {self._outer(n): n for n in names}

    def _outer(self, inner: str) -> str:
        for outer, source in self.rename.items():
            if source == inner:
                return outer
        return inner

    def geometry(self):
        field = self.model._meta.get_field(self.geom_field)
        if getattr(field, "srid", None) == TILE_SRID:
            return F(self.geom_field)
        return Transform(self.geom_field, TILE_SRID)

    def features(self, box: TileBox) -> QuerySet:
        """The values() queryset of one tile, geometry in tile coordinates as `geom`."""
        margin = box.buffer_margin(self.tile_extent, self.tile_buffer)
        qs = self.get_vector_tile_queryset(box.z, box.x, box.y).filter(
            **{f"{self.geom_field}__intersects": box.polygon(margin)}
        )
        qs = qs.annotate(geom=AsMVTGeom(self.geometry(), box.envelope(), self.tile_extent,
                                        self.tile_buffer, self.clip_geom))
        limit = self.get_queryset_limit()
        if limit:
            qs = qs[:limit]
        return qs.values(*self.get_tile_fields(), "geom")

    def statement(self, box: TileBox, now: datetime) -> tsql.Statement | None:
        """The one SQL statement of a tile (None outside the layer's zooms)."""
        if not self.check_in_zoom_levels(box.z):
            return None
        sql, params = tsql.mvt_sql(self.features(box), name=self.id, extent=self.tile_extent,
                                   columns=self.columns())
        return tsql.Statement(sql, params, self.serial)

    def result(self, row: tuple, now: datetime) -> RenderedTile:
        return RenderedTile(tsql.as_bytes(row[0]))

    def render(self, box: TileBox) -> RenderedTile:
        now = timezone.now()
        statement = self.statement(box, now)
        if statement is None:
            return RenderedTile(b"")
        return self.result(statement.fetch_row(), now)

    @classmethod
    def describe(cls) -> dict:
        """The TileJSON `vector_layers` entry (class facts only: no audience needed)."""
        return {"id": cls.id, "description": cls.description, "fields": cls.layer_fields or {},
                "minzoom": cls.min_zoom, "maxzoom": cls.max_zoom}

    def get_tile(self, x: int, y: int, z: int) -> bytes:
        """The library's entry point (argument order x, y, z)."""
        return self.render(TileBox(z, x, y)).content


def localised_name():
    """SQL: `name_en` when English is active and it is filled in, else `name_uk`."""
    if translation.get_language() == "en":
        return Coalesce(NullIf(F("name_en"), Value("")), F("name_uk"))
    return F("name_uk")


class _DaysBetween(Func):
    """(date a - date b) in whole days: PostgreSQL's date subtraction gives an integer."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = IntegerField()


class ReportsLayer(TileLayer):
    """`reports`: cells with {count, open} below z13, points from z13.

    Points carry {id, category, status, age_days, overdue, hazard}. A z >= 13 tile with more
    than MAX_POINTS reports is sent as cells instead (clients tell them apart by `count`):
    no tile exceeds the size budget whatever the data. Cells are CELL_PX-pixel squares of the
    256-pixel tile, grouped by integer pixel keys in SQL and drawn at their reports' mean
    position; the buffer ring is included so bubbles at tile edges are not cut.

    Public audiences see explosive-ordnance reports at their 500 m cell centre only, in
    points, cells and spatial matching alike (`tiles.selectors.reports_in_box`).

    `age_days` counts calendar days (Europe/Kyiv), so point tiles are cached per day;
    `overdue` flips when `due_at` passes, so the same query returns the earliest future
    deadline in the tile and the tile is cached no longer than that.
    """

    id = "reports"
    model = Report
    geom_field = "location_tile"
    description = "Citizen reports: cells with counts below z13, points from z13."
    layer_fields = {"count": "Number", "open": "Number", "id": "Number", "category": "String",
                    "status": "String", "age_days": "Number", "overdue": "Boolean",
                    "hazard": "Boolean"}
    audience_dependent = True
    POINTS_FROM_ZOOM = 13
    CELL_PX = 16  # of 256; equals the 256/4096 buffer, so the buffer ring is whole cells
    MAX_POINTS = 12_000  # ~25 bytes a point: ~300 KB, well under the 500 KB budget
    POINT_COLUMNS = {"id": "id", "category": "category_code", "status": "status",
                     "age_days": "age_days", "overdue": "overdue", "hazard": "hazard",
                     "geom": "geom"}

    def __init__(self, *, audience: Audience, params=None) -> None:
        super().__init__(audience=audience, params=params)
        self.filters = parse_tile_filters(self.params)
        # One local date for the cache key and the statement (age_days), even across midnight.
        self.today = city_today()

    @property
    def audience_is_public(self) -> bool:
        return self.audience.is_public

    def audience_key(self) -> str:
        return self.audience.reports_key

    def variant(self, box: TileBox) -> str:
        parts = [self.audience_key(), self.filters.key()]
        if box.z >= self.POINTS_FROM_ZOOM:
            parts.append(self.today.isoformat())  # age_days
        return "|".join(parts)

    @property
    def exact(self) -> bool:
        return self.audience.restricted

    def grace(self, box: TileBox) -> float:
        return tcache.AGGREGATE_GRACE_SECONDS if box.z < self.POINTS_FROM_ZOOM else 0

    # --- The statement: compiled once per shape, bound per tile (tiles.sql.Template) ------
    TEMPLATES = tsql.Templates()

    def shape(self, box: TileBox, hazard_by: str) -> tuple:
        """Everything the SQL text depends on (the rest are TileParam values)."""
        mode = "cells" if box.z < self.POINTS_FROM_ZOOM else "points"
        return (type(self).__name__, mode, self.audience.reports_key, self.filters.key(),
                hazard_by)

    def statement(self, box: TileBox, now: datetime) -> tsql.Statement:
        margin = box.buffer_margin(self.tile_extent, self.tile_buffer)
        xmin, ymin, xmax, ymax = box.bounds
        values, hazard_by = box_values((xmin - margin, ymin - margin, xmax + margin,
                                        ymax + margin), exact=self.exact)
        values.update({
            "xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax,
            "cell": box.size * self.CELL_PX / 256, "now": now, "today": self.today,
            "max_points": self.MAX_POINTS,
        })
        template = self.TEMPLATES.get(self.shape(box, hazard_by),
                                      lambda: self.compile(box.z, hazard_by))
        return template.bind(values)

    def compile(self, z: int, hazard_by: str) -> tsql.Template:
        P = tsql.TileParam  # noqa: N806 - reads like a placeholder
        reports = tile_reports(self.audience, self.filters)
        if z < self.POINTS_FROM_ZOOM:
            return self.compile_cells(report_rows_in_box(reports, exact=self.exact,
                                                         hazard_by=hazard_by))
        envelope = MakeEnvelope(P("xmin", FloatField()), P("ymin", FloatField()),
                                P("xmax", FloatField()), P("ymax", FloatField()), TILE_SRID)
        base = reports_in_box(reports, exact=self.exact, hazard_by=hazard_by)
        points_sql, points_params = tsql.queryset_sql(self.points(base, envelope))
        sql = self.POINTS_SQL.format(
            points=points_sql,
            point_rows=f"SELECT {tsql.select_columns(self.POINT_COLUMNS, 'p')} FROM p",  # noqa: S608
        )
        cell_units = self.tile_extent * self.CELL_PX / 256
        params = [*points_params, tsql.Slot("max_points"), self.id, self.tile_extent,
                  self.id, self.tile_extent, sorted(map(str, OPEN_STATUSES)), cell_units,
                  cell_units, sorted(map(str, SLA_RUNNING_STATUSES)), tsql.Slot("now")]
        return tsql.Template(sql, params, serial=True)

    # Below z13: per set of rows (`report_rows_in_box`), partial sums per CELL_PX cell in SQL
    # (integer pixel keys); the sets are added up per cell and each cell is drawn at the mean
    # position of its reports.
    CELLS_SQL = (
        "SELECT ST_AsMVT(t.*, %s, %s, 'geom') FROM ("
        " SELECT sum(c.n)::int8 AS count, sum(c.open)::int8 AS open,"
        " ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(sum(c.sx) / sum(c.n), sum(c.sy) / sum(c.n)),"
        " 3857), ST_MakeEnvelope(%s, %s, %s, %s, 3857), %s, %s, true) AS geom"
        " FROM ({sets}) AS c GROUP BY c.gx, c.gy) AS t"
    )

    def compile_cells(self, sets: list[DrawnRows]) -> tsql.Template:
        P = tsql.TileParam  # noqa: N806
        xmin, ymin, cell = P("xmin", FloatField()), P("ymin", FloatField()), P("cell", FloatField())
        sets_sql, params = tsql.union_all_sql([
            drawn.rows
            .annotate(gx=Cast(Floor((drawn.x - xmin) / cell), IntegerField()),
                      gy=Cast(Floor((drawn.y - ymin) / cell), IntegerField()))
            .values("gx", "gy")
            .annotate(n=Count("status"),
                      open=Count("status", filter=tsql.AnyOf(F("status"), sorted(OPEN_STATUSES))),
                      sx=Sum(drawn.x), sy=Sum(drawn.y))
            .values("gx", "gy", "n", "open", "sx", "sy")
            for drawn in sets
        ])
        sql = self.CELLS_SQL.format(sets=sets_sql)
        params = [self.id, self.tile_extent, tsql.Slot("xmin"), tsql.Slot("ymin"),
                  tsql.Slot("xmax"), tsql.Slot("ymax"), self.tile_extent, self.tile_buffer,
                  *params]
        # Serial: index-only band scans gain nothing from parallel workers on 2 cores, which
        # cost their start-up (z12: 35 ms serial, 48 ms parallel; z10: 310 vs 319 ms).
        return tsql.Template(sql, params, serial=True)

    def points(self, base: QuerySet, envelope) -> QuerySet:
        P = tsql.TileParam  # noqa: N806
        running = sorted(SLA_RUNNING_STATUSES)
        return (
            base
            .annotate(
                category_code=F("category__service_code"),
                age_days=_DaysBetween(P("today", DateField()), TruncDate("created")),
                overdue=ExpressionWrapper(
                    Q(tsql.AnyOf(F("status"), running), due_at__lt=P("now", DateTimeField())),
                    output_field=BooleanField()),
                hazard=F("is_hazard"),
                geom=AsMVTGeom(F("tile_point"), envelope, self.tile_extent,
                               self.tile_buffer, True),
            )
            .values("id", "category_code", "status", "age_days", "overdue", "hazard", "due_at",
                    "geom")
        )

    # From z13 the points of the tile are computed once (a materialised CTE) and become
    # either the tile or, past MAX_POINTS, cells grouped from them in tile coordinates
    # (CELL_PX pixels = tile_extent * CELL_PX / 256 units, the buffer ring included). The
    # same statement returns the earliest future deadline among running reports.
    POINTS_SQL = (
        "WITH p AS MATERIALIZED ({points}) "
        "SELECT CASE WHEN (SELECT count(*) FROM p) <= %s "
        "THEN (SELECT ST_AsMVT(t.*, %s, %s, 'geom') FROM ({point_rows}) AS t) "
        "ELSE (SELECT ST_AsMVT(t.*, %s, %s, 'geom') FROM ("
        " SELECT count(*) AS count, count(*) FILTER (WHERE p.status = ANY(%s)) AS open,"
        " ST_MakePoint(round(avg(ST_X(p.geom))), round(avg(ST_Y(p.geom)))) AS geom"
        " FROM p WHERE p.geom IS NOT NULL"
        " GROUP BY floor(ST_X(p.geom) / %s), floor(ST_Y(p.geom) / %s)) AS t) END, "
        "(SELECT min(p.due_at) FROM p WHERE p.status = ANY(%s) AND p.due_at >= %s)"
    )

    def result(self, row: tuple, now: datetime) -> RenderedTile:
        content, changes_at = row if len(row) == 2 else (row[0], None)
        expires_in = None
        if changes_at is not None:
            expires_in = max(1, int((changes_at - now).total_seconds()) + 1)
        return RenderedTile(tsql.as_bytes(content), expires_in)


class HazardZonesLayer(TileLayer):
    """`hazard-zones`: mine-hazard areas; non-public zones for staff only."""

    id = "hazard-zones"
    model = HazardZone
    description = "Mine-hazard areas (SHA/CHA/cancelled/cleared)."
    tile_fields = ("id", "name", "kind", "status", "is_demo")
    layer_fields = {"id": "Number", "name": "String", "kind": "String", "status": "String",
                    "is_demo": "Boolean"}
    audience_dependent = True

    def get_queryset(self) -> QuerySet:
        return visible_hazard_zones(self.audience.user)


class InfrastructureTilesLayer(TileLayer):
    """`infrastructure`: features by kind (`?kind=shelter,water_main`); restricted ones for
    staff only. Dense point kinds (streetlights, traffic lights) appear from z13."""

    id = "infrastructure"
    model = InfrastructureFeature
    description = "Municipal infrastructure: shelters, networks, lights."
    tile_fields = ("id", "kind", "name", "shelter_type", "layer_code")
    rename = {"layer": "layer_code"}
    layer_fields = {"id": "Number", "kind": "String", "name": "String",
                    "shelter_type": "String", "layer": "String"}
    audience_dependent = True
    min_zoom = 8
    DENSE_KINDS = (InfrastructureFeature.Kind.STREETLIGHT, InfrastructureFeature.Kind.TRAFFIC_LIGHT)
    DENSE_FROM_ZOOM = 13

    def __init__(self, *, audience: Audience, params=None) -> None:
        super().__init__(audience=audience, params=params)
        kinds = sorted({k for k in (self.params.get("kind") or "").split(",") if k})
        unknown = set(kinds) - set(InfrastructureFeature.Kind.values)
        if unknown:
            raise ValidationFailed(
                f"Unknown infrastructure kind: {', '.join(sorted(unknown))}.",
                code="invalid_kind",
                fields={"kind": [f"One of {', '.join(InfrastructureFeature.Kind.values)}."]},
            )
        self.kinds = kinds

    def variant(self, box: TileBox) -> str:
        return f"{super().variant(box)}|k={','.join(self.kinds)}"

    def get_vector_tile_queryset(self, z: int, x: int, y: int) -> QuerySet:
        qs = visible_infrastructure(self.audience.user, kind=",".join(self.kinds) or None)
        if z < self.DENSE_FROM_ZOOM:
            qs = qs.exclude(kind__in=self.DENSE_KINDS)
        return qs.annotate(layer_code=F("layer__code"))


class DistrictsLayer(TileLayer):
    """`districts`: administrative districts {code, name} (name in the active language)."""

    id = "districts"
    model = District
    description = "Administrative districts."
    tile_fields = ("code", "name")
    layer_fields = {"code": "String", "name": "String"}
    language_dependent = True

    def get_queryset(self) -> QuerySet:
        return District.objects.annotate(name=localised_name())


class ServiceAreaLayer(TileLayer):
    """`service-area`: the municipality's boundary {name}."""

    id = "service-area"
    model = ServiceArea
    description = "The municipality's service area."
    tile_fields = ("name",)
    layer_fields = {"name": "String"}
    language_dependent = True

    def get_queryset(self) -> QuerySet:
        return ServiceArea.objects.annotate(name=localised_name())


class ResponsibilityLayer(TileLayer):
    """`responsibility` (staff only): areas valid today {department, name, priority}."""

    id = "responsibility"
    model = ResponsibilityArea
    description = "Departments' responsibility areas valid today (staff only)."
    tile_fields = ("department_code", "name", "priority")
    rename = {"department": "department_code"}
    layer_fields = {"department": "String", "name": "String", "priority": "Number"}
    staff_only = True
    date_dependent = True

    def get_queryset(self) -> QuerySet:
        day = city_today()
        return (
            ResponsibilityArea.objects.filter(
                Q(valid_from__isnull=True) | Q(valid_from__lte=day),
                Q(valid_to__isnull=True) | Q(valid_to__gte=day),
            )
            .annotate(department_code=F("department__code"))
        )


class BasemapLayer(TileLayer):
    """`basemap`: the OpenStreetMap basemap {kind, class, name} (names in Ukrainian): parks,
    water, buildings, railways and streets, in draw order, generalised per zoom
    (`basemap.selectors.tile_rows`). One statement per tile; past SIZE_BUDGET it drops the
    most detailed classes (buildings, paths and service roads, then minor streets and
    parks) in the same statement, so no tile exceeds the budget whatever the extract.
    """

    id = "basemap"
    description = "OpenStreetMap basemap: streets, buildings, water, parks, railways."
    layer_fields = {"kind": "String", "class": "String", "name": "String"}
    min_zoom = 8
    SIZE_BUDGET = 500 * 1024
    TEMPLATES = tsql.Templates()
    # Outer columns of the MVT: the rows' b_* columns under their published names.
    MVT_COLUMNS = {"kind": "b_kind", "class": "b_class", "name": "b_name", "geom": "geom"}

    def statement(self, box: TileBox, now: datetime) -> tsql.Statement | None:
        if not self.check_in_zoom_levels(box.z):
            return None
        margin = box.buffer_margin(self.tile_extent, self.tile_buffer)
        xmin, ymin, xmax, ymax = box.bounds
        template = self.TEMPLATES.get((type(self).__name__, box.z),
                                      lambda: self.compile(box.z, box.size))
        return template.bind({"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax,
                              "bxmin": xmin - margin, "bymin": ymin - margin,
                              "bxmax": xmax + margin, "bymax": ymax + margin})

    def compile(self, z: int, tile_size_m: float) -> tsql.Template:
        from basemap.selectors import tile_rows

        P = tsql.TileParam  # noqa: N806
        envelope = MakeEnvelope(*(P(n, FloatField()) for n in ("xmin", "ymin", "xmax", "ymax")),
                                TILE_SRID)
        bbox = MakeEnvelope(*(P(n, FloatField()) for n in ("bxmin", "bymin", "bxmax", "bymax")),
                            TILE_SRID)
        rows_sql, params = tsql.union_all_sql(tile_rows(
            z, bbox=bbox, envelope=envelope, extent=self.tile_extent, buffer=self.tile_buffer,
            tile_size_m=tile_size_m))
        columns = tsql.select_columns(self.MVT_COLUMNS, "f")
        mvt = ("(SELECT ST_AsMVT(t.*, %s, %s, 'geom') FROM (SELECT {columns} FROM f"  # noqa: S608
               " WHERE f.geom IS NOT NULL AND f.b_prio <= {prio} ORDER BY f.b_ord) AS t)")
        full, fewer, fewest = (mvt.format(columns=columns, prio=p) for p in (2, 1, 0))
        sql = (f"WITH f AS MATERIALIZED ({rows_sql}), a AS (SELECT {full} AS mvt) "  # noqa: S608
               "SELECT CASE WHEN octet_length(a.mvt) <= %s THEN a.mvt ELSE (SELECT CASE"
               f" WHEN octet_length(b.mvt) <= %s THEN b.mvt ELSE {fewest} END FROM"
               f" (SELECT {fewer} AS mvt) AS b) END FROM a")
        mvt_params = [self.id, self.tile_extent]
        params = [*params, *mvt_params, self.SIZE_BUDGET, self.SIZE_BUDGET, *mvt_params,
                  *mvt_params]
        return tsql.Template(sql, params, serial=True)


LAYERS: dict[str, type[TileLayer]] = {
    cls.id: cls
    for cls in (ReportsLayer, HazardZonesLayer, InfrastructureTilesLayer, DistrictsLayer,
                ServiceAreaLayer, ResponsibilityLayer, BasemapLayer)
}
