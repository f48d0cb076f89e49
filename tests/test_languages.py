"""Ukrainian by default (Art. 27 of the state-language law): pages take no language from the
browser; English only by the user's switch, remembered in a cookie. Client APIs still
negotiate (geocity.languages)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


@pytest.mark.parametrize("path", ["/", "/report/new/", "/accounts/login/"])
def test_a_browser_that_asks_for_english_gets_the_ukrainian_page(client, city, path):
    response = client.get(path, **ENGLISH_BROWSER)
    assert response.status_code == 200
    assert '<html lang="uk">' in response.content.decode()
    assert response["Content-Language"] == "uk"
    assert "Accept-Language" not in response.get("Vary", "")


def test_the_switch_chooses_english_and_a_cookie_remembers_it(client, city, settings):
    # when the user presses "English"
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"},
                           **ENGLISH_BROWSER)
    assert response.status_code == 302
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert int(cookie["max-age"]) >= 300 * 24 * 3600  # remembered, not for the session only
    # then pages are English, and <html lang> says so
    page = client.get("/")
    assert '<html lang="en">' in page.content.decode()
    assert page["Content-Language"] == "en"
    # and switching back gives Ukrainian again, whatever the browser asks for
    client.post("/i18n/setlang/", {"language": "uk", "next": "/"})
    assert '<html lang="uk">' in client.get("/", **ENGLISH_BROWSER).content.decode()


def test_an_unknown_cookie_value_falls_back_to_ukrainian(client, city, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    assert '<html lang="uk">' in client.get("/", **ENGLISH_BROWSER).content.decode()


def test_the_rest_api_still_negotiates_for_its_clients(client, city):
    english = client.get("/api/v1/categories/", **ENGLISH_BROWSER)
    ukrainian = client.get("/api/v1/categories/")
    assert english["Content-Language"] == "en"
    assert ukrainian["Content-Language"] == "uk"
    assert "Pothole" in english.content.decode()
    assert "Яма" in ukrainian.content.decode()


def test_open311_keeps_accept_language_and_locale(client, city):
    by_header = client.get("/open311/v2/services.json", **ENGLISH_BROWSER)
    by_locale = client.get("/open311/v2/services.json", {"locale": "en"})
    default = client.get("/open311/v2/services.json")
    assert "Pothole" in by_header.content.decode()
    assert "Pothole" in by_locale.content.decode()
    assert "Яма" in default.content.decode()
