"""Reading an OpenStreetMap extract with GDAL's OSM driver.

`ogr2ogr` (the OSM driver, configured by basemap/osmconf.ini) turns the `.osm.pbf` into
temporary GeoPackages, reprojected to the storage SRID and cut to the service area's bounding
box; GeoDjango's `DataSource` then reads it. Why the detour: OSM files interleave nodes,
ways and relations, and reading the driver's layers one after another from the PBF itself
re-parses the file per layer or fails on large extracts ("too many features have
accumulated"); ogr2ogr does the driver's interleaved reading for us, and a GeoPackage is
read in any order. Nothing is written to the database here.

GDAL reports a damaged PBF only as "ERROR 1: ..." lines while still exiting 0, so any
error line refuses the file, but for GEOS's complaints about one feature's geometry
(`GEOMETRY_ERRORS`): every real extract has relations cut at its edge, whose rings GEOS
cannot build; GDAL skips those features and so do we, counting them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.gis.gdal import DataSource, GDALException
from django.contrib.gis.geos import GEOSGeometry
from django.utils.translation import gettext as _

from geocity.errors import ValidationFailed

CONFIG_FILE = Path(__file__).resolve().parent / "osmconf.ini"
LAYERS = ("points", "lines", "multipolygons")
SUFFIXES = (".osm.pbf", ".pbf", ".osm")
OGR2OGR_TIMEOUT_S = 3600
MAX_ERROR_LINES = 5
# GEOS refusing one feature's geometry (a ring of two points, say), as GDAL words it: that
# feature is skipped, the file is not damaged.
GEOMETRY_ERRORS = ("IllegalArgumentException:", "TopologyException:")


class OsmFileError(ValidationFailed):
    """The file cannot be read as an OSM extract; nothing was written."""

    def __init__(self, message: str, *, code: str = "invalid_osm_file") -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class OsmRecord:
    """One feature of the extract: its OSM identity, tags (field -> value) and geometry in
    the storage SRID."""

    layer: str
    osm_type: str  # n, w or r
    osm_id: int
    tags: dict[str, str | None]
    geometry: GEOSGeometry


@dataclass(frozen=True)
class Converted:
    """The converted extract: the folder of its GeoPackages, and how many features GDAL
    skipped because GEOS could not build their geometry."""

    path: Path
    geometry_errors: int = 0


def check_path(path: Path) -> None:
    if not path.is_file():
        raise OsmFileError(_("%(file)s: no such file.") % {"file": path}, code="no_file")
    if not path.name.lower().endswith(SUFFIXES):
        raise OsmFileError(
            _("%(file)s: an OpenStreetMap extract ends in .osm.pbf (or .osm); GDAL's OSM "
              "driver reads nothing else.") % {"file": path.name}, code="not_osm")


def convert(path: Path, workdir: Path, *,
            bbox: tuple[float, float, float, float]) -> Converted:
    """The extract as GeoPackages in `workdir`, one per layer (storage SRID, within `bbox`
    in storage coordinates). Raises OsmFileError with GDAL's own words when the file cannot
    be read.

    One ogr2ogr run per layer: GDAL 3.6 combines a spatial filter with the interleaved
    reading of several OSM layers badly (ways lose the nodes outside the box and come out as
    two-point rings), which a run per layer avoids at the cost of parsing the file thrice.
    """
    check_path(path)
    ogr2ogr = shutil.which("ogr2ogr")
    if not ogr2ogr:
        raise OsmFileError(_("ogr2ogr (Debian package gdal-bin) is not installed; run make "
                             "to install it."), code="no_gdal_tools")
    srs = f"EPSG:{settings.STORAGE_SRID}"
    env = dict(os.environ, CPL_TMPDIR=str(workdir), OSM_MAX_TMPFILE_SIZE="1024")
    geometry_errors = 0
    for layer in LAYERS:
        out = workdir / f"{layer}.gpkg"
        command = [
            ogr2ogr, "-q", "-f", "GPKG", str(out), str(path),
            "-oo", f"CONFIG_FILE={CONFIG_FILE}", "-t_srs", srs, "-spat_srs", srs,
            "-spat", *(repr(v) for v in bbox), "-lco", "SPATIAL_INDEX=NO", "-gt", "65536",
            layer,
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env,
                                  timeout=OGR2OGR_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise OsmFileError(_("%(file)s: GDAL took longer than %(s)d s to read it.")
                               % {"file": path.name, "s": OGR2OGR_TIMEOUT_S}) from exc
        errors = [line.strip() for line in (done.stderr or "").splitlines()
                  if line.startswith(("ERROR", "FAILURE"))]
        broken = [line for line in errors if any(word in line for word in GEOMETRY_ERRORS)]
        geometry_errors += len(broken)
        errors = [line for line in errors if line not in broken]
        if done.returncode != 0 or errors or not out.exists():
            detail = "; ".join(errors[:MAX_ERROR_LINES]) or (done.stderr or "").strip()[:300]
            raise OsmFileError(
                _("%(file)s is not a readable OpenStreetMap extract (GDAL: %(detail)s). "
                  "Nothing was imported.")
                % {"file": path.name, "detail": detail or _("no details")})
    return Converted(workdir, geometry_errors)


def _osm_identity(layer: str, feature) -> tuple[str, int] | None:
    if layer == "multipolygons":
        way = feature.get("osm_way_id")
        if way:
            return "w", int(way)
        relation = feature.get("osm_id")
        return ("r", int(relation)) if relation else None
    value = feature.get("osm_id")
    if not value:
        return None
    return ("n" if layer == "points" else "w"), int(value)


def records(workdir: Path, layer: str, fields: tuple[str, ...]) -> Iterator[OsmRecord]:
    """The features of one layer of the converted extract with the tags `fields` (field
    names as GDAL launders them: `name:uk` is `name_uk`). None if GDAL made no such layer,
    as it does when the extract has no feature of that kind in the box."""
    gpkg = workdir / f"{layer}.gpkg"
    if not gpkg.exists():
        return
    try:
        source = DataSource(str(gpkg))
    except GDALException as exc:
        raise OsmFileError(_("The converted extract cannot be opened: %(error)s")
                           % {"error": exc}) from exc
    names = [source[i].name for i in range(len(source))]
    if layer not in names:
        return
    ogr_layer = source[layer]
    present = set(ogr_layer.fields)
    fields = tuple(name for name in fields if name in present)
    for feature in ogr_layer:
        identity = _osm_identity(layer, feature)
        ogr = feature.geom
        if identity is None or ogr is None:
            continue
        tags = {name: feature.get(name) or None for name in fields}
        geometry = ogr.geos
        geometry.srid = settings.STORAGE_SRID  # what ogr2ogr -t_srs wrote
        yield OsmRecord(layer, identity[0], identity[1], tags, geometry)
