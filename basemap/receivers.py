"""Reactions to the basemap's own signals that touch other apps (the tile cache)."""

from __future__ import annotations

from django.dispatch import receiver

from .signals import basemap_changed

TILE_LAYER = "basemap"  # tiles.layers.BasemapLayer.id


@receiver(basemap_changed, dispatch_uid="basemap.bump_tiles")
def bump_basemap_tiles(sender, **kwargs) -> None:
    """Cached basemap tiles are stale once a new import has committed."""
    from tiles.cache import bump_layer_version

    bump_layer_version(TILE_LAYER)
