"""`manage.py reroute [--dry-run]`: re-route open reports no person has touched.

One set-based statement (reports.services.reports_reroute) decides, updates and logs a
`rerouted` event per changed report. With --dry-run the same statement runs and is rolled
back, so the counts shown are exactly what a real run would change.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from layers.models import Department
from reports.services import reports_reroute

TRIAGE = "(triage)"


class Command(BaseCommand):
    help = "Re-route untouched open reports after the responsibility or hazard layers changed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="show what would change; change nothing")

    def handle(self, *args, **options) -> None:
        result = reports_reroute(dry_run=options["dry_run"])
        ids = {d for move in result.moves for d in move[:2] if d is not None}
        codes = dict(Department.objects.filter(pk__in=ids).values_list("pk", "code"))
        verb = "would move" if result.dry_run else "moved"
        self.stdout.write(f"{result.changed} open reports {verb}.")
        for from_id, to_id, count in result.moves:
            source = codes.get(from_id, TRIAGE) if from_id else TRIAGE
            target = codes.get(to_id, TRIAGE) if to_id else TRIAGE
            self.stdout.write(f"  {source} -> {target}: {count}")
        if result.dry_run:
            self.stdout.write("Dry run: nothing was changed.")
