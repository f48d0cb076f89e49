from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TilesConfig(AppConfig):
    """Vector and raster tiles. Cache versions are bumped when the apps below announce a
    committed change (`tiles.receivers`), never from `save()`."""

    name = "tiles"
    verbose_name = _("Tiles")

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - data changes bust the tile caches
