"""`manage.py rebuild_dashboard_rollup`: recompute the dashboard's daily rollup from scratch.

Not needed in normal operation (a trigger marks the days every write touches and the
dashboard refreshes them; see dashboard.services). For repairs, or after changing TIME_ZONE
(rollup days are local days).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from dashboard.services import dailystats_rebuild


class Command(BaseCommand):
    help = "Recompute the dashboard's daily rollup from the reports."

    def handle(self, *args, **options) -> None:
        days = dailystats_rebuild()
        self.stdout.write(f"Dashboard rollup: {days} days recomputed.")
