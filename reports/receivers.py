"""What the reports app does when a lower app announces a change (see layers.signals)."""

from __future__ import annotations

from django.dispatch import receiver

from geocity.hooks import enqueue
from layers.signals import layer_data_changed

from .jobs import reroute_open_reports


@receiver(layer_data_changed, dispatch_uid="reports.reroute_after_layer_change")
def reroute_after_layer_change(*, routing: bool, **_kwargs) -> None:
    """A layer routing reads changed: untouched open reports follow it (a background job)."""
    if routing:
        enqueue(reroute_open_reports)
