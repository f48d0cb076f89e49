"""Export map layers to GeoJSON and GeoPackage, in the shape `layers.importing` reads back.

GeoJSON is written here, streamed from the database (ST_AsGeoJSON does the geometry, in WGS 84
by RFC 7946 unless another SRID is asked for). A GeoPackage is made from such a GeoJSON in
the storage SRID by GDAL's `ogr2ogr` (gdal-bin), the tool made for it; no SQL is formatted
and no connection string leaves the process.

Property names are the import targets (`name`, `department`, `categories`, ...), so an
exported file re-imports with no --field-map.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import F, OuterRef, QuerySet
from django.utils.translation import gettext as _

from geocity.errors import ValidationFailed

from .importing import LAYERS
from .models import (
    AddressPoint,
    District,
    HazardZone,
    InfrastructureFeature,
    ResponsibilityArea,
    ServiceArea,
)

FORMATS = ("geojson", "gpkg")
CHUNK = 1000
GPKG_TYPES = {"infrastructure": "GEOMETRY", "addresses": "POINT"}


class LayerExportError(ValidationFailed):
    code = "layer_export_failed"


@dataclass(frozen=True)
class LayerSpec:
    model: type
    geometry: str
    table: str  # layer name inside the written file
    fields: dict[str, Any]  # property -> model field name or expression


def _specs() -> dict[str, LayerSpec]:
    through = ResponsibilityArea.categories.through
    return {
        "service-area": LayerSpec(ServiceArea, "geometry", "service_area", {
            "name": F("name_uk"), "name_en": F("name_en"), "code": F("code")}),
        "districts": LayerSpec(District, "geometry", "districts", {
            "code": F("code"), "name": F("name_uk"), "name_en": F("name_en")}),
        "responsibility": LayerSpec(ResponsibilityArea, "geometry", "responsibility", {
            "department": F("department__code"),
            "department_name": F("department__name_uk"),
            "name": F("name"),
            "categories": ArraySubquery(
                through.objects.filter(responsibilityarea_id=OuterRef("pk"))
                .order_by("category__service_code").values("category__service_code")
            ),
            "priority": F("priority"),
            "valid_from": F("valid_from"),
            "valid_to": F("valid_to"),
        }),
        "hazard": LayerSpec(HazardZone, "geometry", "hazard_zones", {
            "name": F("name"), "external_id": F("external_id"), "kind": F("kind"),
            "status": F("status"), "eo_types": F("eo_types"), "source_org": F("source_org"),
            "survey_date": F("survey_date"), "marking": F("marking"), "public": F("public"),
            "is_demo": F("is_demo"),
        }),
        "infrastructure": LayerSpec(InfrastructureFeature, "geometry", "infrastructure", {
            "name": F("name"), "kind": F("kind"), "shelter_type": F("shelter_type"),
            "address": F("address"), "sensitivity": F("sensitivity"),
            "attributes": F("attributes"),
        }),
        "addresses": LayerSpec(AddressPoint, "location", "addresses", {
            "street": F("street_uk"), "street_en": F("street_en"),
            "house_number": F("house_number")}),
    }


def layer_queryset(layer: str, *, kind: str | None = None,
                   infrastructure_layer: str | None = None,
                   public_only: bool = False) -> QuerySet:
    """The rows of `layer` to export; `public_only` leaves out what the public may not see."""
    if layer not in LAYERS:
        raise LayerExportError(_("Unknown layer %(layer)r; choose one of %(valid)s.")
                               % {"layer": layer, "valid": ", ".join(LAYERS)},
                               code="unknown_layer")
    qs = _specs()[layer].model.objects.all()
    if layer == "hazard":
        if kind:
            qs = qs.filter(kind__iexact=kind)
        if public_only:
            qs = qs.filter(public=True)
    elif layer == "infrastructure":
        if kind:
            qs = qs.filter(kind=kind)
        if infrastructure_layer:
            qs = qs.filter(layer__code=infrastructure_layer)
        if public_only:
            qs = qs.filter(sensitivity=InfrastructureFeature.Sensitivity.PUBLIC)
    elif kind:
        raise LayerExportError(_("--kind applies to the hazard and infrastructure layers only."),
                               code="unknown_kind")
    return qs.order_by("pk")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _properties(layer: str, row: dict) -> dict:
    props = {key: _plain(value) for key, value in row.items()
             if key not in ("geojson", "attributes")}
    if layer in ("responsibility", "hazard"):
        key = "categories" if layer == "responsibility" else "eo_types"
        props[key] = ",".join(props.get(key) or [])
    if layer == "infrastructure":
        for key, value in (row.get("attributes") or {}).items():
            name = key if key not in props else f"attr_{key}"
            props[name] = value if not isinstance(value, dict | list) else json.dumps(
                value, ensure_ascii=False)
    return props


def _rows(layer: str, qs: QuerySet, srid: int) -> Iterator[dict]:
    spec = _specs()[layer]
    geometry = F(spec.geometry)
    if srid != settings.STORAGE_SRID:
        geometry = Transform(spec.geometry, srid)
    precision = 8 if srid == settings.API_SRID else 3  # ~1 mm either way
    # Aliased: annotations may not reuse a model field's name ("name", "kind").
    aliases = {f"p_{key}": expr for key, expr in spec.fields.items()}
    rows = qs.values(**aliases, p_geojson=AsGeoJSON(geometry, precision=precision))
    for row in rows.iterator(chunk_size=CHUNK):
        yield {key[2:]: value for key, value in row.items()}


def write_geojson(fh: IO[str], layer: str, qs: QuerySet, *, srid: int | None = None) -> int:
    """Stream `qs` as a GeoJSON FeatureCollection to `fh`; returns the feature count.

    WGS 84 (RFC 7946) by default; another SRID is named in a `crs` member, which GDAL reads.
    """
    srid = srid or settings.API_SRID
    spec = _specs()[layer]
    head: dict[str, Any] = {"type": "FeatureCollection", "name": spec.table}
    if srid != settings.API_SRID:
        head["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{srid}"}}
    fh.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [\n')
    count = 0
    for row in _rows(layer, qs, srid):
        feature = {"type": "Feature", "properties": _properties(layer, row)}
        text = json.dumps(feature, ensure_ascii=False)[:-1]
        fh.write(("" if count == 0 else ",\n") + text + ', "geometry": ' + row["geojson"] + "}")
        count += 1
    fh.write("\n]}\n")
    return count


def _ogr2ogr() -> str:
    tool = shutil.which("ogr2ogr")
    if tool is None:
        raise LayerExportError(_("ogr2ogr (gdal-bin) is not installed: GeoPackage export needs "
                                 "it."), code="ogr2ogr_missing")
    return tool


def write_gpkg(output: Path, layer: str, qs: QuerySet) -> int:
    """A GeoPackage of `qs` in the storage SRID, made by ogr2ogr from a streamed GeoJSON."""
    tool = _ogr2ogr()
    spec = _specs()[layer]
    with tempfile.TemporaryDirectory(prefix="geocity-export-") as tmp:
        source = Path(tmp) / f"{spec.table}.geojson"
        with source.open("w", encoding="utf-8") as fh:
            count = write_geojson(fh, layer, qs, srid=settings.STORAGE_SRID)
        target = Path(tmp) / "out.gpkg"
        result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [tool, "-f", "GPKG", str(target), str(source), "-nln", spec.table,
             "-a_srs", f"EPSG:{settings.STORAGE_SRID}",
             "-nlt", GPKG_TYPES.get(layer, "MULTIPOLYGON")],
            capture_output=True, text=True, timeout=3600, check=False,
        )
        if result.returncode != 0:
            raise LayerExportError(_("ogr2ogr failed: %(error)s")
                                   % {"error": result.stderr.strip()[-2000:]},
                                   code="ogr2ogr_failed")
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(target), str(output))
    return count


def layer_export(output: str | os.PathLike, *, layer: str, fmt: str,
                 queryset: QuerySet | None = None, kind: str | None = None,
                 infrastructure_layer: str | None = None, public_only: bool = False,
                 srid: int | None = None) -> int:
    """Write `layer` (or `queryset` of it) to `output` as GeoJSON or GeoPackage."""
    if fmt not in FORMATS:
        raise LayerExportError(_("Unknown format %(fmt)r; choose geojson or gpkg.")
                               % {"fmt": fmt}, code="unknown_format")
    qs = queryset if queryset is not None else layer_queryset(
        layer, kind=kind, infrastructure_layer=infrastructure_layer, public_only=public_only)
    output = Path(output)
    if fmt == "gpkg":
        if output.exists():
            output.unlink()
        return write_gpkg(output, layer, qs)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".part")
    try:
        with partial.open("w", encoding="utf-8") as fh:
            count = write_geojson(fh, layer, qs, srid=srid)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return count


def layer_for_model(model: type) -> str:
    """The import/export layer name of a layers model (for the admin)."""
    for name, spec in _specs().items():
        if spec.model is model:
            return name
    raise LookupError(model)


def export_content_type(fmt: str) -> str:
    return "application/geo+json" if fmt == "geojson" else "application/geopackage+sqlite3"
