"""/tiles/: vector tiles per layer, heat tiles, TileJSON. z/x/y are matched loosely so that
bad values get a 400 JSON error from the view instead of an HTML 404."""

from django.urls import re_path

from . import apis

MOUNT = "/tiles/"  # where geocity.urls includes these routes
_ZXY = r"(?P<z>[^/]+)/(?P<x>[^/]+)/(?P<y>[^/.]+)"
VECTOR_TILE = rf"(?P<layer>[^/]+)/{_ZXY}\.pbf"

urlpatterns = [
    re_path(rf"^heat/{_ZXY}\.png$", apis.heat_png, name="heat-tile"),
    re_path(rf"^{VECTOR_TILE}$", apis.vector_tile, name="vector-tile"),
    re_path(r"^(?P<layer>[^/.]+)\.json$", apis.tilejson, name="tilejson"),
]
