"""What the tiles app does when the apps below announce a committed change: the tile
caches of the changed data are invalidated (version counters, see tiles.cache)."""

from __future__ import annotations

from django.dispatch import receiver

from basemap.signals import basemap_changed
from layers.signals import layer_data_changed
from reports.signals import reports_changed

from .cache import bump_layer_version

# A layer's import name (layers.importing) -> the tile layer drawn from it.
TILE_LAYERS = {
    "service-area": "service-area",
    "districts": "districts",
    "responsibility": "responsibility",
    "hazard": "hazard-zones",
    "infrastructure": "infrastructure",
}


@receiver(reports_changed, dispatch_uid="tiles.reports_changed")
def reports_changed_bump(**_kwargs) -> None:
    bump_layer_version("reports")


@receiver(layer_data_changed, dispatch_uid="tiles.layer_changed")
def layer_changed_bump(*, layer: str, **_kwargs) -> None:
    tile_layer = TILE_LAYERS.get(layer)
    if tile_layer:
        bump_layer_version(tile_layer)


@receiver(basemap_changed, dispatch_uid="tiles.basemap_changed")
def basemap_changed_bump(**_kwargs) -> None:
    """Cached basemap tiles are stale once a new OSM import has committed."""
    bump_layer_version("basemap")
