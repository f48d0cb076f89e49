"""The officials' dashboard in a real browser: KPIs, SVG charts, the folium map, print view."""

from __future__ import annotations

import pytest

from .. import factories as f
from ..browser import shot
from ..dashboard.test_views import reports

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, username: str, next_url: str, password: str = "pass") -> None:
    """Log in through the real form and land on `next_url` (the header's language switch
    is a form too, so the submit button is looked up inside <main>)."""
    page.goto(f"/accounts/login/?next={next_url}")
    page.fill("main input[name=username]", username)
    page.fill("main input[name=password]", password)
    with page.expect_navigation():
        page.click("main form [type=submit]")
    page.wait_for_load_state("load")


def test_dashboard_renders_with_local_assets_only(desktop_page, live_server, users, city):
    page = desktop_page
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    f.HazardZoneFactory(name="Демо-зона", is_demo=True,
                        geometry=f.around_centre(400, dx=-4000, dy=3000))
    reports(city, 60)
    # given an official signed in; when they open the dashboard
    login(page, "official", "/dashboard/")
    page.wait_for_selector(".dash-map-frame .leaflet-container")
    # then the KPI cards, the charts and the map's layers are there
    assert page.locator("[data-kpi]").count() == 9
    assert page.locator(".dash-trend svg circle").count() >= 24
    assert page.locator(".dash-age svg rect").count() == 16
    page.wait_for_selector(".leaflet-overlay-pane canvas, .leaflet-overlay-pane svg path")
    assert page.locator(".leaflet-control-layers").count() == 1
    page.wait_for_timeout(500)
    shot(page, "dashboard")
    # and nothing was requested from another origin, and no script failed
    assert all(url.startswith(live_server.url) or url.startswith("data:")
               for url in page.requests_seen), page.requests_seen
    assert errors == []

    # when they switch to English
    page.click(".lang-switch button")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    shot(page, "dashboard-en")

    # when they open the printable view: no controls on the map
    page.goto("/dashboard/print/?period=90d")
    page.wait_for_selector(".dash-map-frame .leaflet-container")
    assert page.locator(".leaflet-control-zoom").count() == 0
    assert page.locator(".leaflet-control-layers").count() == 0
    page.emulate_media(media="print")
    shot(page, "dashboard-print")
    assert errors == []
