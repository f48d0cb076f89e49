"""Opening GIS files through GDAL (zipped Shapefiles, cp1251 names, KML/KMZ), and turning
each feature's geometry into a valid one in the storage projection, or refusing it."""

from __future__ import annotations

import codecs
import logging
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.gis.gdal import (
    CoordTransform,
    DataSource,
    GDALException,
    OGRGeometry,
    SpatialReference,
)
from django.contrib.gis.gdal.error import SRSException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Point
from django.utils.translation import gettext as _

from .base import (
    DATA_SUFFIXES,
    MIN_POLYGON_AREA_M2,
    SHAPEFILE_PARTS,
    LayerImportError,
    _FeatureProblem,
)

logger = logging.getLogger(__name__)

# --- Opening files ------------------------------------------------------------------------

@dataclass
class Source:
    path: str
    datasource: DataSource
    layer: Any  # django.contrib.gis.gdal.layer.Layer
    gdal_errors: list[str]

    @property
    def driver(self) -> str:
        return str(self.datasource.driver)


@contextmanager
def _capture_gdal_errors() -> Iterator[list[str]]:
    """GDAL reports some problems (an unknown CRS in GeoJSON) only as logged errors."""
    messages: list[str] = []

    class _Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("GDAL_ERROR"):
                messages.append(record.getMessage())

    handler = _Handler(level=logging.ERROR)
    gis_logger = logging.getLogger("django.contrib.gis")
    gis_logger.addHandler(handler)
    try:
        yield messages
    finally:
        gis_logger.removeHandler(handler)


def _missing_parts(shp_names: list[str], names: set[str]) -> list[str]:
    """`.shx`/`.dbf` siblings missing for each `.shp` (case-insensitive)."""
    lower = {n.lower() for n in names}
    missing = []
    for shp in shp_names:
        stem = shp[:-4]
        for part in SHAPEFILE_PARTS:
            if (stem + part).lower() not in lower:
                missing.append(Path(stem + part).name)
    return missing


def _check_zip(path: Path) -> str:
    """The GDAL path of the data file inside a .zip; clear errors for a bad archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = [n for n in archive.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise LayerImportError(
            _("%(file)s is not a readable zip archive (%(error)s).")
            % {"file": path.name, "error": exc}, code="corrupt_zip",
        ) from exc
    if bad is not None:
        raise LayerImportError(
            _("%(file)s is corrupt: the member %(member)s fails its checksum.")
            % {"file": path.name, "member": bad}, code="corrupt_zip",
        )
    names = [n for n in names if "__MACOSX" not in n]
    shps = [n for n in names if n.lower().endswith(".shp")]
    if shps:
        missing = _missing_parts(shps, set(names))
        if missing:
            raise LayerImportError(
                _("The shapefile in %(file)s is incomplete: %(missing)s missing (a shapefile "
                  "needs its .shp, .shx and .dbf, and a .prj for its projection).")
                % {"file": path.name, "missing": ", ".join(missing)},
                code="shapefile_incomplete",
            )
        if len(shps) > 1:
            return f"/vsizip/{path}"
        return f"/vsizip/{path}/{shps[0]}"
    data = [n for n in names if n.lower().endswith(DATA_SUFFIXES)]
    if not data:
        if path.suffix.lower() == ".kmz":
            return str(path)
        raise LayerImportError(
            _("%(file)s holds no GIS file (.shp, .gpkg, .geojson, .kml).")
            % {"file": path.name}, code="unreadable_file",
        )
    if path.suffix.lower() == ".kmz":
        return str(path)  # LIBKML reads KMZ itself
    return f"/vsizip/{path}/{data[0]}"


def _gdal_path(path: Path) -> str:
    if not path.exists():
        raise LayerImportError(_("%(file)s does not exist.") % {"file": path},
                               code="unreadable_file")
    if path.is_dir():
        shps = sorted(str(p) for p in path.iterdir() if p.suffix.lower() == ".shp")
        if not shps:
            raise LayerImportError(_("The folder %(file)s holds no shapefile (.shp).")
                                   % {"file": path}, code="unreadable_file")
        missing = _missing_parts(shps, {str(p) for p in path.iterdir()})
        if missing:
            raise LayerImportError(
                _("The shapefile in %(file)s is incomplete: %(missing)s missing.")
                % {"file": path, "missing": ", ".join(missing)}, code="shapefile_incomplete",
            )
        return shps[0] if len(shps) == 1 else str(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise LayerImportError(_("%(file)s cannot be read: %(error)s.")
                               % {"file": path, "error": exc.strerror or exc},
                               code="unreadable_file") from exc
    suffix = path.suffix.lower()
    if suffix in (".zip", ".kmz") or head.startswith(b"PK\x03\x04"):
        if suffix in (".gpkg", ".xlsx", ".ods"):
            return str(path)
        return _check_zip(path)
    if suffix == ".shp":
        siblings = {str(p) for p in path.parent.iterdir()}
        missing = _missing_parts([str(path)], siblings)
        if missing:
            raise LayerImportError(
                _("The shapefile %(file)s is incomplete: %(missing)s missing.")
                % {"file": path.name, "missing": ", ".join(missing)},
                code="shapefile_incomplete",
            )
    return str(path)


@contextmanager
def _shape_encoding(encoding: str | None) -> Iterator[None]:
    """GDAL reads the SHAPE_ENCODING option (also from the environment) when it opens a
    shapefile: the DBF's code page when the file has no .cpg (Windows-1251 is common)."""
    if not encoding:
        yield
        return
    previous = os.environ.get("SHAPE_ENCODING")
    os.environ["SHAPE_ENCODING"] = encoding
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SHAPE_ENCODING", None)
        else:
            os.environ["SHAPE_ENCODING"] = previous


def open_source(path: str | Path, *, source_layer: str | None = None,
                encoding: str | None = None) -> Source:
    """Open `path` with GDAL and pick its layer; every failure is a LayerImportError.

    `encoding` is the attribute code page of a shapefile without a .cpg file."""
    path = Path(path)
    gdal_path = _gdal_path(path)
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise LayerImportError(_("Unknown encoding %(encoding)r.") % {"encoding": encoding},
                                   code="unknown_encoding") from None
    with _capture_gdal_errors() as errors, _shape_encoding(encoding):
        try:
            datasource = DataSource(gdal_path, encoding="utf-8")
        except GDALException as exc:
            detail = "; ".join(m.split(":", 1)[-1].strip() for m in errors) or str(exc)
            raise LayerImportError(
                _("%(file)s cannot be read as a GIS file (GeoJSON, Shapefile, GeoPackage, "
                  "KML/KMZ): %(detail)s") % {"file": path.name, "detail": detail},
                code="unreadable_file",
            ) from exc
        names = [layer.name for layer in datasource]
        if not names:
            raise LayerImportError(_("%(file)s holds no layer.") % {"file": path.name},
                                   code="empty_layer")
        if source_layer:
            if source_layer not in names:
                raise LayerImportError(
                    _("%(file)s has no layer %(name)r; its layers are: %(names)s.")
                    % {"file": path.name, "name": source_layer, "names": ", ".join(names)},
                    code="unknown_source_layer",
                )
            layer = datasource[source_layer]
        elif len(names) > 1:
            raise LayerImportError(
                _("%(file)s holds several layers (%(names)s): choose one with --source-layer.")
                % {"file": path.name, "names": ", ".join(names)},
                code="several_layers",
            )
        else:
            layer = datasource[0]
        layer.srs  # noqa: B018 - some drivers resolve the CRS lazily: capture its errors here
        captured = list(errors)
    return Source(str(path), datasource, layer, captured)


def _transform_for(source: Source, srid: int | None) -> tuple[CoordTransform, SpatialReference]:
    """The transform from the file's CRS (or `--srid`) to STORAGE_SRID."""
    target = SpatialReference(settings.STORAGE_SRID)
    if srid is not None:
        try:
            srs = SpatialReference(int(srid))
        except (SRSException, GDALException, ValueError, TypeError) as exc:
            raise LayerImportError(_("--srid %(srid)s is not a known EPSG code.")
                                   % {"srid": srid}, code="unknown_srid") from exc
    else:
        crs_errors = [m for m in source.gdal_errors
                      if "crs" in m.lower() or "proj" in m.lower() or "srs" in m.lower()]
        if crs_errors:
            raise LayerImportError(
                _("The projection of %(file)s is unknown (%(detail)s). Give the right EPSG "
                  "code with --srid.") % {"file": Path(source.path).name,
                                          "detail": crs_errors[0].split(":", 1)[-1].strip()},
                code="unknown_srid",
            )
        srs = source.layer.srs
        if srs is None:
            raise LayerImportError(
                _("%(file)s does not say which projection its coordinates are in (no .prj or "
                  "CRS). Give it with --srid, e.g. --srid 4326.")
                % {"file": Path(source.path).name},
                code="missing_srid",
            )
        if srs.local:
            raise LayerImportError(
                _("%(file)s uses a local coordinate system that cannot be reprojected. Give "
                  "the real EPSG code with --srid.") % {"file": Path(source.path).name},
                code="unknown_srid",
            )
    try:
        return CoordTransform(srs, target), srs
    except (GDALException, SRSException) as exc:
        raise LayerImportError(
            _("The projection of %(file)s cannot be transformed to EPSG:%(target)s. Give the "
              "right EPSG code with --srid.") % {"file": Path(source.path).name,
                                                  "target": settings.STORAGE_SRID},
            code="unknown_srid",
        ) from exc


# --- Geometry -----------------------------------------------------------------------------

POLYGONAL, POINT, ANY = "polygonal", "point", "any"


def _polygonal_part(geom: GEOSGeometry) -> MultiPolygon | None:
    """The polygons of `geom` as a MultiPolygon; None when it holds no area."""
    polygons = []
    stack = [geom]
    while stack:
        g = stack.pop()
        if g.geom_type == "Polygon":
            if not g.empty and g.area > 0:
                polygons.append(g)
        elif g.geom_type in ("MultiPolygon", "GeometryCollection"):
            stack.extend(reversed(list(g)))
    if not polygons:
        return None
    return MultiPolygon(*[p.clone() for p in polygons], srid=geom.srid)


def _feature_geometry(feature) -> OGRGeometry | None:
    try:
        return feature.geom
    except GDALException:  # a feature without geometry: OGR gives a NULL pointer
        return None


def _is_valid(geom: GEOSGeometry) -> tuple[bool, str]:
    reason = geom.valid_reason
    return reason == "Valid Geometry", reason


def clean_geometry(ogr: OGRGeometry | None, transform: CoordTransform, *, shape: str,
                   geographic_source: bool) -> tuple[GEOSGeometry, str | None]:
    """Reproject, check the type and repair one feature's geometry.

    Returns (geometry in STORAGE_SRID, repair note or None); raises _FeatureProblem.
    """
    if ogr is None:
        raise _FeatureProblem(_("it has no geometry."))
    if ogr.is_3d:
        ogr.set_3d(False)
    if ogr.is_measured:
        ogr.set_measured(False)
    type_name = str(ogr.geom_type)
    if shape == POLYGONAL and type_name.upper() not in (
        "POLYGON", "MULTIPOLYGON", "GEOMETRYCOLLECTION"
    ):
        raise _FeatureProblem(_("its geometry is a %(type)s; this layer needs polygons.")
                              % {"type": type_name})
    if shape == POINT and type_name.upper() not in ("POINT", "MULTIPOINT"):
        raise _FeatureProblem(_("its geometry is a %(type)s; this layer needs points.")
                              % {"type": type_name})
    if geographic_source and not ogr.empty:
        x1, y1, x2, y2 = ogr.extent
        if not (-180 <= x1 <= 180 and -180 <= x2 <= 180 and -90 <= y1 <= 90 and -90 <= y2 <= 90):
            raise _FeatureProblem(
                _("its coordinates (%(x).0f, %(y).0f) are not degrees; the file's projection "
                  "is wrong: give the right one with --srid.") % {"x": x1, "y": y1})
    try:
        ogr.transform(transform)
        geom = GEOSGeometry(memoryview(ogr.wkb), srid=settings.STORAGE_SRID)
    except (GDALException, GEOSException, ValueError) as exc:
        raise _FeatureProblem(_("its geometry cannot be reprojected (%(error)s).")
                              % {"error": exc}) from exc
    if geom.empty:
        raise _FeatureProblem(_("its geometry is empty."))
    note = None
    if shape == POLYGONAL:
        valid, reason = _is_valid(geom)
        if not valid:
            repaired = geom.make_valid()
            polygons = _polygonal_part(repaired)
            if polygons is None:
                raise _FeatureProblem(
                    _("its polygon is invalid (%(reason)s) and cannot be repaired: MakeValid "
                      "leaves a %(type)s with no area.")
                    % {"reason": reason, "type": repaired.geom_type})
            note = reason
            geom = polygons
        else:
            polygons = _polygonal_part(geom)
            if polygons is None:
                raise _FeatureProblem(_("its polygon has no area."))
            geom = polygons
        if geom.area < MIN_POLYGON_AREA_M2:
            # Valid only by rounding: e.g. collinear vertices bent by the reprojection.
            raise _FeatureProblem(
                _("its polygon collapses to a line (area %(area).3g m²) and cannot be "
                  "repaired.") % {"area": geom.area})
        geom.srid = settings.STORAGE_SRID
    elif shape == POINT:
        if geom.geom_type == "MultiPoint":
            if len(geom) != 1:
                raise _FeatureProblem(_("it is a MultiPoint of %(n)d points; an address is one "
                                        "point.") % {"n": len(geom)})
            geom = Point(geom[0].x, geom[0].y, srid=settings.STORAGE_SRID)
    elif geom.geom_type in ("Polygon", "MultiPolygon"):
        valid, reason = _is_valid(geom)
        if not valid:
            repaired = _polygonal_part(geom.make_valid())
            if repaired is None:
                raise _FeatureProblem(
                    _("its polygon is invalid (%(reason)s) and cannot be repaired.")
                    % {"reason": reason})
            geom, note = repaired, reason
    return geom, note


