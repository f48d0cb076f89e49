"""Reads for tiles: who is asking, which reports a tile may show, and where they are drawn.

Visibility is not re-implemented here. The report set comes from
`reports.selectors.visible_reports` + `filter_reports` (hidden reports, filters), restricted
layers from `layers.selectors`, the public hazard cell from
`reports.selectors.generalised_location`. This module adds only what tiles need on top:

- an `Audience`: the cache class of a request (tiles are cached per class, not per user);
- `TileFilters`: the `category`/`status`/`since`/`until` query string, parsed once;
- `tile_point()`: the location drawn in Web Mercator (exact for staff, the 500 m cell centre
  of explosive-ordnance reports for everyone else), and `reports_in_box()`, the spatial
  filter that matches public hazard reports by that cell and never by the exact point;
- `report_rows_in_box()`: the same rows as disjoint sets for aggregates (report cells, heat),
  the main one an index-only scan of the `report_tile_band` B-tree;
- `box_values()`: a tile's box as statement parameters (four numbers and its bands), so
  compiled templates are bound without building geometries.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any

import mercantile
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.db.models import PointField
from django.contrib.gis.db.models.functions import Transform
from django.contrib.gis.geos import GEOSGeometry
from django.contrib.postgres.fields import ArrayField
from django.db.models import (
    BooleanField,
    Case,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    When,
)
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import cached_property  # no lock (functools' takes one)
from vectortiles.backends.postgis.functions import MakeEnvelope

from geocity.errors import ValidationFailed
from layers.geometry import PointX, PointY, tile_bands, to_srid
from layers.selectors import user_sees_restricted
from reports.models import Report
from reports.roles import can_read_everything, department_ids
from reports.selectors import ReportFilters, generalised_location, visible_reports
from reports.workflow import Status

from .sql import AnyOf, TileParam

Bounds = tuple[float, float, float, float]

MAX_CODES = 50
_CODE = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- Audience -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Audience:
    """The visibility class of a request. Tiles are cached per class.

    - `restricted`: sees restricted layers and exact explosive-ordnance locations
      (`layers.selectors.user_sees_restricted`, which is also what
      `reports.selectors.sees_exact_location` asks: one rule, asked once per request);
    - `reports_user`: whose `reports.selectors.visible_reports` defines the report tiles;
    - `reports_key`: the cache class of those tiles:
      `public`: anonymous visitors and residents. Residents get the public map: their own
      reports still awaiting moderation (which `visible_reports` shows to them alone) are
      not drawn on tiles (they are under "My reports"), so one shared cache serves all;
      `all`: moderators, officials and admins read every report, and share tiles;
      `u<id>d<departments>`: department staff also see their departments' hidden reports
      and their own pending ones: per user, exactly `visible_reports(user)`;
      plus `+x` for exact hazard locations.
    """

    user: Any
    restricted: bool
    reports_key: str
    reports_user: Any = None

    @property
    def layers_key(self) -> str:
        return "staff" if self.restricted else "public"

    @property
    def is_public(self) -> bool:
        """True when this audience sees exactly what an anonymous visitor sees."""
        return not self.restricted and self.reports_key == PUBLIC_AUDIENCE_KEY


PUBLIC_AUDIENCE_KEY = "public"


def public_audience(user=None) -> Audience:
    """The public's audience: one shared by every anonymous visitor; a signed-in `user` who
    sees the public map (a resident) gets one naming them."""
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    return Audience(user=user, restricted=False, reports_key=PUBLIC_AUDIENCE_KEY,
                    reports_user=AnonymousUser())


ANONYMOUS = Audience(user=AnonymousUser(), restricted=False, reports_key=PUBLIC_AUDIENCE_KEY,
                     reports_user=AnonymousUser())


def audience_for(user) -> Audience:
    """The audience of `user`. Anonymous visitors cost no query."""
    if user is None or not user.is_authenticated:
        return public_audience(user)
    restricted = user_sees_restricted(user)
    if can_read_everything(user):
        key = "all"
    elif department_ids(user) or restricted:
        # The departments are in the key too: a changed membership changes the tiles.
        key = f"u{user.pk}d" + ".".join(str(d) for d in sorted(department_ids(user)))
    else:
        return public_audience(user)
    if restricted:
        key += "+x"
    return Audience(user=user, restricted=restricted, reports_key=key, reports_user=user)


# --- Filters ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TileFilters:
    """`?category=&status=&since=&until=&department=&district=` for report tiles, heat tiles
    and grids. `department` and `district` take one code each (the dashboard's filters).

    `since` is inclusive, `until` exclusive; a bare date for `until` means "through that day"
    (local time), so `since=2025-01-01&until=2025-01-31` is the whole of January.
    """

    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    department: str = ""
    district: str = ""

    def key(self) -> str:
        """A canonical cache-key fragment (order of codes does not matter)."""
        return self._key

    @cached_property
    def _key(self) -> str:
        return "c={};s={};f={};u={};d={};r={}".format(
            ",".join(self.categories),
            ",".join(self.statuses),
            self.since.isoformat() if self.since else "",
            self.until.isoformat() if self.until else "",
            self.department,
            self.district,
        )

    def as_report_filters(self) -> ReportFilters:
        return ReportFilters(
            categories=list(self.categories) or None,
            statuses=list(self.statuses) or None,
            created_after=self.since,
            created_before=self.until,
            department=self.department or None,
            district=self.district or None,
        )


def _codes(raw: str | None, name: str) -> tuple[str, ...]:
    codes = sorted({c.strip() for c in (raw or "").split(",") if c.strip()})
    if len(codes) > MAX_CODES:
        raise ValidationFailed(f"At most {MAX_CODES} values for {name}.", code=f"invalid_{name}",
                               fields={name: [f"At most {MAX_CODES} comma-separated codes."]})
    bad = [c for c in codes if not _CODE.match(c)]
    if bad:
        raise ValidationFailed(f"Invalid {name}: {bad[0]!r}.", code=f"invalid_{name}",
                               fields={name: ["Comma-separated codes (letters, digits, -, _)."]})
    return tuple(codes)


def _moment(raw: str | None, name: str, *, end: bool) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    moment = day = None
    try:
        # A bare date first: Python 3.11's fromisoformat (inside parse_datetime) would read
        # "2025-01-31" as midnight, losing "through that day" for `until`.
        day = parse_date(raw) if _DATE.match(raw) else None
        moment = None if day else parse_datetime(raw)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise ValidationFailed(
            f"{name} must be an ISO date (2025-01-31) or date-time.", code=f"invalid_{name}",
            fields={name: ["ISO 8601 date or date-time."]})
    if moment is None:
        assert day is not None
        moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


STATUS_CODES = frozenset(Status.values)


NO_FILTERS = TileFilters()


def parse_tile_filters(params) -> TileFilters:
    """Parse and validate the filters; a `ValidationFailed` (400) names the bad one."""
    if not params:  # the public map's own tiles: nothing to parse
        return NO_FILTERS
    categories = _codes(params.get("category"), "category")
    statuses = _codes(params.get("status"), "status")
    unknown = sorted(set(statuses) - STATUS_CODES)
    if unknown:
        raise ValidationFailed(f"Unknown status: {', '.join(unknown)}.", code="invalid_status",
                               fields={"status": [f"One of {', '.join(Status.values)}."]})
    since = _moment(params.get("since"), "since", end=False)
    until = _moment(params.get("until"), "until", end=True)
    if since and until and since >= until:
        raise ValidationFailed("since must be before until.", code="invalid_period",
                               fields={"since": ["Must be before until."]})
    department = _one_code(params.get("department"), "department")
    district = _one_code(params.get("district"), "district")
    return TileFilters(categories, statuses, since, until, department, district)


def _one_code(raw: str | None, name: str) -> str:
    codes = _codes(raw, name)
    if len(codes) > 1:
        raise ValidationFailed(f"One {name} code at most.", code=f"invalid_{name}",
                               fields={name: ["A single code."]})
    return codes[0] if codes else ""


# --- Reports for tiles --------------------------------------------------------------------

def tile_reports(audience: Audience, filters: TileFilters) -> QuerySet[Report]:
    """Reports this audience may see (`visible_reports`), filtered. No spatial filter yet.

    The filters are applied as `reports.selectors.filter_reports` applies them; that
    function is not called because it asks `user_sees_restricted` again (two queries per
    call) for spatial filters that tiles do themselves (`reports_in_box`).
    """
    qs = visible_reports(audience.reports_user)
    if filters.categories:
        qs = qs.filter(AnyOf(F("category__service_code"), filters.categories))
    if filters.statuses:
        qs = qs.filter(AnyOf(F("status"), filters.statuses))
    if filters.since:
        qs = qs.filter(created__gte=filters.since)
    if filters.until:
        qs = qs.filter(created__lt=filters.until)
    if filters.department:
        qs = qs.filter(department__code=filters.department)
    if filters.district:
        qs = qs.filter(district__code=filters.district)
    return qs


def tile_point(*, exact: bool):
    """SQL: the point to draw, in TILE_SRID.

    Exact users read the stored `location_tile`; for everyone else explosive-ordnance reports
    are drawn at the centre of their HAZARD_PUBLIC_CELL_M cell, computed in the storage SRID
    exactly like `reports.selectors.generalised_location` and then projected (one transform
    per hazard row only).
    """
    if exact:
        return F("location_tile")
    return Case(
        When(is_hazard=True, then=Transform(generalised_location(), settings.TILE_SRID)),
        default=F("location_tile"),
        output_field=PointField(srid=settings.TILE_SRID),
    )


def display_point(*, exact: bool):
    """SQL: the point to count in the storage SRID (exact for staff, the public hazard cell
    centre otherwise). The same rule as `reports.selectors.display_location_expr`, with the
    output field stated (that expression mixes PointField and GeometryField)."""
    if exact:
        return F("location")
    return Case(
        When(is_hazard=True, then=generalised_location()),
        default=F("location"),
        output_field=PointField(srid=settings.STORAGE_SRID),
    )


def hazard_margin(lat: float) -> float:
    """Web Mercator units covering the largest shift a generalised point can make.

    A cell centre is at most cell·√2/2 metres from the real point; Mercator stretches
    distances by 1/cos(latitude). The factor 1.5 covers the storage projection's own scale.
    """
    cell = settings.HAZARD_PUBLIC_CELL_M
    return cell * math.sqrt(2) / 2 * 1.5 / max(math.cos(math.radians(min(abs(lat), 85.0))), 0.05)


def hazard_cells(bounds: Bounds) -> Bounds | None:
    """The storage-SRID rectangle of the public hazard cells whose centre may lie in the
    TILE_SRID rectangle `bounds`.

    Those cells are the only place the exact point of a hazard report shown in the box can
    be, and they cover about the box itself, so matching hazard reports by them costs about
    as much as matching the others (a margin of a whole cell around the box costs 4-13 times
    more rows at z14-z16). None when no cell centre can be in the box, or when the box is
    too large or too far for the storage projection (then `hazard_margin` is used).
    """
    return _hazard_cells(tuple(bounds), settings.TILE_SRID, settings.HAZARD_PUBLIC_CELL_M,
                         settings.STORAGE_SRID)


@lru_cache(maxsize=8192)
def _hazard_cells(extent: Bounds, srid: int, cell: int,
                  storage_srid: int) -> Bounds | None:
    xmin, ymin, xmax, ymax = extent
    if xmax - xmin > 200_000:  # z < 8: one projection zone cannot hold it
        return None
    steps = 8  # tile edges are straight in Mercator, curved in the storage projection
    ring = [(xmin + (xmax - xmin) * i / steps, ymin) for i in range(steps)]
    ring += [(xmax, ymin + (ymax - ymin) * i / steps) for i in range(steps)]
    ring += [(xmax - (xmax - xmin) * i / steps, ymax) for i in range(steps)]
    ring += [(xmin, ymax - (ymax - ymin) * i / steps) for i in range(steps)]
    wkt = "POLYGON((" + ",".join(f"{x!r} {y!r}" for x, y in [*ring, ring[0]]) + "))"
    # Built from WKT in one call (a coordinate list costs a GEOS call per point), measured
    # by its envelope (`.extent` walks every point in Python).
    outline = to_srid(GEOSGeometry(wkt, srid=srid), storage_srid)
    sx0, sy0, sx1, sy1 = outline.envelope.extent
    if not all(math.isfinite(v) for v in (sx0, sy0, sx1, sy1)):
        return None
    half = cell / 2
    kx0, kx1 = math.ceil((sx0 - half) / cell), math.floor((sx1 - half) / cell)
    ky0, ky1 = math.ceil((sy0 - half) / cell), math.floor((sy1 - half) / cell)
    if kx0 > kx1 or ky0 > ky1:
        return None
    return kx0 * cell, ky0 * cell, (kx1 + 1) * cell, (ky1 + 1) * cell


@dataclass(frozen=True)
class HazardMatch:
    """How public hazard reports are looked up for a box: `by` "cells" (`bounds` is a
    storage-SRID rectangle, GiST on `location`) or "margin" (`bounds` is the box grown by
    `hazard_margin`, GiST on `location_tile`)."""

    by: str
    bounds: Bounds

    @property
    def srid(self) -> int:
        return settings.STORAGE_SRID if self.by == "cells" else settings.TILE_SRID


def hazard_match(bounds: Bounds) -> HazardMatch:
    cells = hazard_cells(bounds)
    if cells is not None:
        return HazardMatch("cells", cells)
    xmin, ymin, xmax, ymax = bounds
    # The box's latitude farthest from the equator stretches distances most.
    margin = hazard_margin(mercantile.lnglat(xmin, max(abs(ymin), abs(ymax))).lat)
    return HazardMatch("margin", (xmin - margin, ymin - margin, xmax + margin, ymax + margin))


# --- One tile's box as statement parameters -------------------------------------------------
#
# Tile statements are compiled once per shape (tiles.sql.Template); the box is four numbers
# (`x0`, `y0`, `x1`, `y1`, TILE_SRID), the bands it spans (`bands`) and, for the public, the
# rectangle hazard reports are looked up in (`hx0`...`hy1`, in the SRID of its `by`).

def box_values(bounds: Bounds, *, exact: bool) -> tuple[dict[str, Any], str]:
    """(TileParam values of the box, the hazard lookup: "cells", "margin" or "exact")."""
    x0, y0, x1, y1 = bounds
    values: dict[str, Any] = {"x0": x0, "y0": y0, "x1": x1, "y1": y1,
                              "bands": tile_bands(x0, x1)}
    if exact:
        return values, "exact"
    hazard = hazard_match(bounds)
    values.update(zip(("hx0", "hy0", "hx1", "hy1"), hazard.bounds, strict=True))
    return values, hazard.by


def _envelope(prefix: str, srid: int) -> MakeEnvelope:
    P = TileParam  # noqa: N806 - reads like a placeholder
    return MakeEnvelope(*(P(f"{prefix}{c}", FloatField()) for c in ("x0", "y0", "x1", "y1")),
                        srid)


def _hazard_near(hazard_by: str) -> dict[str, Any]:
    """The GiST lookup narrowing public hazard reports to those that may show in the box."""
    if hazard_by == "cells":
        return {"location__intersects": _envelope("h", settings.STORAGE_SRID)}
    return {"location_tile__intersects": _envelope("h", settings.TILE_SRID)}


def reports_in_box(qs: QuerySet[Report], *, exact: bool, hazard_by: str,
                   alias: str = "tile_point") -> QuerySet[Report]:
    """Reports whose drawn point lies in the box, with `alias` = that point (GiST lookups:
    for point tiles, which read the rows anyway).

    For the public (`hazard_by` from `box_values`), hazard reports are matched by their
    generalised point only: a tile never reveals which side of a tile edge the exact point
    is on; the exact location only narrows the search through a spatial index first.
    """
    box = _envelope("", settings.TILE_SRID)
    qs = qs.alias(**{alias: tile_point(exact=exact)})
    if exact:
        return qs.filter(location_tile__intersects=box)
    return qs.filter(
        Q(is_hazard=False, location_tile__intersects=box)
        | Q(is_hazard=True, **_hazard_near(hazard_by), **{f"{alias}__intersects": box})
    )


@dataclass(frozen=True)
class DrawnRows:
    """A set of reports in the box and the SQL of their drawn position (TILE_SRID x, y)."""

    rows: QuerySet[Report]
    x: Any
    y: Any


def report_rows_in_box(qs: QuerySet[Report], *, exact: bool,
                       hazard_by: str) -> list[DrawnRows]:
    """Reports whose drawn point lies in the box, as disjoint sets to aggregate and add up
    (`UNION ALL`): for aggregates (report cells, heat), which read many rows.

    The main set is an index-only scan of `report_tile_band` (one descent per band, the
    box's y range within it; every column the public filters need is in the index), where
    the GiST finds the same rows but then reads each from the table: 6-7x slower at city
    zooms over 1M reports. For the public, hazard reports are a second set matched by their
    generalised point, exactly as `reports_in_box` does.
    """
    P = TileParam  # noqa: N806
    in_box = qs.filter(
        EqualsAny(F("tile_band"), P("bands", ArrayField(IntegerField()))),
        tile_x__gte=P("x0", FloatField()), tile_x__lte=P("x1", FloatField()),
        tile_y__gte=P("y0", FloatField()), tile_y__lte=P("y1", FloatField()),
    )
    if exact:
        return [DrawnRows(in_box, F("tile_x"), F("tile_y"))]
    hazard = (qs.filter(is_hazard=True, **_hazard_near(hazard_by))
              .alias(tile_point=tile_point(exact=False))
              .filter(tile_point__intersects=_envelope("", settings.TILE_SRID)))
    return [DrawnRows(in_box.filter(is_hazard=False), F("tile_x"), F("tile_y")),
            DrawnRows(hazard, PointX(F("tile_point")), PointY(F("tile_point")))]


class EqualsAny(Func):
    """`value = ANY(array)`: one bound array whatever its length (templates keep one shape)."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra):
        value, array = self.get_source_expressions()
        value_sql, value_params = compiler.compile(value)
        array_sql, array_params = compiler.compile(array)
        return f"{value_sql} = ANY({array_sql})", [*value_params, *array_params]



