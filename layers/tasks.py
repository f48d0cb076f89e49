"""Background work for the layers. Without CELERY_BROKER_URL tasks run in-process (eager),
right after the transaction that scheduled them commits."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def reroute_open_reports() -> dict:
    """Re-route open reports no person has touched, after a routing layer changed."""
    from .services import reports_reroute

    result = reports_reroute()
    logger.info("Re-routed %d open reports after a layer change", result.changed)
    return {"changed": result.changed,
            "moves": [list(move) for move in result.moves]}
