"""Signals the basemap sends: other apps react to them, the basemap knows none of them."""

from django.dispatch import Signal

# Sent after the commit of an import that replaced the basemap (sender: the BasemapImport
# class, `basemap_import`: the new record). The tile cache listens (tiles.receivers).
basemap_changed = Signal()
