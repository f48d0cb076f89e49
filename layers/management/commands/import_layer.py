"""`manage.py import_layer FILE --layer LAYER ...`: load a GIS file into a map layer.

All or nothing: any refused feature, a bad file or a bad option exits non-zero with a message
naming the problem, and nothing is written. See layers/importing/.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from layers.importing import (
    LAYERS,
    PROGRESS_MIN_FEATURES,
    TARGETS,
    LayerImportError,
    layer_import,
    parse_field_map,
)


def _targets_help() -> str:
    return "; ".join(
        f"{layer}: {', '.join(t.name for t in targets)}" for layer, targets in TARGETS.items()
    )


class Command(BaseCommand):
    help = (
        "Import a GeoJSON, Shapefile (folder or .zip), GeoPackage or KML/KMZ file into a map "
        "layer, reprojected to the storage SRID, in one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the file (or shapefile folder) to import")
        parser.add_argument("--layer", required=True, help=f"one of: {', '.join(LAYERS)}")
        parser.add_argument(
            "--kind",
            help="hazard: default IMAS kind (SHA, CHA, cancelled, cleared); infrastructure: "
                 "feature kind (shelter, streetlight, ...)",
        )
        parser.add_argument(
            "--field-map", nargs="+", action="extend", default=[], metavar="TARGET=SOURCE",
            help=f"map file fields to targets ({_targets_help()})",
        )
        parser.add_argument("--srid", type=int,
                            help="EPSG code of the file's coordinates, when it has none (or a "
                                 "wrong one)")
        parser.add_argument("--replace", action="store_true",
                            help="replace the layer's existing features (districts: delete "
                                 "those not in the file)")
        parser.add_argument("--dry-run", action="store_true",
                            help="check everything and print a summary; write nothing")
        parser.add_argument("--create-departments", action="store_true",
                            help="responsibility: create departments with unknown codes")
        parser.add_argument("--source-layer", help="the layer to read, for multi-layer files")
        parser.add_argument("--infrastructure-layer", metavar="CODE",
                            help="infrastructure: the layer to import into (default: --kind)")
        parser.add_argument("--encoding",
                            help="shapefile attribute code page when there is no .cpg, "
                                 "e.g. CP1251")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options) -> None:
        show_progress = not options["no_progress"] and options["verbosity"] > 0

        def progress(total: int | None):
            return tqdm(total=total, unit=" features", file=self.stderr._out,
                        disable=not show_progress or (total or 0) < PROGRESS_MIN_FEATURES,
                        leave=False)

        try:
            summary = layer_import(
                options["file"],
                layer=options["layer"],
                kind=options["kind"],
                field_map=parse_field_map(options["field_map"]),
                srid=options["srid"],
                replace=options["replace"],
                dry_run=options["dry_run"],
                create_departments=options["create_departments"],
                source_layer=options["source_layer"],
                infrastructure_layer=options["infrastructure_layer"],
                encoding=options["encoding"],
                progress=progress,
            )
        except LayerImportError as exc:
            raise CommandError(exc.message) from exc
        for line in summary.lines():
            self.stdout.write(line)
