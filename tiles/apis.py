"""HTTP for tiles: vector tiles, heat tiles, TileJSON and the stats grid.

Thin views: parse z/x/y and the query string, ask `tiles.selectors.audience_for` who is
asking, let a layer render, and serve through the server cache with ETag/304 and
Cache-Control. Errors are domain errors, rendered as JSON `{"code", "message"}` by
`geocity.errors` (400 bad z/x/y or filter, 403 staff-only layer, 404 unknown layer).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.views.decorators.http import require_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from geocity.clock import city_today
from geocity.errors import Forbidden, NotFound, ValidationFailed
from layers.apis import ERRORS

from . import cache as tcache
from .grid import grid_features, parse_grid_request
from .heat import heat_tile, parse_weight
from .layers import LAYERS, MAX_ZOOM, RenderedTile, TileBox, TileLayer
from .selectors import audience_for, parse_tile_filters, public_audience
from .serving import Served, TileReply, tile_reply

MVT_CONTENT_TYPE = "application/vnd.mapbox-vector-tile"
HEAT_GRACE_MAX_ZOOM = 12
_NUMBER = re.compile(r"^[0-9]{1,8}$")


def parse_zxy(z: str, x: str, y: str) -> TileBox:
    """A valid tile or a 400: z in 0..MAX_ZOOM, x and y in 0..2^z-1, decimal digits only."""
    if not all(_NUMBER.match(v) for v in (z, x, y)):
        raise ValidationFailed("z, x and y must be non-negative whole numbers.",
                               code="invalid_tile")
    zi, xi, yi = int(z), int(x), int(y)
    if zi > MAX_ZOOM:
        raise ValidationFailed(f"z must be between 0 and {MAX_ZOOM}.", code="invalid_tile")
    if xi >= 2**zi or yi >= 2**zi:
        raise ValidationFailed(f"x and y must be between 0 and {2**zi - 1} at zoom {zi}.",
                               code="invalid_tile")
    return TileBox(zi, xi, yi)


class BadToken(Exception):
    pass


def request_user(request: HttpRequest):
    """The session user, or the user of an `Authorization: Token ...` header (API clients)."""
    if request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("token "):
        from rest_framework.authentication import TokenAuthentication

        try:
            found = TokenAuthentication().authenticate(request)
        except AuthenticationFailed as exc:
            raise BadToken(str(exc.detail)) from exc
        if found:
            return found[0]
    return request.user


def _unauthorised(exc: BadToken) -> JsonResponse:
    return JsonResponse({"code": "authentication_failed", "message": str(exc)}, status=401)


def accepts_gzip(request: HttpRequest) -> bool:
    return "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "").lower()


def as_response(reply: TileReply) -> HttpResponse:
    """A `TileReply` as Django's response."""
    response = HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)
    for name, value in reply.headers:
        response[name] = value
    return response


def reply_for(request: HttpRequest, spec: Served,
              render: Callable[[], RenderedTile]) -> TileReply:
    """From the server cache or rendered (`tiles.serving.tile_reply`), for this request."""
    return tile_reply(spec, render, accepts_gzip=accepts_gzip(request),
                      if_none_match=request.META.get("HTTP_IF_NONE_MATCH"))


def serve(request: HttpRequest, spec: Served, render: Callable[[], RenderedTile]) -> HttpResponse:
    return as_response(reply_for(request, spec, render))


@require_safe
def vector_tile(request: HttpRequest, layer: str, z: str, x: str, y: str) -> HttpResponse:
    """GET /tiles/{layer}/{z}/{x}/{y}.pbf: a Mapbox Vector Tile, 204 when empty."""
    try:
        return as_response(vector_tile_reply(request, layer, z, x, y))
    except BadToken as exc:
        return _unauthorised(exc)


def vector_tile_reply(request: HttpRequest, layer: str, z: str, x: str, y: str) -> TileReply:
    """The reply of `vector_tile`.

    Raises NotFound (unknown layer), ValidationFailed (bad z/x/y or filter), Forbidden
    (staff-only layer) and BadToken (a bad `Authorization: Token`).
    """
    cls = LAYERS.get(layer)
    if cls is None:
        raise NotFound(f"Unknown tile layer {layer!r}. Layers: {', '.join(LAYERS)}.",
                       code="unknown_layer")
    box = parse_zxy(z, x, y)
    if not cls.language_dependent:
        return _vector_tile_reply(request, cls, box)
    # Tiles are outside LocaleMiddleware (geocity.languages); this layer names places, so it
    # takes the language from the request as the middleware would (cookie, Accept-Language).
    language = translation.get_language_from_request(request)
    with translation.override(language):
        reply = _vector_tile_reply(request, cls, box)
    return reply.with_headers(("Content-Language", language))


def _vector_tile_reply(request: HttpRequest, cls: type[TileLayer], box: TileBox) -> TileReply:
    needs_user = cls.audience_dependent or cls.staff_only
    audience = audience_for(request_user(request)) if needs_user else public_audience()
    # No query string, no QueryDict to build (the public map's own tiles).
    params = request.GET if request.META.get("QUERY_STRING") else {}
    tile_layer = cls(audience=audience, params=params)
    vary: list[str] = []
    if needs_user:
        vary += ["Cookie", "Authorization"]
    if cls.language_dependent:
        vary += ["Accept-Language", "Cookie"]
    spec = Served(
        layer=cls.id,
        key=f"{box.z}/{box.x}/{box.y}|{tile_layer.variant(box)}",
        content_type=MVT_CONTENT_TYPE,
        public=tile_layer.is_public,
        vary=tuple(dict.fromkeys(vary)),
        grace=tile_layer.grace(box),
    )
    return reply_for(request, spec, lambda: tile_layer.render(box))


@require_safe
def heat_png(request: HttpRequest, z: str, x: str, y: str) -> HttpResponse:
    """GET /tiles/heat/{z}/{x}/{y}.png: a 256x256 transparent density PNG."""
    box = parse_zxy(z, x, y)
    filters = parse_tile_filters(request.GET)
    weight = parse_weight(request.GET.get("weight"))
    try:
        audience = audience_for(request_user(request))
    except BadToken as exc:
        return _unauthorised(exc)
    key = f"{box.z}/{box.x}/{box.y}|{audience.reports_key}|{filters.key()}|w={weight}"
    if weight == "age":
        key += f"|{city_today().isoformat()}"
    spec = Served(layer="heat", key=key, content_type="image/png", public=audience.is_public,
                  vary=("Cookie", "Authorization"), empty_status=200,
                  grace=tcache.AGGREGATE_GRACE_SECONDS if box.z <= HEAT_GRACE_MAX_ZOOM else 0)
    return serve(request, spec, lambda: heat_tile(box, audience=audience, filters=filters,
                                                  weight=weight))


@require_safe
def tilejson(request: HttpRequest, layer: str) -> JsonResponse:
    """GET /tiles/{layer}.json: TileJSON 3.0 for MapLibre/Leaflet clients. A staff-only
    layer is described only to those who may read its tiles."""
    cls = LAYERS.get(layer)
    if cls is None:
        raise NotFound(f"Unknown tile layer {layer!r}.", code="unknown_layer")
    if cls.staff_only:
        try:
            audience = audience_for(request_user(request))
        except BadToken as exc:
            return _unauthorised(exc)
        if not audience.restricted:
            raise Forbidden(f"The {layer} layer is for staff only.", code="staff_only")
    base = request.build_absolute_uri(f"/tiles/{layer}/")
    lat, lon = settings.MAP_CENTER
    return JsonResponse({
        "tilejson": "3.0.0",
        "name": layer,
        "tiles": [base + "{z}/{x}/{y}.pbf"],
        "minzoom": cls.min_zoom,
        "maxzoom": MAX_ZOOM,
        "center": [lon, lat, settings.MAP_ZOOM],
        "vector_layers": [cls.describe()],
    })


class StatsGridApi(APIView):
    """GET /api/v1/stats/grid/: report counts per square or hexagonal cell (GeoJSON)."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("bbox", OpenApiTypes.STR,
                             description="min_lon,min_lat,max_lon,max_lat (default: the "
                                         "service area)"),
            OpenApiParameter("cell", OpenApiTypes.INT, description="cell size in metres "
                             "(edge length for hexagons), 50..5000, default 250"),
            OpenApiParameter("shape", OpenApiTypes.STR, enum=["square", "hex"]),
            OpenApiParameter("category", OpenApiTypes.STR, description="comma list"),
            OpenApiParameter("status", OpenApiTypes.STR, description="comma list"),
            OpenApiParameter("since", OpenApiTypes.DATE),
            OpenApiParameter("until", OpenApiTypes.DATE),
        ],
        responses={(200, "application/geo+json"): OpenApiTypes.OBJECT, **ERRORS(400)},
    )
    def get(self, request: Request) -> HttpResponse:
        req = parse_grid_request(request.query_params)
        audience = audience_for(request.user)
        spec = Served(layer="grid", key=f"{audience.reports_key}|{req.key()}",
                      content_type="application/geo+json", public=audience.is_public,
                      vary=("Cookie", "Authorization"), empty_status=200,
                      grace=tcache.AGGREGATE_GRACE_SECONDS)
        return serve(
            request._request if hasattr(request, "_request") else request,
            spec,
            lambda: RenderedTile(grid_features(req, audience=audience).encode()),
        )
