"""The OpenStreetMap basemap in a real browser: street labels on the resident, workspace and
dashboard maps, a click on a building offering its address, and Ukrainian by default."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from basemap.models import Building
from basemap.services import basemap_import
from layers.geometry import lat_lon

from .. import factories as f
from ..basemap.conftest import STREET_NAMES
from ..browser import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def basemap(city):
    """The hand-written extract around the centre: вул. Шевченка, Соборна площа (with the
    building "Соборна площа, 1"), просп. Науки, a park, a pond, a railway."""
    return basemap_import(path=STREET_NAMES)


def _errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def _basemap_tile(response) -> bool:
    return "/tiles/basemap/" in response.url and response.status == 200


def test_the_map_draws_the_basemap_with_street_names_and_a_building_offers_its_address(
        page, live_server, basemap):
    errors = _errors(page)
    building = Building.objects.get(address__house_number="1")
    lat, lon = lat_lon(building.geometry.centroid)
    # when a resident opens the map at the building
    with page.expect_response(_basemap_tile):
        page.goto(f"/#17/{lat}/{lon}")
    page.wait_for_load_state("networkidle")
    # then the basemap's streets are drawn with their Ukrainian names
    expect(page.locator("#map")).to_have_attribute(
        "data-basemap-labels", re.compile(r"Соборна пл\.|вул\. Шевченка"))
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    shot(page, "basemap-resident-map")
    # and a click on the building offers its address and a report there
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    card = page.locator(".leaflet-popup .here-card")
    expect(card.locator(".here-address")).to_have_text("Соборна площа, 1")
    expect(card.locator("a[href^='/report/new/']")).to_be_visible()
    shot(page, "basemap-building-address")
    assert errors == []
    # nothing left the origin
    assert all(url.startswith(live_server.url) for url in page.requests_seen)


def test_the_workspace_map_draws_the_basemap(desktop_page, live_server, users, basemap, city):
    page = desktop_page
    f.ReportFactory(category=city.pothole, department=city.roads, location=f.offset(
        city.centre, 60, 40), description="Яма біля школи")
    login(page, "staff.roads")
    with page.expect_response(_basemap_tile):
        page.goto("/workspace/")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#queue-map")).to_have_attribute("data-basemap-labels", re.compile(r"\S"))
    shot(page, "basemap-workspace-map")


def test_the_dashboard_map_draws_the_basemap(desktop_page, live_server, users, basemap):
    page = desktop_page
    errors = _errors(page)
    login(page, "official")
    with page.expect_response(_basemap_tile):
        page.goto("/dashboard/")
    page.wait_for_load_state("networkidle")
    expect(page.locator(".folium-map .leaflet-control-attribution")).to_contain_text(
        "OpenStreetMap")
    shot(page, "basemap-dashboard-map")
    assert errors == []


def test_a_browser_set_to_english_gets_ukrainian_until_the_user_switches(browser, live_server,
                                                                          city):
    context = browser.new_context(locale="en-GB", base_url=live_server.url,
                                  extra_http_headers={"Accept-Language": "en-GB,en;q=0.9"})
    try:
        page = context.new_page()
        page.goto("/")
        expect(page.locator("html")).to_have_attribute("lang", "uk")
        expect(page.locator("button[name=language][value=en]")).to_be_visible()
        # the user's own choice
        with page.expect_navigation():
            page.click("button[name=language][value=en]")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        # remembered on the next visit
        page.goto("/report/new/")
        expect(page.locator("html")).to_have_attribute("lang", "en")
    finally:
        context.close()
