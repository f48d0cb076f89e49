"""The admin upload form for `layers.importing.layer_import`."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .importing import LAYERS, TARGETS, LayerImportError, parse_field_map

UPLOAD_SUFFIXES = (".geojson", ".json", ".zip", ".gpkg", ".kml", ".kmz")


def _targets_help() -> str:
    return "; ".join(f"{layer}: {', '.join(t.name for t in targets)}"
                     for layer, targets in TARGETS.items())


class LayerImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("GeoJSON, GeoPackage, KML/KMZ, or a Shapefile as a .zip (with .shp, .shx, "
                    ".dbf and .prj)."),
    )
    layer = forms.ChoiceField(label=_("Layer"), choices=[(name, name) for name in LAYERS])
    kind = forms.CharField(
        label=_("Kind"), required=False,
        help_text=_("Hazard zones: the default IMAS kind (SHA, CHA, cancelled, cleared). "
                    "Infrastructure: the feature kind (shelter, streetlight, …)."),
    )
    field_map = forms.CharField(
        label=_("Field map"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One target=source per line, e.g. department=DEPT_CODE. Targets: %s")
        % _targets_help(),
    )
    srid = forms.IntegerField(
        label=_("Source SRID"), required=False, min_value=1,
        help_text=_("EPSG code of the coordinates, for files without a projection."),
    )
    replace = forms.BooleanField(
        label=_("Replace the layer's existing features"), required=False)
    create_departments = forms.BooleanField(
        label=_("Create departments with unknown codes"), required=False)
    source_layer = forms.CharField(
        label=_("Layer inside the file"), required=False,
        help_text=_("Only for files that hold several layers."))
    encoding = forms.CharField(
        label=_("Shapefile encoding"), required=False,
        help_text=_("Only for shapefiles without a .cpg file, e.g. CP1251."))
    infrastructure_layer = forms.CharField(
        label=_("Infrastructure layer code"), required=False,
        help_text=_("Infrastructure only: the layer to import into (default: the kind)."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if not name.endswith(UPLOAD_SUFFIXES):
            raise forms.ValidationError(
                _("Upload a .geojson, .json, .gpkg, .kml, .kmz or a zipped Shapefile (.zip)."))
        return upload

    def clean_field_map(self):
        lines = [line.strip() for line in self.cleaned_data["field_map"].splitlines()]
        pairs = [part for line in lines if line for part in line.split()]
        try:
            return parse_field_map(pairs)
        except LayerImportError as exc:
            raise forms.ValidationError(exc.message) from None

    def options(self) -> dict:
        """Keyword arguments for layer_import (everything but the file and dry_run)."""
        data = self.cleaned_data
        return {
            "layer": data["layer"],
            "kind": data["kind"] or None,
            "field_map": data["field_map"],
            "srid": data["srid"],
            "replace": data["replace"],
            "create_departments": data["create_departments"],
            "source_layer": data["source_layer"] or None,
            "infrastructure_layer": data["infrastructure_layer"] or None,
            "encoding": data["encoding"] or None,
        }
