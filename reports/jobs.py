"""Periodic and bulk jobs of the reports app: Celery tasks that call services.

Run by Celery beat when a broker is configured (settings.CELERY_BEAT_SCHEDULE), otherwise
by cron through `manage.py run_periodic_tasks`. Kept apart from `tasks.py`, which the
services import, so that services and tasks never import each other.
"""

from __future__ import annotations

import logging

from celery import shared_task

from .services import reports_auto_close, reports_reroute

logger = logging.getLogger(__name__)


@shared_task
def auto_close_resolved_reports() -> int:
    return reports_auto_close()


@shared_task
def reroute_open_reports() -> dict:
    """Re-route open reports no person has touched, after a routing layer changed."""
    result = reports_reroute()
    logger.info("Re-routed %d open reports after a layer change", result.changed)
    return {"changed": result.changed,
            "moves": [list(move) for move in result.moves]}
