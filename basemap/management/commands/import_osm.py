"""`manage.py import_osm FILE`: an OpenStreetMap extract (.osm.pbf) as the basemap.

All or nothing: a damaged or foreign file exits non-zero with a message and nothing is
written. See basemap/services.py.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from basemap.services import BasemapImportError, basemap_import, import_lines
from geocity.errors import ValidationFailed


class Command(BaseCommand):
    help = (
        "Import an OpenStreetMap extract (.osm.pbf, read by GDAL's OSM driver) clipped to the "
        "service area: streets, buildings, water, parks and railways replace the basemap, "
        "and addressed buildings and address nodes join the address gazetteer. One "
        "transaction: a broken file changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the extract, e.g. ukraine-latest.osm.pbf")
        parser.add_argument("--dry-run", action="store_true",
                            help="read and check everything, print the summary, write nothing")

    def handle(self, *args, file: str, dry_run: bool, **options) -> None:
        log = self.stdout.write if options["verbosity"] > 1 else None
        try:
            record = basemap_import(path=file, dry_run=dry_run, log=log)
        except (BasemapImportError, ValidationFailed) as exc:
            raise CommandError(exc.message) from exc
        for line in import_lines(record, dry_run=dry_run):
            self.stdout.write(line)
