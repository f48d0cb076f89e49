"""Writes of the basemap: `basemap_import`, the one way rows get into its tables.

An import is all or nothing. The file is read by GDAL first (`basemap.osm.convert`: a
damaged file is refused before any write), then one transaction replaces every basemap row
and every gazetteer address an earlier OSM import added, with what lies inside the service
area. After the commit `basemap.signals.basemap_changed` is sent (the tile cache listens).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.gis.db.models import Union
from django.contrib.gis.geos import (
    GEOSGeometry,
    LineString,
    MultiLineString,
    MultiPolygon,
    Point,
    Polygon,
)
from django.db import transaction
from django.utils.translation import gettext as _

from geocity.errors import ValidationFailed
from geocity.hooks import send_on_commit
from layers.models import AddressPoint, ServiceArea

from . import generalise as gen
from . import osm
from .gazetteer import Gazetteer, link_buildings
from .models import BasemapImport, Building, Park, Railway, Street, Water
from .signals import basemap_changed
from .streets import street_name

BATCH_SIZE = 2000
# The tags each layer is read with (basemap/osmconf.ini makes them fields).
LINE_TAGS = ("name", "name_uk", "name_en", "highway", "railway", "waterway", "service")
AREA_TAGS = ("name", "name_uk", "building", "addr_street", "addr_housenumber", "natural",
             "water", "waterway", "landuse", "leisure")
POINT_TAGS = ("addr_street", "addr_housenumber")
Log = Callable[[str], object]


class BasemapImportError(ValidationFailed):
    """The import was refused; nothing was written."""


# --- Geometry: clipped to the service area -----------------------------------------------

class Clip:
    """Cuts geometries to the service area (a prepared geometry: most features lie wholly
    inside, which is one cheap test). Invalid geometries (self-intersecting outlines, rings
    too short: common in real extracts) are repaired first, and counted."""

    def __init__(self, area: GEOSGeometry) -> None:
        self.area = area
        self.prepared = area.prepared
        self.repaired = 0

    def _cut(self, geom: GEOSGeometry) -> tuple[GEOSGeometry | None, bool]:
        """(the part inside the area, whether that is all of it)."""
        if not geom.valid:
            geom = geom.make_valid()
            self.repaired += 1
        if self.prepared.contains(geom):
            return geom, True
        if not self.prepared.intersects(geom):
            return None, False
        return geom.intersection(self.area), False

    def lines(self, geom: GEOSGeometry) -> MultiLineString | None:
        cut, whole = self._cut(geom)
        if whole and isinstance(cut, MultiLineString):
            return cut
        parts = [g for g in _parts(cut) if isinstance(g, LineString) and g.length > 0]
        return MultiLineString(parts, srid=geom.srid) if parts else None

    def polygons(self, geom: GEOSGeometry) -> MultiPolygon | None:
        cut, whole = self._cut(geom)
        if whole and isinstance(cut, MultiPolygon):
            return cut
        parts = [g for g in _parts(cut) if isinstance(g, Polygon) and g.area > 0]
        return MultiPolygon(parts, srid=geom.srid) if parts else None

    def point(self, geom: GEOSGeometry) -> Point | None:
        if isinstance(geom, Point) and self.prepared.covers(geom):
            return geom
        return None


class _NoGeosNotices(logging.Filter):
    """GEOS tells GeoDjango's logger why each invalid geometry is invalid; an import repairs
    and counts them (`Clip.repaired`) instead of logging a line per feature."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("GEOS_NOTICE")


@contextlib.contextmanager
def _geos_notices_counted() -> Iterator[None]:
    logger, quiet = logging.getLogger("django.contrib.gis"), _NoGeosNotices()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _parts(geom: GEOSGeometry | None) -> Iterable[GEOSGeometry]:
    if geom is None or geom.empty:
        return []
    if isinstance(geom, LineString | Polygon | Point):
        return [geom]
    out = []
    for part in geom:
        out.extend(_parts(part))
    return out


# --- The import -----------------------------------------------------------------------------

@dataclass
class _Batches:
    """Rows waiting for bulk_create, per model; counts of what was written."""

    size: int = BATCH_SIZE
    pending: dict[type, list] = field(default_factory=dict)
    counts: dict[type, int] = field(default_factory=dict)

    def add(self, row) -> None:
        rows = self.pending.setdefault(type(row), [])
        rows.append(row)
        if len(rows) >= self.size:
            self.flush(type(row))

    def flush(self, model: type | None = None) -> None:
        for kind in [model] if model else list(self.pending):
            rows = self.pending.get(kind) or []
            if rows:
                kind.objects.bulk_create(rows)
                self.counts[kind] = self.counts.get(kind, 0) + len(rows)
            self.pending[kind] = []


def _name(tags: dict) -> str:
    return (tags.get("name_uk") or tags.get("name") or "").strip()


def _streets_and_lines(extract: Path, clip: Clip, rows: _Batches) -> dict[str, str]:
    """Streets, railways and waterway lines; returns the streets' English names by their
    normalised Ukrainian name (for the gazetteer)."""
    english: dict[str, str] = {}
    for record in osm.records(extract, "lines", LINE_TAGS):
        tags = record.tags
        highway = gen.street_class(tags.get("highway"))
        rail_zoom = gen.railway_min_zoom(tags.get("railway"), tags.get("service"))
        water_zoom = gen.WATER_LINES.get(tags.get("waterway") or "")
        if highway is None and rail_zoom is None and water_zoom is None:
            continue
        geom = clip.lines(record.geometry)
        if geom is None:
            continue
        ident = {"osm_type": record.osm_type, "osm_id": record.osm_id}
        if highway is not None:
            raw = _name(tags)
            name = street_name(raw) if raw else None
            name_en = (tags.get("name_en") or "").strip() or (name.english if name else "")
            if name and tags.get("name_en"):
                english.setdefault(name.full_uk.lower(), name_en)
            rows.add(Street(**ident, name_uk=(name.full_uk if name else "")[:200],
                            name_en=name_en[:200], label_uk=(name.short_uk if name else "")[:200],
                            highway=tags["highway"][:32], road_class=highway.road_class,
                            min_zoom=highway.min_zoom, geometry=geom))
        elif rail_zoom is not None:
            rows.add(Railway(**ident, kind=tags["railway"][:32], name_uk=_name(tags)[:200],
                             min_zoom=rail_zoom, geometry=geom))
        else:
            rows.add(Water(**ident, kind=tags["waterway"][:32], name_uk=_name(tags)[:200],
                           min_zoom=water_zoom, geometry=geom))
    return english


def _areas(extract: Path, clip: Clip, rows: _Batches, gazetteer: Gazetteer) -> None:
    """Buildings (and their addresses), water areas and parks."""
    for record in osm.records(extract, "multipolygons", AREA_TAGS):
        tags = record.tags
        building = gen.is_building(tags.get("building"))
        water = gen.water_area_kind(tags)
        park = gen.park_kind(tags)
        if not (building or water or park):
            continue
        geom = clip.polygons(record.geometry)
        if geom is None:
            continue
        ident = {"osm_type": record.osm_type, "osm_id": record.osm_id}
        area = geom.area
        if building:
            rows.add(Building(**ident, area_m2=area, min_zoom=gen.building_min_zoom(area),
                              geometry=geom))
            gazetteer.add(street=tags.get("addr_street"), number=tags.get("addr_housenumber"),
                          location=geom.point_on_surface, **ident)
        elif water:
            rows.add(Water(**ident, kind=water[:32], name_uk=_name(tags)[:200],
                           min_zoom=gen.area_min_zoom(area), geometry=geom))
        else:
            rows.add(Park(**ident, kind=park[:32], name_uk=_name(tags)[:200], area_m2=area,
                          min_zoom=gen.area_min_zoom(area), geometry=geom))


def _address_nodes(extract: Path, clip: Clip, gazetteer: Gazetteer) -> None:
    for record in osm.records(extract, "points", POINT_TAGS):
        tags = record.tags
        if not tags.get("addr_street") or not tags.get("addr_housenumber"):
            continue
        point = clip.point(record.geometry)
        if point is not None:
            gazetteer.add(street=tags["addr_street"], number=tags["addr_housenumber"],
                          location=point, osm_type=record.osm_type, osm_id=record.osm_id)


def _service_area() -> GEOSGeometry:
    area = ServiceArea.objects.aggregate(area=Union("geometry"))["area"]
    if area is None:
        raise BasemapImportError(
            _("There is no service area to clip the extract to. Import it first: manage.py "
              "import_layer FILE --layer service-area."), code="no_service_area")
    return area


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def basemap_clear() -> None:
    """Delete the basemap and the addresses OSM imports added (inside the caller's
    transaction)."""
    for model in (Building, Street, Water, Park, Railway):
        model.objects.all().delete()  # one DELETE each: nothing refers to these rows
    AddressPoint.objects.filter(osm__isnull=False).delete()


def basemap_import(*, path: str | Path, dry_run: bool = False,
                   log: Log | None = None) -> BasemapImport:
    """Replace the basemap with the OSM extract at `path`, clipped to the service area, and
    add its addresses to the gazetteer; all or nothing.

    Raises BasemapImportError / osm.OsmFileError (ValidationFailed) with a message for
    people; nothing is written then. `dry_run` does everything and rolls it back.
    """
    say = log or (lambda _message: None)
    source = Path(path)
    osm.check_path(source)
    area = _service_area()
    clip = Clip(area)
    with tempfile.TemporaryDirectory(prefix="geocity-osm-") as tmp:
        say(_("Reading %(file)s with GDAL's OSM driver…") % {"file": source.name})
        converted = osm.convert(source, Path(tmp), bbox=area.extent)
        extract = converted.path
        with _geos_notices_counted(), transaction.atomic():
            basemap_clear()
            rows = _Batches()
            english = _streets_and_lines(extract, clip, rows)
            gazetteer = Gazetteer(english)
            _areas(extract, clip, rows, gazetteer)
            rows.flush()
            _address_nodes(extract, clip, gazetteer)
            added, skipped = gazetteer.write()
            link_buildings()
            counts = rows.counts
            record = BasemapImport.objects.create(
                file_name=source.name[:255], sha256=_sha256(source),
                size_bytes=source.stat().st_size, streets=counts.get(Street, 0),
                buildings=counts.get(Building, 0), water=counts.get(Water, 0),
                parks=counts.get(Park, 0), railways=counts.get(Railway, 0), addresses=added,
                addresses_skipped=skipped, geometry_errors=converted.geometry_errors,
                geometries_repaired=clip.repaired)
            if not (sum(counts.values()) or added or skipped):
                raise BasemapImportError(
                    _("%(file)s has no streets, buildings, water, parks, railways or addresses "
                      "inside the service area (an extract of another region?). Nothing was "
                      "imported.") % {"file": source.name}, code="nothing_inside")
            if dry_run:
                transaction.set_rollback(True)
            else:
                send_on_commit(basemap_changed, sender=BasemapImport, basemap_import=record)
    return record


def import_lines(record: BasemapImport, *, dry_run: bool = False) -> list[str]:
    """What an import brought, for the command line and the admin."""
    head = _("Dry run of %(file)s: nothing was written.") if dry_run else _("Imported %(file)s.")
    return [
        head % {"file": record.file_name},
        _("Streets: %(n)d; buildings: %(b)d; water: %(w)d; parks: %(p)d; railways: %(r)d.")
        % {"n": record.streets, "b": record.buildings, "w": record.water, "p": record.parks,
           "r": record.railways},
        _("Addresses added to the gazetteer: %(n)d (%(k)d already known).")
        % {"n": record.addresses, "k": record.addresses_skipped},
        *([_("Invalid geometries repaired: %(n)d (self-intersecting outlines, short "
             "rings).") % {"n": record.geometries_repaired}]
          if record.geometries_repaired else []),
        *([_("Features GDAL could not build a geometry for, skipped: %(n)d (usually "
             "relations cut at the extract's edge).") % {"n": record.geometry_errors}]
          if record.geometry_errors else []),
    ]
