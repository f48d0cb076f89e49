"""geocity.languages.LocaleMiddleware: language handling everywhere but /tiles/,
where only the tiles that name places depend on the language, and say so themselves."""

import pytest
from django.conf import settings
from django.utils import translation

from .. import factories as f
from .conftest import features, tile_of

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def test_it_skips_the_prefix_the_tiles_are_mounted_at():
    from geocity.languages import TILES_PREFIX
    from tiles.urls import MOUNT

    assert TILES_PREFIX == MOUNT


def test_it_replaces_djangos_in_the_settings():
    assert "geocity.languages.LocaleMiddleware" in settings.MIDDLEWARE
    assert "django.middleware.locale.LocaleMiddleware" not in settings.MIDDLEWARE


@pytest.mark.parametrize("path", ["reports", "hazard-zones", "infrastructure", "heat"])
def test_tiles_that_do_not_name_places_are_the_same_in_every_language(city, client, path):
    # given a report, so the tiles are not empty
    f.ReportFactory(category=city.pothole, location=city.centre)
    tile = tile_of(city.centre, 14)
    url = tile.heat_url if path == "heat" else tile.url(path)
    # when the tile is asked for in Ukrainian and in English
    ukrainian, english = client.get(url, HTTP_ACCEPT_LANGUAGE="uk"), client.get(url, **ENGLISH)
    # then it is one tile: same bytes and ETag, and no language in its headers
    assert ukrainian.content == english.content
    assert ukrainian["ETag"] == english["ETag"]
    for response in (ukrainian, english):
        assert "Content-Language" not in response
        assert "Accept-Language" not in response.get("Vary", "")


@pytest.mark.parametrize(
    ("headers", "language", "names"),
    [
        ({}, "uk", {"Західний", "Східний"}),
        (ENGLISH, "en", {"West", "East"}),
        ({"HTTP_COOKIE": f"{settings.LANGUAGE_COOKIE_NAME}=en"}, "en", {"West", "East"}),
        ({"HTTP_ACCEPT_LANGUAGE": "de"}, "uk", {"Західний", "Східний"}),  # not offered
    ],
    ids=["default", "Accept-Language", "language cookie", "unsupported language"],
)
def test_district_tiles_take_the_language_from_the_request(city, client, headers, language,
                                                            names):
    response = client.get(tile_of(city.centre, 12).url("districts"), **headers)
    assert {ft["properties"]["name"] for ft in features(response, "districts")} == names
    assert response["Content-Language"] == language
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}


def test_a_language_left_active_in_the_thread_does_not_leak_into_a_tile(city, client):
    # given a thread where an earlier request left English active
    translation.activate("en")
    try:
        # when a districts tile is asked for with no language at all
        response = client.get(tile_of(city.centre, 12).url("districts"))
        # then it is in the default language, and the thread's language is as it was
        assert response["Content-Language"] == settings.LANGUAGE_CODE
        assert translation.get_language() == "en"
    finally:
        translation.deactivate()


def test_pages_are_still_localised_by_the_middleware(city, client, settings):
    # pages follow the language switch (its cookie), never the browser (geocity.languages)
    assert client.get("/", **ENGLISH)["Content-Language"] == "uk"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/", **ENGLISH)
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert "Cookie" in response["Vary"] and "Accept-Language" not in response["Vary"]
