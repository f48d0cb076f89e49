"""Project error pages: a friendly HTML 404 and a 500 that needs neither the database nor
context processors; under /api/, /tiles/ and /open311/ errors stay machine-readable."""

from __future__ import annotations

import json

import pytest
from django.urls import include, path

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("broken on purpose")


# This module doubles as a URLconf: the real site plus one page that fails.
urlpatterns = [path("boom/", _boom), path("", include("geocity.urls"))]


@pytest.mark.parametrize(("lang", "title", "map_link"), [
    ("uk", "Сторінку не знайдено", "Повернутися до карти"),
    ("en", "Page not found", "Back to the map"),
])
def test_unknown_page_is_a_friendly_404_in_the_visitors_language(client, city, lang, title,
                                                                  map_link, settings):
    # when a visitor who chose `lang` with the switch opens an address that does not exist
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    response = client.get("/no-such-page/")
    # then they get the site's 404 page, in their language, with the way back to the map
    html = response.content.decode()
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "404.html" in [t.name for t in response.templates]
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{title}</h1>" in html
    assert f'href="/">{map_link}</a>' in html
    assert 'href="/report/new/"' in html


@pytest.mark.parametrize(("url", "content_type", "expected"), [
    ("/api/v1/no-such-endpoint/", "application/json", {"code": "not_found"}),
    ("/tiles/no/such/path", "application/json", {"code": "not_found"}),
    ("/open311/v2/no-such-resource.json", "application/json", [{"code": 404}]),
])
def test_api_404s_stay_machine_readable(client, url, content_type, expected):
    response = client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith(content_type)
    body = json.loads(response.content)
    if isinstance(expected, dict):
        assert expected.items() <= body.items()
    else:
        assert [{k: item[k] for k in expected[0]} for item in body] == expected


def test_open311_xml_404_is_xml(client):
    response = client.get("/open311/v2/no-such-resource.xml")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/xml")
    assert b"<code>404</code>" in response.content


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(("lang", "heading"), [
    ("uk", "Щось пішло не так на нашому боці"),
    ("en", "Something went wrong on our side"),
])
def test_server_error_page_needs_no_database(client, django_assert_num_queries, lang, heading,
                                             settings):
    # given a page that fails, and a visitor who chose `lang`
    client.raise_request_exception = False
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    # when it is opened, then the 500 page is rendered without a single query
    with django_assert_num_queries(0):
        response = client.get("/boom/")
    html = response.content.decode()
    assert response.status_code == 500
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{heading}</h1>" in html
    assert 'href="tel:101"' in html
    assert 'href="/"' in html

