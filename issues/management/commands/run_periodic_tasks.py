"""manage.py run_periodic_tasks: the periodic jobs, for installations without Celery beat.

With CELERY_BROKER_URL set, `celery -A geocity beat` schedules these instead (settings
CELERY_BEAT_SCHEDULE). Without a broker, run this from cron, e.g. every 15 minutes.
"""

from django.core.management.base import BaseCommand

from issues.tasks import (
    auto_close_resolved_reports,
    escalate_overdue_reports,
    refresh_dashboard_rollup,
    send_assignment_digests,
)

JOBS = {
    "escalate": escalate_overdue_reports,
    "auto-close": auto_close_resolved_reports,
    "digest": send_assignment_digests,
    "dashboard-rollup": refresh_dashboard_rollup,
}


class Command(BaseCommand):
    help = ("Escalate overdue reports, close resolved ones after the window, send digests, "
            "refresh the dashboard's rollup.")

    def add_arguments(self, parser):
        parser.add_argument("jobs", nargs="*", choices=[*JOBS, []], default=list(JOBS))

    def handle(self, *args, jobs, **options):
        for name in jobs or JOBS:
            result = JOBS[name]()
            self.stdout.write(f"{name}: {result}")
