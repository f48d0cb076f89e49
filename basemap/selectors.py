"""Reads of the basemap: the rows of a vector tile, and what an import brought.

`tile_rows(z, ...)` gives, per table, the values() queryset of the features a tile at zoom `z`
draws, all with the same columns so the tile statement (`tiles.layers.BasemapLayer`) can
put them in one MVT layer: kind, class, name (labels, Ukrainian), draw order, the priority
at which an over-budget tile drops them, and the geometry in tile coordinates.
Generalisation per zoom: only rows with `min_zoom <= z` (decided at import, see
`basemap.generalise`), and below DETAIL_ZOOM geometry simplified to a fraction of a pixel.
"""

from __future__ import annotations

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import GeoFunc
from django.db.models import Case, CharField, F, IntegerField, QuerySet, Value, When
from django.db.models.functions import Cast
from vectortiles.backends.postgis.functions import AsMVTGeom

from . import generalise as gen
from .models import BasemapImport, Building, Park, Railway, Street, Water

DETAIL_ZOOM = 15  # from here geometry is drawn as stored
SIMPLIFY_UNITS = 2.0  # tolerance below DETAIL_ZOOM, in tile units (a 4096th of the tile)
# Names are sent only where the map labels them.
STREET_LABEL_ZOOM = 13
AREA_LABEL_ZOOM = 15
COLUMNS = ("b_kind", "b_class", "b_name", "b_ord", "b_prio", "geom")
# Draw order: areas, then buildings, railways, streets from paths to motorways.
ORDER = {"park": 10, "water": 20, "building": 30, "rail": 40, "street": 50}


class Simplify(GeoFunc):
    """ST_Simplify(geometry, tolerance, preserve collapsed = false)."""

    function = "ST_Simplify"
    output_field = GeometryField()


def _text(value: str | None):
    return Cast(Value(value), CharField())


def _rows(qs: QuerySet, z: int, *, bbox, envelope, extent: int, buffer: int, tolerance: float,
          kind: str, cls, name, order, priority) -> QuerySet:
    geometry = F("geometry_tile")
    if z < DETAIL_ZOOM:
        geometry = Simplify(geometry, Value(tolerance))
    return (
        qs.filter(min_zoom__lte=z, geometry_tile__bboverlaps=bbox)
        .annotate(b_kind=_text(kind), b_class=cls, b_name=name,
                  b_ord=Value(order) if isinstance(order, int) else order,
                  b_prio=Value(priority) if isinstance(priority, int) else priority,
                  geom=AsMVTGeom(geometry, envelope, extent, buffer, True))
        .values(*COLUMNS)
    )


def _street_order():
    return Case(*(When(road_class=c, then=Value(ORDER["street"] + i))
                  for i, c in enumerate(gen.STREET_ORDER)),
                default=Value(ORDER["street"]), output_field=IntegerField())


def _street_priority():
    return Case(*(When(road_class=c, then=Value(p)) for c, p in gen.STREET_CLASSES.items()),
                default=Value(2), output_field=IntegerField())


def tile_rows(z: int, *, bbox, envelope, extent: int, buffer: int,
              tile_size_m: float) -> list[QuerySet]:
    """The querysets of a tile at zoom `z`, in draw order. `bbox` (the tile plus its buffer)
    and `envelope` (the tile) are geometry expressions in Web Mercator."""
    common = {"bbox": bbox, "envelope": envelope, "extent": extent, "buffer": buffer,
              "tolerance": tile_size_m / extent * SIMPLIFY_UNITS}
    area_name = F("name_uk") if z >= AREA_LABEL_ZOOM else _text(None)
    street_name = F("label_uk") if z >= STREET_LABEL_ZOOM else _text(None)
    return [
        _rows(Park.objects.all(), z, **common, kind="park", cls=F("kind"), name=area_name,
              order=ORDER["park"], priority=1),
        _rows(Water.objects.all(), z, **common, kind="water", cls=F("kind"), name=area_name,
              order=ORDER["water"], priority=0),
        _rows(Building.objects.all(), z, **common, kind="building", cls=_text(None),
              name=_text(None), order=ORDER["building"], priority=2),
        _rows(Railway.objects.all(), z, **common, kind="rail", cls=F("kind"), name=_text(None),
              order=ORDER["rail"], priority=0),
        _rows(Street.objects.all(), z, **common, kind="street", cls=F("road_class"),
              name=street_name, order=_street_order(), priority=_street_priority()),
    ]


def basemap_latest() -> BasemapImport | None:
    """The import in force (the newest), or None when no OSM extract was ever imported."""
    return BasemapImport.objects.order_by("-imported_at", "-id").first()
