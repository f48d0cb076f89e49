"""Periodic job of the dashboard: keeping the daily rollup fresh between renders."""

from __future__ import annotations

from celery import shared_task

from .services import dailystats_refresh


@shared_task
def refresh_dashboard_rollup() -> int:
    """Recompute the rollup days that writes have marked dirty (dashboard.services), so that
    a dashboard render rarely has to. Returns the number of days recomputed."""
    return dailystats_refresh()
