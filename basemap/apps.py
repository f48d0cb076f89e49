from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BasemapConfig(AppConfig):
    """The OpenStreetMap basemap (streets, buildings, water, parks, railways) and what it adds
    to the address gazetteer. Writes only through `basemap.services`."""

    name = "basemap"
    verbose_name = _("Basemap (OpenStreetMap)")
