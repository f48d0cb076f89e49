"""What the dashboard does when the apps below announce a change: its cached aggregates
of that data become stale (see dashboard.cache)."""

from __future__ import annotations

from django.dispatch import receiver

from layers.signals import layer_data_changed
from reports.signals import reports_changed

from .cache import bump_data_version


@receiver(reports_changed, dispatch_uid="dashboard.reports_changed")
def reports_changed_bump(**_kwargs) -> None:
    bump_data_version("reports")


@receiver(layer_data_changed, dispatch_uid="dashboard.layer_changed")
def districts_changed_bump(*, layer: str, **_kwargs) -> None:
    if layer == "districts":
        bump_data_version("districts")
