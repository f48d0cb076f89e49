"""geocity.httpcache: which answers the HTTP cache in front (nginx) may keep. The real nginx
keeping them, and a resident's own write going past it, are in tests/stack/."""

import pytest
from rest_framework.authtoken.models import Token

from geocity.dbrouter import PIN_COOKIE

from . import factories as f

LIST = "/api/v1/reports/?page_size=5"


@pytest.fixture
def report(city):
    return f.ReportFactory()


@pytest.mark.parametrize("url", [LIST, "/api/v1/categories/", "/open311/v2/services.json",
                                 "/open311/v2/requests.json?status=open"])
def test_an_anonymous_public_read_may_be_kept_for_public_cache_seconds(client, report, url,
                                                                        settings):
    response = client.get(url)
    assert response.status_code == 200
    assert response["X-Accel-Expires"] == str(settings.PUBLIC_CACHE_SECONDS)
    assert "max-age" not in response.get("Cache-Control", "")  # the browser keeps nothing


def _signed_in(client, users):
    client.force_login(users["resident"])


def _token(client, users):
    token = Token.objects.create(user=users["resident"])
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"


def _pinned(client, users):
    client.cookies[PIN_COOKIE] = "1"  # wrote seconds ago: must read its own write


@pytest.mark.parametrize("given", [_signed_in, _token, _pinned])
def test_nothing_of_a_client_that_may_see_more_is_kept(client, users, report, given):
    given(client, users)
    response = client.get(LIST)
    assert response.status_code == 200
    assert not response.has_header("X-Accel-Expires")


@pytest.mark.parametrize("url", [
    "/open311/v2/requests.json?status=open&api_key=some-key",  # an identified client
    "/api/v1/reports/999999/",  # not 200
    "/reports/{number}/",  # a page
    "/dashboard/",  # not a public read
])
def test_other_answers_are_not_kept(client, users, report, url):
    if url == "/dashboard/":
        client.force_login(users["official"])
    response = client.get(url.format(number=report.pk))
    assert response.status_code in (200, 404)
    assert not response.has_header("X-Accel-Expires")


def test_a_write_is_not_kept(client, report):
    response = client.post("/api/v1/reports/", {"description": "x"})
    assert response.status_code == 400
    assert not response.has_header("X-Accel-Expires")


def test_zero_seconds_keeps_nothing(client, report, settings):
    settings.PUBLIC_CACHE_SECONDS = 0
    from django.test import Client

    assert not Client().get(LIST).has_header("X-Accel-Expires")
