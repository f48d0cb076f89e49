"""manage.py run_periodic_tasks: the periodic jobs, for installations without Celery beat.

With CELERY_BROKER_URL set, `celery -A geocity beat` schedules these instead. Both read the
one schedule, settings.CELERY_BEAT_SCHEDULE, so cron and beat run the same jobs. Without a
broker, run this from cron, e.g. every 15 minutes.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


def _jobs() -> dict[str, str]:
    return {name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}


class Command(BaseCommand):
    help = ("Run the periodic jobs of settings.CELERY_BEAT_SCHEDULE now: escalate overdue "
            "reports, close resolved ones after the window, send digests, refresh the "
            "dashboard's rollup.")

    def add_arguments(self, parser):
        # No job named: all of them ([] must be a choice: argparse checks the empty list).
        parser.add_argument("jobs", nargs="*", choices=[*_jobs(), []], default=None)

    def handle(self, *args, jobs, **options):
        for name in jobs or _jobs():
            result = import_string(_jobs()[name])()
            self.stdout.write(f"{name}: {result}")
