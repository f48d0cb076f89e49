"""Import map layers from GIS files through GDAL: GeoJSON, Shapefile, GeoPackage, KML/KMZ.

`layer_import()` is the one entry point; `manage.py import_layer` and the admin upload page
both call it. The whole import is one transaction: every feature is checked, and if any is
refused nothing is written and `LayerImportError` lists the problems, naming the features.

Features are streamed from OGR one at a time and written with `bulk_create` in batches, so
memory stays flat however large the file is. Geometries are reprojected to STORAGE_SRID,
invalid polygons are repaired with MakeValid (or refused when MakeValid cannot keep an area),
polygons are promoted to multipolygons, and geometry types that do not fit the layer are
refused.

After a committed import of a layer that routing reads (service area, responsibility areas,
hazard zones), open reports no person has touched are re-routed by a Celery task; the
changed layer's tile cache version is bumped.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
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
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from geocity.errors import ValidationFailed

from .models import (
    AddressPoint,
    Department,
    District,
    HazardZone,
    InfrastructureFeature,
    InfrastructureLayer,
    ResponsibilityArea,
    ServiceArea,
)

logger = logging.getLogger(__name__)

LAYERS = ("service-area", "districts", "responsibility", "hazard", "infrastructure", "addresses")

BATCH_SIZE = 500
PROGRESS_MIN_FEATURES = 1000
MAX_LISTED_PROBLEMS = 20
# A polygon smaller than this (in the metric storage SRID) is a sliver, not an area.
MIN_POLYGON_AREA_M2 = 1.0
SHAPEFILE_PARTS = (".shx", ".dbf")
DATA_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".kmz")
# Housekeeping fields the LIBKML driver adds to every layer: not attributes of a feature.
KML_HOUSEKEEPING = frozenset({
    "description", "timestamp", "begin", "end", "altitudemode", "tessellate", "extrude",
    "visibility", "draworder", "icon", "snippet",
})


class LayerImportError(ValidationFailed):
    """The file cannot be imported; `problems` names each refused feature or setting."""

    code = "layer_import_failed"

    def __init__(self, message: str, *, problems: list[str] | None = None,
                 code: str | None = None) -> None:
        self.problems = list(problems or [])
        text = message if not self.problems else message + "\n" + "\n".join(
            f"  - {p}" for p in self.problems
        )
        super().__init__(text, code=code, fields={"file": [message, *self.problems]})
        self.summary_message = message


class _FeatureProblem(Exception):
    """One feature is refused; collected, then raised together as LayerImportError."""


# --- Field mapping ------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A model value a file field can be mapped to. `aliases` are default source names."""

    name: str
    help: str
    required: bool = False
    aliases: tuple[str, ...] = ()

    def defaults(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


_NAME = Target("name", "name (Ukrainian)", aliases=("name_uk", "назва"))
_NAME_EN = Target("name_en", "name (English)")
_CODE = Target("code", "code (КАТОТТГ for a service area)", aliases=("katottg",))

TARGETS: dict[str, tuple[Target, ...]] = {
    "service-area": (_NAME, _NAME_EN, _CODE),
    "districts": (Target("code", "unique district code", required=True), _NAME, _NAME_EN),
    "responsibility": (
        Target("department", "department code", required=True,
               aliases=("department_code", "dept")),
        _NAME,
        Target("categories", "comma list of service codes; empty for every category",
               aliases=("service_codes",)),
        Target("priority", "integer; higher wins where areas overlap"),
        Target("valid_from", "date (YYYY-MM-DD)"),
        Target("valid_to", "date (YYYY-MM-DD)"),
        Target("department_name", "name of a department created by --create-departments"),
    ),
    "hazard": (
        _NAME,
        Target("external_id", "identifier in the source register", aliases=("id", "zone_id")),
        Target("kind", "SHA, CHA, cancelled or cleared (or give --kind)"),
        Target("status", "open or closed"),
        Target("eo_types", "comma list: landmine, uxo, axo, cluster, ied"),
        Target("source_org", "surveying organisation", aliases=("organisation", "org")),
        Target("survey_date", "date (YYYY-MM-DD)"),
        Target("marking", "marking method"),
        Target("public", "true/false: shown to the public"),
    ),
    "infrastructure": (
        _NAME,
        Target("kind", "feature kind (or give --kind)"),
        Target("shelter_type", "shelter type (Civil Protection Code art. 32)"),
        Target("address", "address"),
        Target("sensitivity", "public or restricted"),
    ),
    "addresses": (
        Target("street", "street name (Ukrainian)", required=True, aliases=("street_uk", "вулиця")),
        Target("street_en", "street name (English)"),
        Target("house_number", "house number", aliases=("housenumber", "house", "number")),
    ),
}


def parse_field_map(pairs: list[str] | None) -> dict[str, str]:
    """`["name=NAZVA", "department=DEPT"]` -> {"name": "NAZVA", ...}; a clear error otherwise."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        target, sep, source = pair.partition("=")
        target, source = target.strip(), source.strip()
        if not sep or not target or not source:
            raise LayerImportError(
                _("--field-map expects target=source, got %(pair)r.") % {"pair": pair},
                code="invalid_field_map",
            )
        mapping[target] = source
    return mapping


def _resolve_fields(layer: str, fields: list[str], explicit: dict[str, str]) -> dict[str, str]:
    """Target -> source field of the file. Explicit mappings must exist in the file."""
    targets = {t.name: t for t in TARGETS[layer]}
    unknown = sorted(set(explicit) - set(targets))
    if unknown:
        raise LayerImportError(
            _("Unknown --field-map target %(names)s for the %(layer)s layer; valid targets: "
              "%(valid)s.") % {"names": ", ".join(unknown), "layer": layer,
                              "valid": ", ".join(targets)},
            code="invalid_field_map",
        )
    by_lower = {f.lower(): f for f in fields}
    available = ", ".join(fields) or _("(none)")
    resolved: dict[str, str] = {}
    for name, source in explicit.items():
        actual = source if source in fields else by_lower.get(source.lower())
        if actual is None:
            raise LayerImportError(
                _("The mapped field %(source)r (for %(target)s) is not in the file; its fields "
                  "are: %(available)s.") % {"source": source, "target": name,
                                            "available": available},
                code="missing_field",
            )
        resolved[name] = actual
    for target in TARGETS[layer]:
        if target.name in resolved:
            continue
        for candidate in target.defaults():
            if candidate.lower() in by_lower:
                resolved[target.name] = by_lower[candidate.lower()]
                break
        else:
            if target.required:
                raise LayerImportError(
                    _("The %(layer)s layer needs a %(target)s field (%(help)s). Map it with "
                      "--field-map %(target)s=FIELD; the file's fields are: %(available)s.")
                    % {"layer": layer, "target": target.name, "help": target.help,
                       "available": available},
                    code="missing_field",
                )
    return resolved


# --- Value parsing ------------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: Any, target: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    raise _FeatureProblem(_("%(target)s %(value)r is not a date (YYYY-MM-DD).")
                          % {"target": target, "value": text})


def _int(value: Any, target: str, default: int = 0) -> int:
    if value in (None, ""):
        return default
    try:
        number = float(_text(value))
    except ValueError:
        raise _FeatureProblem(_("%(target)s %(value)r is not a number.")
                              % {"target": target, "value": value}) from None
    if not number.is_integer():
        raise _FeatureProblem(_("%(target)s %(value)r is not a whole number.")
                              % {"target": target, "value": value})
    return int(number)


TRUE_WORDS = {"1", "true", "t", "yes", "y", "так", "on", "public"}
FALSE_WORDS = {"0", "false", "f", "no", "n", "ні", "off", "restricted", "private"}


def _bool(value: Any, target: str, default: bool) -> bool:
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise _FeatureProblem(_("%(target)s %(value)r is not true or false.")
                          % {"target": target, "value": value})


def _split(value: Any) -> list[str]:
    text = _text(value).strip("[]{}")
    return [part.strip().strip("'\"") for part in re.split(r"[,;]", text) if part.strip()]


def _choice(value: str, choices, target: str) -> str:
    """Match `value` to a TextChoices value case-insensitively; a clear error otherwise."""
    lookup = {v.lower(): v for v in choices.values}
    found = lookup.get(value.strip().lower())
    if found is None:
        raise _FeatureProblem(_("%(target)s %(value)r is not one of %(valid)s.")
                              % {"target": target, "value": value,
                                 "valid": ", ".join(choices.values)})
    return found


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


# --- Writers: one per layer ---------------------------------------------------------------

@dataclass
class ImportSummary:
    layer: str
    source: str
    driver: str = ""
    source_layer: str = ""
    source_srs: str = ""
    features: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    repaired: list[str] = field(default_factory=list)  # the first MAX_LISTED_PROBLEMS
    repaired_count: int = 0
    created_departments: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    reroute_scheduled: bool = False

    def lines(self) -> list[str]:
        head = _("Dry run: nothing was written.") if self.dry_run else _("Imported.")
        lines = [
            head,
            _("Source: %(source)s (%(driver)s, layer %(layer)s, %(srs)s)")
            % {"source": Path(self.source).name, "driver": self.driver,
               "layer": self.source_layer, "srs": self.source_srs},
            _("Target layer: %(layer)s") % {"layer": self.layer},
            _("Fields: %(fields)s") % {"fields": ", ".join(
                f"{t}={s}" for t, s in self.fields.items()) or "-"},
            _("Features read: %(n)d") % {"n": self.features},
        ]
        verb = _("would be") if self.dry_run else _("were")
        lines.append(_("%(n)d created, %(u)d updated, %(d)d deleted (%(verb)s).")
                     % {"n": self.created, "u": self.updated, "d": self.deleted, "verb": verb})
        if self.repaired_count:
            more = self.repaired_count - len(self.repaired)
            lines.append(_("Repaired invalid geometries (MakeValid): %(n)d: %(list)s")
                         % {"n": self.repaired_count, "list": ", ".join(self.repaired)}
                         + (f" (+{more})" if more > 0 else ""))
        if self.created_departments:
            lines.append(_("New departments: %(codes)s")
                         % {"codes": ", ".join(self.created_departments)})
        if self.reroute_scheduled:
            lines.append(_("Open reports no one has touched will be re-routed."))
        return lines


@dataclass
class ImportOptions:
    layer: str
    kind: str | None = None
    field_map: dict[str, str] = field(default_factory=dict)
    srid: int | None = None
    replace: bool = False
    dry_run: bool = False
    create_departments: bool = False
    source_layer: str | None = None
    infrastructure_layer: str | None = None


class _Writer(ABC):
    """Turns one layer's features into rows; a subclass per layer says how (`build`)."""

    shape = POLYGONAL
    model: type

    def __init__(self, options: ImportOptions, summary: ImportSummary,
                 fields: dict[str, str], all_fields: list[str]) -> None:
        self.options = options
        self.summary = summary
        self.fields = fields
        self.all_fields = all_fields

    def prepare(self) -> None:
        """Checks that need the database, and the --replace deletion."""
        if self.options.replace:
            self.summary.deleted += self.replace_queryset().delete()[1].get(
                self.model._meta.label, 0)

    def replace_queryset(self):
        return self.model.objects.all()

    def value(self, feature, target: str) -> Any:
        source = self.fields.get(target)
        if source is None:
            return None
        return feature.get(source)

    def label(self, feature) -> str:
        name = _text(self.value(feature, "name") or self.value(feature, "code")
                     or self.value(feature, "street"))
        return f"#{feature.fid}" + (f" «{name}»" if name else "")

    @abstractmethod
    def build(self, feature, geom: GEOSGeometry) -> Any:
        """The unsaved model instance for one valid feature (geometry in the storage SRID)."""

    def flush(self, items: list) -> None:
        self.model.objects.bulk_create(items)
        self.summary.created += len(items)

    def finish(self) -> None:  # noqa: B027 - an optional hook; most writers need nothing
        """After the last batch (the district writer drops stale rows here on --replace)."""


class _ServiceAreaWriter(_Writer):
    model = ServiceArea

    def build(self, feature, geom):
        name = _text(self.value(feature, "name")) or _("Service area")
        return ServiceArea(name_uk=name[:200], name_en=_text(self.value(feature, "name_en"))[:200],
                           code=_text(self.value(feature, "code"))[:32], geometry=geom)


class _DistrictWriter(_Writer):
    """Districts are upserted by code (reports keep their district); --replace also deletes
    the districts the file no longer has."""

    model = District

    def prepare(self) -> None:
        self.seen: set[str] = set()

    def build(self, feature, geom):
        code = _text(self.value(feature, "code"))
        if not code:
            raise _FeatureProblem(_("its code is empty."))
        if len(code) > 32:
            raise _FeatureProblem(_("its code %(code)r is longer than 32 characters.")
                                  % {"code": code})
        if code in self.seen:
            raise _FeatureProblem(_("the code %(code)r appears twice in the file.")
                                  % {"code": code})
        self.seen.add(code)
        name = _text(self.value(feature, "name")) or code
        return District(code=code, name_uk=name[:200],
                        name_en=_text(self.value(feature, "name_en"))[:200], geometry=geom)

    def flush(self, items):
        codes = [d.code for d in items]
        existing = District.objects.filter(code__in=codes).count()
        District.objects.bulk_create(
            items, update_conflicts=True, unique_fields=["code"],
            update_fields=["name_uk", "name_en", "geometry"],
        )
        self.summary.updated += existing
        self.summary.created += len(items) - existing

    def finish(self):
        if self.options.replace:
            stale = District.objects.exclude(code__in=self.seen)
            self.summary.deleted += stale.delete()[1].get(District._meta.label, 0)


SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


class _ResponsibilityWriter(_Writer):
    model = ResponsibilityArea

    def prepare(self) -> None:
        super().prepare()
        from issues.models import Category

        self.departments = dict(Department.objects.values_list("code", "id"))
        self.categories = dict(Category.objects.values_list("service_code", "id"))
        self.through = ResponsibilityArea.categories.through

    def _department(self, feature) -> int:
        code = _text(self.value(feature, "department"))
        if not code:
            raise _FeatureProblem(_("its department code is empty."))
        if code in self.departments:
            return self.departments[code]
        if not self.options.create_departments:
            raise _FeatureProblem(
                _("the department %(code)r does not exist (create it first, or import with "
                  "--create-departments).") % {"code": code})
        if len(code) > 64 or not SLUG.match(code):
            raise _FeatureProblem(_("the department code %(code)r is not a valid code (letters, "
                                    "digits, - and _).") % {"code": code})
        name = _text(self.value(feature, "department_name")) or code
        department = Department.objects.create(code=code, name_uk=name[:200])
        self.departments[code] = department.pk
        self.summary.created_departments.append(code)
        return department.pk

    def build(self, feature, geom):
        department_id = self._department(feature)
        codes = _split(self.value(feature, "categories"))
        unknown = [c for c in codes if c not in self.categories]
        if unknown:
            raise _FeatureProblem(_("unknown category service code(s): %(codes)s.")
                                  % {"codes": ", ".join(unknown)})
        valid_from = _date(self.value(feature, "valid_from"), "valid_from")
        valid_to = _date(self.value(feature, "valid_to"), "valid_to")
        if valid_from and valid_to and valid_to < valid_from:
            raise _FeatureProblem(_("valid_to %(to)s is before valid_from %(from)s.")
                                  % {"to": valid_to, "from": valid_from})
        area = ResponsibilityArea(
            department_id=department_id,
            name=_text(self.value(feature, "name"))[:200],
            priority=_int(self.value(feature, "priority"), "priority"),
            valid_from=valid_from, valid_to=valid_to, geometry=geom,
        )
        return area, sorted({self.categories[c] for c in codes})

    def flush(self, items):
        areas = ResponsibilityArea.objects.bulk_create([a for a, _c in items])
        links = [
            self.through(responsibilityarea_id=area.pk, category_id=category_id)
            for area, (_a, category_ids) in zip(areas, items, strict=True)
            for category_id in category_ids
        ]
        self.through.objects.bulk_create(links)
        self.summary.created += len(areas)


class _HazardWriter(_Writer):
    model = HazardZone

    def prepare(self) -> None:
        if self.options.kind:
            self.default_kind = _choice(self.options.kind, HazardZone.Kind, "--kind")
        elif "kind" not in self.fields:
            raise LayerImportError(
                _("Hazard zones need a kind: give --kind (%(valid)s) or map a kind field with "
                  "--field-map kind=FIELD.") % {"valid": ", ".join(HazardZone.Kind.values)},
                code="missing_kind",
            )
        else:
            self.default_kind = None
        super().prepare()

    def build(self, feature, geom):
        raw_kind = _text(self.value(feature, "kind"))
        if raw_kind:
            kind = _choice(raw_kind, HazardZone.Kind, "kind")
        elif self.default_kind:
            kind = self.default_kind
        else:
            raise _FeatureProblem(_("its kind is empty (give a default with --kind)."))
        raw_status = _text(self.value(feature, "status"))
        status = (_choice(raw_status, HazardZone.Status, "status") if raw_status
                  else HazardZone.Status.OPEN)
        eo_types = [_choice(t, HazardZone.EOType, "eo_types")
                    for t in _split(self.value(feature, "eo_types"))]
        external_id = _text(self.value(feature, "external_id"))
        name = _text(self.value(feature, "name")) or external_id or f"{kind} #{feature.fid}"
        return HazardZone(
            name=name[:200], external_id=external_id[:64], kind=kind, status=status,
            eo_types=sorted(set(eo_types)),
            source_org=_text(self.value(feature, "source_org"))[:200],
            survey_date=_date(self.value(feature, "survey_date"), "survey_date"),
            marking=_text(self.value(feature, "marking"))[:200],
            public=_bool(self.value(feature, "public"), "public", True),
            geometry=geom,
        )


class _InfrastructureWriter(_Writer):
    shape = ANY
    model = InfrastructureFeature

    def prepare(self) -> None:
        kind = self.options.kind
        self.default_kind = _choice(kind, InfrastructureFeature.Kind, "--kind") if kind else None
        if self.default_kind is None and "kind" not in self.fields:
            raise LayerImportError(
                _("Infrastructure features need a kind: give --kind (%(valid)s) or map a kind "
                  "field.") % {"valid": ", ".join(InfrastructureFeature.Kind.values)},
                code="missing_kind",
            )
        code = self.options.infrastructure_layer or self.default_kind
        if not code:
            raise LayerImportError(
                _("Name the infrastructure layer to import into with --infrastructure-layer "
                  "CODE."), code="missing_infrastructure_layer")
        if not SLUG.match(code):
            raise LayerImportError(_("%(code)r is not a valid layer code.") % {"code": code},
                                   code="invalid_infrastructure_layer")
        label = (InfrastructureFeature.Kind(self.default_kind).label
                 if self.default_kind else code)
        self.target, _created = InfrastructureLayer.objects.get_or_create(
            code=code, defaults={"name_uk": str(label), "name_en": str(label)})
        used = set(self.fields.values())
        housekeeping = KML_HOUSEKEEPING if "KML" in self.summary.driver.upper() else set()
        self.extra = [f for f in self.all_fields
                      if f not in used and f.lower() not in housekeeping]
        super().prepare()

    def replace_queryset(self):
        return InfrastructureFeature.objects.filter(layer=self.target)

    def build(self, feature, geom):
        raw_kind = _text(self.value(feature, "kind"))
        kind = (_choice(raw_kind, InfrastructureFeature.Kind, "kind") if raw_kind
                else self.default_kind)
        if not kind:
            raise _FeatureProblem(_("its kind is empty (give a default with --kind)."))
        raw_shelter = _text(self.value(feature, "shelter_type"))
        shelter = (_choice(raw_shelter, InfrastructureFeature.ShelterType, "shelter_type")
                   if raw_shelter else "")
        raw_sensitivity = _text(self.value(feature, "sensitivity"))
        sensitivity = (_choice(raw_sensitivity, InfrastructureFeature.Sensitivity, "sensitivity")
                       if raw_sensitivity else InfrastructureFeature.Sensitivity.PUBLIC)
        attributes = {}
        for name in self.extra:
            value = feature.get(name)
            if value in (None, ""):
                continue
            if isinstance(value, date | datetime):
                value = value.isoformat()
            attributes[name] = value
        return InfrastructureFeature(
            layer=self.target, kind=kind, name=_text(self.value(feature, "name"))[:200],
            shelter_type=shelter, address=_text(self.value(feature, "address"))[:300],
            sensitivity=sensitivity, attributes=attributes, geometry=geom,
        )


class _AddressWriter(_Writer):
    shape = POINT
    model = AddressPoint

    def build(self, feature, geom):
        street = _text(self.value(feature, "street"))
        if not street:
            raise _FeatureProblem(_("its street is empty."))
        street_en = _text(self.value(feature, "street_en"))
        house = _text(self.value(feature, "house_number"))
        search = f"{street} {house} {street_en} {house}" if street_en else f"{street} {house}"
        return AddressPoint(street_uk=street[:200], street_en=street_en[:200],
                            house_number=house[:32], search_text=search.lower().strip()[:500],
                            location=geom)


WRITERS: dict[str, type[_Writer]] = {
    "service-area": _ServiceAreaWriter,
    "districts": _DistrictWriter,
    "responsibility": _ResponsibilityWriter,
    "hazard": _HazardWriter,
    "infrastructure": _InfrastructureWriter,
    "addresses": _AddressWriter,
}


# --- The import ---------------------------------------------------------------------------

def _check_options(options: ImportOptions) -> None:
    if options.layer not in LAYERS:
        raise LayerImportError(_("Unknown layer %(layer)r; choose one of %(valid)s.")
                               % {"layer": options.layer, "valid": ", ".join(LAYERS)},
                               code="unknown_layer")
    if options.kind and options.layer not in ("hazard", "infrastructure"):
        raise LayerImportError(
            _("--kind applies to the hazard and infrastructure layers only."),
            code="unknown_kind")
    if options.kind:
        choices = HazardZone.Kind if options.layer == "hazard" else InfrastructureFeature.Kind
        try:
            _choice(options.kind, choices, "--kind")
        except _FeatureProblem as exc:
            raise LayerImportError(str(exc), code="unknown_kind") from None


def layer_import(
    path: str | Path,
    *,
    layer: str,
    kind: str | None = None,
    field_map: dict[str, str] | None = None,
    srid: int | None = None,
    replace: bool = False,
    dry_run: bool = False,
    create_departments: bool = False,
    source_layer: str | None = None,
    infrastructure_layer: str | None = None,
    encoding: str | None = None,
    progress: Callable[[int | None], Any] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Import the features of `path` into `layer`, all or nothing.

    `progress(total)` may return a tqdm-like object (update(n), close()) for a progress bar.
    Raises LayerImportError (a ValidationFailed) with every problem found; nothing is written.
    """
    options = ImportOptions(layer=layer, kind=kind, field_map=dict(field_map or {}), srid=srid,
                            replace=replace, dry_run=dry_run,
                            create_departments=create_departments, source_layer=source_layer,
                            infrastructure_layer=infrastructure_layer)
    _check_options(options)
    source = open_source(path, source_layer=source_layer, encoding=encoding)
    gdal_layer = source.layer
    total = gdal_layer.num_feat
    if total == 0:
        raise LayerImportError(_("%(file)s: the layer %(layer)s is empty (no features).")
                               % {"file": Path(source.path).name, "layer": gdal_layer.name},
                               code="empty_layer")
    all_fields = list(gdal_layer.fields)
    fields = _resolve_fields(layer, all_fields, options.field_map)
    transform, srs = _transform_for(source, srid)
    summary = ImportSummary(
        layer=layer, source=str(path), driver=source.driver, source_layer=gdal_layer.name,
        source_srs=f"EPSG:{srs.srid}" if srs.srid else (srs.name or "?"), fields=fields,
        dry_run=dry_run,
    )
    writer = WRITERS[layer](options, summary, fields, all_fields)
    geographic = bool(srs.geographic)
    problems: list[str] = []
    problem_count = 0
    bar = progress(total if total and total > 0 else None) if progress else None
    try:
        with transaction.atomic():
            writer.prepare()
            batch: list = []
            for feature in gdal_layer:
                summary.features += 1
                if bar is not None:
                    bar.update(1)
                try:
                    geom, note = clean_geometry(_feature_geometry(feature),
                                                transform, shape=writer.shape,
                                                geographic_source=geographic)
                    item = writer.build(feature, geom)
                except UnicodeDecodeError as exc:
                    raise LayerImportError(
                        _("Feature #%(fid)s has text that is not UTF-8 (%(error)s). Give the "
                          "file's code page with --encoding, e.g. CP1251 (a shapefile without "
                          "a .cpg file).") % {"fid": feature.fid, "error": exc.reason},
                        code="wrong_encoding",
                    ) from None
                except _FeatureProblem as exc:
                    problem_count += 1
                    if len(problems) < MAX_LISTED_PROBLEMS:
                        problems.append(_("feature %(label)s: %(problem)s")
                                        % {"label": writer.label(feature), "problem": exc})
                    continue
                if note:
                    summary.repaired_count += 1
                    if len(summary.repaired) < MAX_LISTED_PROBLEMS:  # memory stays flat
                        summary.repaired.append(f"{writer.label(feature)} ({note})")
                if problem_count:
                    continue  # keep checking, stop writing
                batch.append(item)
                if len(batch) >= batch_size:
                    writer.flush(batch)
                    batch = []
            if summary.features == 0:
                raise LayerImportError(_("%(file)s: the layer is empty (no features).")
                                       % {"file": Path(source.path).name},
                                       code="empty_layer")
            if problem_count:
                more = problem_count - len(problems)
                if more > 0:
                    problems.append(_("… and %(n)d more.") % {"n": more})
                raise LayerImportError(
                    _("%(n)d of %(total)d features were refused; nothing was imported.")
                    % {"n": problem_count, "total": summary.features},
                    problems=problems, code="invalid_features",
                )
            if batch:
                writer.flush(batch)
            writer.finish()
            if dry_run:
                transaction.set_rollback(True)
            else:
                _schedule_side_effects(layer, summary)
    except IntegrityError as exc:
        raise LayerImportError(_("The database refused the import: %(error)s")
                               % {"error": str(exc).splitlines()[0]},
                               code="integrity_error") from exc
    finally:
        if bar is not None:
            bar.close()
    return summary


def _schedule_side_effects(layer: str, summary: ImportSummary) -> None:
    from .services import layer_changed

    summary.reroute_scheduled = layer_changed(layer=layer)
