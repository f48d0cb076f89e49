"""`manage.py export_layer --layer LAYER --format geojson|gpkg OUTPUT`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from layers.exporting import FORMATS, LayerExportError, layer_export
from layers.importing import LAYERS


class Command(BaseCommand):
    help = (
        "Export a map layer to GeoJSON (WGS 84, RFC 7946) or GeoPackage (storage SRID), with "
        "the field names import_layer reads back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", help="the file to write")
        parser.add_argument("--layer", required=True, help=f"one of: {', '.join(LAYERS)}")
        parser.add_argument("--format", dest="fmt", choices=FORMATS,
                            help="default: from the output's extension")
        parser.add_argument("--kind", help="hazard or infrastructure: only this kind")
        parser.add_argument("--infrastructure-layer", metavar="CODE",
                            help="infrastructure: only this layer")
        parser.add_argument("--public-only", action="store_true",
                            help="leave out non-public hazard zones and restricted "
                                 "infrastructure")
        parser.add_argument("--srid", type=int,
                            help="GeoJSON: write in this SRID instead of WGS 84 (adds a crs)")

    def handle(self, *args, **options) -> None:
        fmt = options["fmt"]
        if fmt is None:
            suffix = options["output"].rsplit(".", 1)[-1].lower()
            fmt = {"geojson": "geojson", "json": "geojson", "gpkg": "gpkg"}.get(suffix)
            if fmt is None:
                raise CommandError("Give --format geojson or gpkg (the output's extension does "
                                   "not say).")
        try:
            count = layer_export(
                options["output"], layer=options["layer"], fmt=fmt, kind=options["kind"],
                infrastructure_layer=options["infrastructure_layer"],
                public_only=options["public_only"], srid=options["srid"],
            )
        except LayerExportError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Wrote {count} features of {options['layer']} to {options['output']}")
