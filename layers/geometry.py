"""Coordinate handling between the API (WGS 84 lat/lon), storage (metric) and tiles.

Projections are named settings (STORAGE_SRID, API_SRID, TILE_SRID); this module is the one
place that converts between them, with cached transforms (building one costs ~0.1 ms).
"""

from __future__ import annotations

import math
from functools import lru_cache

from django.conf import settings
from django.contrib.gis.gdal import CoordTransform, SpatialReference
from django.contrib.gis.geos import GEOSGeometry, Point, Polygon
from django.db.models import FloatField, Func

from geocity.errors import ValidationFailed


@lru_cache(maxsize=16)
def _transform(source: int, target: int) -> CoordTransform:
    return CoordTransform(SpatialReference(source), SpatialReference(target))


def to_srid(geom: GEOSGeometry, srid: int) -> GEOSGeometry:
    """A copy of `geom` in `srid` (geometries without an SRID are taken as WGS 84)."""
    source = geom.srid or settings.API_SRID
    if source == srid:
        clone = geom.clone()
        clone.srid = srid
        return clone
    return geom.transform(_transform(source, srid), clone=True)


class PointX(Func):
    """SQL: ST_X of a point expression."""

    function = "ST_X"
    output_field = FloatField()


class PointY(Func):
    """SQL: ST_Y of a point expression."""

    function = "ST_Y"
    output_field = FloatField()


def to_storage(geom: GEOSGeometry) -> GEOSGeometry:
    return to_srid(geom, settings.STORAGE_SRID)


def to_api(geom: GEOSGeometry) -> GEOSGeometry:
    return to_srid(geom, settings.API_SRID)


def point_from_lat_lon(lat: object, lon: object) -> Point:
    """A storage-SRID point from WGS 84 lat/lon; a clear error for anything else."""
    errors: dict[str, list[str]] = {}
    values: dict[str, float] = {}
    for name, value, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if value is None or value == "":
            errors[name] = [f"{name} is required."]
            continue
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            errors[name] = [f"{name} must be a number, got {value!r}."]
            continue
        if not math.isfinite(number) or not -limit <= number <= limit:
            errors[name] = [f"{name} must be between -{limit:g} and {limit:g}."]
            continue
        values[name] = number
    if errors:
        raise ValidationFailed(
            "Invalid coordinates: " + " ".join(m for ms in errors.values() for m in ms),
            code="invalid_location",
            fields=errors,
        )
    return to_storage(Point(values["lon"], values["lat"], srid=settings.API_SRID))


def lat_lon(point: Point) -> tuple[float, float]:
    api = to_api(point)
    return round(api.y, 7), round(api.x, 7)


def generalise(point: Point, cell_m: int | None = None) -> Point:
    """The centre of the `cell_m` grid cell (storage SRID, metres) that holds `point`.

    Used for explosive-ordnance reports: the public never sees the exact spot.
    """
    cell = cell_m or settings.HAZARD_PUBLIC_CELL_M
    storage = to_storage(point)
    x = math.floor(storage.x / cell) * cell + cell / 2
    y = math.floor(storage.y / cell) * cell + cell / 2
    return Point(x, y, srid=settings.STORAGE_SRID)


# --- Web Mercator bands -------------------------------------------------------------------
# Reports store their Web Mercator x, y and the band of x (Report.tile_x/tile_y/tile_band)
# so a tile's aggregates are index-only range scans (see reports.models.Report and
# tiles.selectors.report_rows_in_box). A band is a z16 tile column: ~611 m at the equator.
MERCATOR_HALF_WORLD = 20037508.342789244
TILE_BAND_ZOOM = 16
TILE_BAND_M = 2 * MERCATOR_HALF_WORLD / 2**TILE_BAND_ZOOM


def tile_band(x: float) -> int:
    """The band of Web Mercator `x`: the same IEEE arithmetic as the generated column, so a
    point inside [xmin, xmax] is always in a band of `tile_bands(xmin, xmax)`."""
    return math.floor((x + MERCATOR_HALF_WORLD) / TILE_BAND_M)


def tile_bands(xmin: float, xmax: float) -> list[int]:
    return list(range(tile_band(xmin), tile_band(xmax) + 1))


def parse_bbox(raw: str) -> Polygon:
    """`min_lon,min_lat,max_lon,max_lat` (WGS 84) -> a storage-SRID polygon."""
    parts = [p.strip() for p in (raw or "").split(",")]
    try:
        if len(parts) != 4:
            raise ValueError
        x1, y1, x2, y2 = (float(p) for p in parts)
    except ValueError as exc:
        raise ValidationFailed(
            "in_bbox must be min_lon,min_lat,max_lon,max_lat (four numbers).",
            code="invalid_bbox", fields={"in_bbox": ["Four comma-separated numbers."]},
        ) from exc
    if not (-180 <= x1 <= 180 and -180 <= x2 <= 180 and -90 <= y1 <= 90 and -90 <= y2 <= 90):
        raise ValidationFailed("in_bbox is out of range.", code="invalid_bbox",
                               fields={"in_bbox": ["Longitude ±180, latitude ±90."]})
    if x1 >= x2 or y1 >= y2:
        raise ValidationFailed("in_bbox must have min < max.", code="invalid_bbox",
                               fields={"in_bbox": ["min must be smaller than max."]})
    return to_storage(Polygon.from_bbox((x1, y1, x2, y2)))
