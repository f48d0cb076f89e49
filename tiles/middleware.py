"""The project's LocaleMiddleware (geocity.languages), minus the map tiles."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from geocity.languages import StateLanguageMiddleware

from .urls import MOUNT


class LocaleMiddleware(StateLanguageMiddleware):
    """geocity.languages's middleware (pages in Ukrainian unless the user switched; client APIs
    negotiate) for every path except /tiles/.

    Why: most tiles are the same bytes in every language, yet Django's middleware would mark
    each `Vary: Accept-Language` (a shared cache then keeps one copy per language of
    identical bytes) and spend ~30 us a request on it: ~0.25 ms of a cold 3-5 ms z16 tile
    here (code after any pause of a few ms, such as the database wait, runs with cold CPU
    caches). A tile whose content does depend on the language (district and service-area
    names) picks it from the request itself and says so in `Vary` and `Content-Language`
    (`tiles.apis.vector_tile`). Nothing else under /tiles/ is translated.
    """

    def process_request(self, request: HttpRequest) -> None:
        if not request.path_info.startswith(MOUNT):
            super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if request.path_info.startswith(MOUNT):
            return response
        return super().process_response(request, response)
