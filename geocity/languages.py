"""The language of a request: Ukrainian unless the user switched to English.

Art. 27 of the law «Про забезпечення функціонування української мови як державної»: a local
authority's website loads in Ukrainian; other languages are the user's choice. So pages
take no language from the browser's Accept-Language: English comes only from the language
switch (Django's `set_language` view), remembered in the language cookie. The APIs for
other systems (REST under /api/, Open311 under /open311/) keep Django's negotiation (cookie,
then Accept-Language), and Open311 its `locale` parameter; the site's own scripts ask them
in the page's language (geocity/static/js/common.js). /tiles/ is left out of language
handling altogether (`LocaleMiddleware`'s docstring says why).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers

CLIENT_API_PREFIXES = ("/api/", "/open311/")
TILES_PREFIX = "/tiles/"  # where geocity.urls mounts the tiles app (tiles.urls.MOUNT)


def chosen_language(request: HttpRequest) -> str:
    """The language the user chose with the switch, else the default (Ukrainian)."""
    code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if code:
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            pass
    return settings.LANGUAGE_CODE


def is_client_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(CLIENT_API_PREFIXES)


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Pages: the user's choice or Ukrainian. Client APIs: Django's negotiation. Tiles: none.

    Why none for tiles: most tiles are the same bytes in every language, yet Django's
    middleware would mark each `Vary: Accept-Language` (a shared cache such as nginx's then
    keeps one copy per language of identical bytes) and spend time on it in every request.
    A tile whose content does depend on the language (district and service-area names)
    picks it from the request itself and says so in `Vary` and `Content-Language`
    (`tiles.apis.vector_tile`). Nothing else under /tiles/ is translated.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith(TILES_PREFIX):
            return
        if is_client_api(request):
            super().process_request(request)
            return
        translation.activate(chosen_language(request))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if request.path_info.startswith(TILES_PREFIX):
            return response
        if is_client_api(request):
            return super().process_response(request, response)
        # The page depends on the language cookie, not on Accept-Language.
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
