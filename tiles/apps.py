from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TilesConfig(AppConfig):
    """Vector and raster tiles. Cache versions are bumped by the services that write the
    data (`issues.services`, `layers.services.layer_changed`), never by signals."""

    name = "tiles"
    verbose_name = _("Tiles")
