"""The city map in a real browser: tiles, popups, filters, the text list, the fallback
basemap, the language switch, and a network log that proves nothing leaves the origin."""

from __future__ import annotations

import math
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.gis.geos import LineString
from playwright.sync_api import expect

from layers.geometry import lat_lon
from reports.workflow import Status

from .. import factories as f
from ..browser import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def _map_centre(page) -> tuple[float, float]:
    box = page.locator("#map").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


@pytest.fixture
def reports(city):
    """An open pothole at the centre, a fixed one and an in-progress streetlight nearby."""
    return {
        "open": f.ReportFactory(category=city.pothole, department=city.roads,
                                location=city.centre, description="Яма в центрі",
                                address="проспект Центральний, 1"),
        "fixed": f.ReportFactory(category=city.pothole, department=city.roads,
                                 location=f.offset(city.centre, 300, 200),
                                 status=Status.RESOLVED, description="Залатана яма"),
        "light": f.ReportFactory(category=city.streetlight, department=city.lighting,
                                 location=f.offset(city.centre, -250, 150),
                                 status=Status.IN_PROGRESS, description="Темний двір"),
    }


def test_clicking_a_report_opens_its_card(page, live_server, city, reports):
    errors = _errors(page)
    lat, lon = lat_lon(city.centre)
    with page.expect_response(lambda r: "/tiles/reports/16/" in r.url and r.status == 200):
        page.goto(f"/#16/{lat}/{lon}")
    page.wait_for_load_state("networkidle")
    shot(page, "resident-map-points")
    x, y = _map_centre(page)
    page.mouse.click(x, y)
    card = page.locator(".leaflet-popup .report-card")
    expect(card).to_be_visible()
    expect(card).to_contain_text(f"№{reports['open'].pk}")
    expect(card).to_contain_text("Яма")
    expect(card.locator(f"a[href='/reports/{reports['open'].pk}/']")).to_be_visible()
    shot(page, "resident-map-card")
    assert errors == []


def test_empty_place_offers_to_report_there(page, live_server, city):
    lat, lon = lat_lon(f.offset(city.centre, 2000, 2000))
    page.goto(f"/#16/{lat}/{lon}")
    page.wait_for_load_state("networkidle")
    x, y = _map_centre(page)
    page.mouse.click(x, y)
    link = page.locator(".leaflet-popup a:has-text('Повідомити про проблему тут')")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url("**/report/new/?lat=*")
    expect(page.locator("#location-status")).to_contain_text("Місце вибрано")


def test_low_zoom_shows_counted_bubbles_and_a_click_zooms_in(page, live_server, city, reports):
    lat, lon = lat_lon(city.centre)
    with page.expect_response(lambda r: "/tiles/reports/11/" in r.url and r.status == 200):
        page.goto(f"/#11/{lat}/{lon}")
    page.wait_for_load_state("networkidle")
    x, y = _map_centre(page)
    page.mouse.click(x, y)
    page.wait_for_function("location.hash.startsWith('#13/')")


def test_filters_reach_the_tiles_and_the_list(page, live_server, city, reports):
    lat, lon = lat_lon(city.centre)
    page.goto(f"/#15/{lat}/{lon}")
    page.wait_for_load_state("networkidle")
    # the text list shows the reports in view, as links
    page.click("#btn-list")
    items = page.locator("#report-list li")
    expect(items).to_have_count(3)
    expect(page.locator("#report-list")).to_contain_text(f"№{reports['light'].pk}")
    page.click("[data-close=panel-list]")
    # when the resident filters to "fixed" reports of one category
    page.click("#btn-layers")
    with page.expect_request(lambda r: "/tiles/reports/" in r.url and "status=" in r.url) as req:
        page.select_option("#f-status", "done")
    query = parse_qs(urlparse(req.value.url).query)
    assert set(query["status"][0].split(",")) == {"resolved", "closed"}
    page.select_option("#f-category", "pothole")
    expect(page.locator("#filter-count")).to_have_text("2")
    assert "status=done" in page.url and "category=pothole" in page.url
    shot(page, "resident-map-filters")
    page.click("[data-close=panel-layers]")
    page.click("#btn-list")
    expect(items).to_have_count(1)
    expect(page.locator("#report-list")).to_contain_text(f"№{reports['fixed'].pk}")


def test_hazard_zones_with_the_demo_badge(page, live_server, city):
    f.HazardZoneFactory(name="Поле за гаражами", kind="CHA", is_demo=True,
                        geometry=f.around_centre(300))
    lat, lon = lat_lon(city.centre)
    page.goto(f"/#14/{lat}/{lon}")
    # tiles come in parallel over a handful of connections: allow a slow shared machine
    expect(page.locator("#demo-flag")).to_be_visible(timeout=20_000)
    page.wait_for_load_state("networkidle")
    x, y = _map_centre(page)
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup")
    expect(popup).to_contain_text("Поле за гаражами")
    expect(popup).to_contain_text("Підтверджений небезпечний район")
    expect(popup).to_contain_text("Вигадані демонстраційні дані")
    expect(popup.locator("a[href='tel:101']")).to_be_visible()
    shot(page, "resident-map-hazard-zone")


def test_unreachable_basemap_falls_back_to_the_city_layers(page, live_server, city, settings):
    # given a configured basemap that cannot be reached (nothing listens on port 9)
    settings.BASEMAP_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    settings.BASEMAP_ATTRIBUTION = "Test tiles"
    page.goto("/")
    # then the schematic basemap from the service area and districts is drawn instead
    expect(page.locator("#map.map-fallback")).to_be_visible(timeout=10_000)
    page.wait_for_load_state("networkidle")
    seen = page.requests_seen
    assert any("/tiles/service-area/" in url for url in seen)
    assert any("/tiles/districts/" in url for url in seen)
    shot(page, "resident-map-fallback-basemap")


def test_language_switch_changes_the_ui_to_english(page, live_server, city):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "uk")
    expect(page.locator("#report-cta")).to_contain_text("Повідомити про проблему")
    # when the resident presses "English"
    page.click("button[name=language][value=en]")
    page.wait_for_load_state("networkidle")
    # then the page, its scripts' strings and the next pages are English
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#report-cta")).to_contain_text("Report a problem")
    expect(page.locator("#btn-layers")).to_contain_text("Layers and filters")
    x, y = _map_centre(page)
    page.mouse.click(x, y)
    expect(page.locator(".leaflet-popup")).to_contain_text("Is there a problem here?")
    shot(page, "resident-english-map")
    page.goto("/report/new/")
    expect(page.locator("h1")).to_have_text("Report a problem")
    expect(page.locator("#submit")).to_have_text("Send the report")
    page.click("#submit")
    expect(page.locator("#description-error")).to_have_text("Describe the problem.")
    shot(page, "resident-english-form")
    # and back
    page.click("button[name=language][value=uk]")
    expect(page.locator("html")).to_have_attribute("lang", "uk")


def test_no_request_leaves_the_origin(page, live_server, city, reports):
    # a resident's whole visit: map with every public layer, a popup, the form, a report page
    f.HazardZoneFactory(geometry=f.around_centre(200, dx=800))
    f.InfrastructureFeatureFactory(kind="shelter", geometry=f.offset(city.centre, 60, 60))
    lat, lon = lat_lon(city.centre)
    page.goto(f"/?layers=reports,zones,heat,shelter,invincibility_point,networks#15/{lat}/{lon}")
    page.wait_for_load_state("networkidle")
    page.click("#btn-list")
    page.wait_for_load_state("networkidle")
    page.goto("/report/new/")
    page.locator("#pick-map").scroll_into_view_if_needed()
    box = page.locator("#pick-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.click(".cat-option:has-text('Яма')")
    page.wait_for_load_state("networkidle")
    page.goto(f"/reports/{reports['open'].pk}/")
    page.wait_for_load_state("networkidle")
    # then every request went to this server (data:/blob: URLs never leave the browser)
    origin = live_server.url.rstrip("/")
    outside = [url for url in page.requests_seen
               if not url.startswith(origin + "/") and not url.startswith(("data:", "blob:"))]
    assert outside == []
    assert any("/tiles/heat/" in url for url in page.requests_seen)
    assert any("/api/v1/reports/nearby/" in url for url in page.requests_seen)


def test_staff_see_department_areas(page, live_server, city, users):
    login(page, "staff.roads")
    lat, lon = lat_lon(city.centre)
    page.goto(f"/#13/{lat}/{lon}")
    page.click("#btn-layers")
    with page.expect_response(lambda r: "/tiles/responsibility/" in r.url) as resp:
        page.check("input[name=layer][value=responsibility]")
    assert resp.value.status in (200, 204)
    page.click("[data-close=panel-layers]")
    page.wait_for_load_state("networkidle")
    x, y = _map_centre(page)
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup")
    expect(popup).to_contain_text("Roads citywide")
    expect(popup).to_contain_text("Lighting citywide")
    shot(page, "staff-map-department-areas")


def test_the_list_shows_more_on_request(page, live_server, city):
    for i in range(33):
        f.ReportFactory(category=city.graffiti, department=city.roads,
                        location=f.offset(city.centre, 5 * i, 0), description=f"Графіті {i}")
    lat, lon = lat_lon(city.centre)
    page.goto(f"/#15/{lat}/{lon}")
    page.click("#btn-list")
    items = page.locator("#report-list li")
    expect(items).to_have_count(30)
    page.click("#list-more")
    expect(items).to_have_count(33)
    expect(page.locator("#list-more")).to_be_hidden()


DECODE_TILES = """async (tiles) => {
  const { readLayer } = await import("/static/js/map-tiles.js");
  const out = {};
  for (const [key, name, url] of tiles) {
    const response = await fetch(url);
    const layer = response.status === 200 ? readLayer(await response.arrayBuffer(), name) : null;
    out[key] = layer && { extent: layer.extent, features: layer.features.map((feat) => ({
      type: feat.type, properties: { ...feat.properties },
      parts: feat.geometry.map((part) => part.map(({ x, y }) => [x, y])) })) };
  }
  return out;
}"""


def _tile(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_the_browser_decodes_points_lines_polygons_and_cells_with_the_library(
        page, live_server, city, reports):
    # given a water main and a hazard zone at the centre, besides the three reports
    c = city.centre
    main = LineString((c.x - 2000, c.y + 40), (c.x + 2000, c.y + 40), srid=c.srid)
    f.InfrastructureFeatureFactory(kind="water_main", name="Магістраль 1", geometry=main)
    f.HazardZoneFactory(name="Поле", kind="CHA", geometry=f.around_centre(150, dx=-100))
    lat, lon = lat_lon(c)
    x16, y16 = _tile(lat, lon, 16)
    x15, y15 = _tile(lat, lon, 15)
    x10, y10 = _tile(lat, lon, 10)
    errors = _errors(page)
    page.goto("/")
    # when the map's own module decodes the server's tiles (imported through the import map)
    layers = page.evaluate(DECODE_TILES, [
        ["reports", "reports", f"/tiles/reports/16/{x16}/{y16}.pbf"],
        ["infrastructure", "infrastructure",
         f"/tiles/infrastructure/15/{x15}/{y15}.pbf?kind=water_main"],
        ["hazard-zones", "hazard-zones", f"/tiles/hazard-zones/15/{x15}/{y15}.pbf"],
        ["cells", "reports", f"/tiles/reports/10/{x10}/{y10}.pbf"],
    ])
    # then the open pothole is a point with its typed properties
    [point] = [p for p in layers["reports"]["features"]
               if p["properties"]["id"] == reports["open"].pk]
    extent = layers["reports"]["extent"]
    assert point["type"] == 1 and len(point["parts"]) == 1 and len(point["parts"][0]) == 1
    assert all(0 <= v < extent for v in point["parts"][0][0])
    assert point["properties"]["status"] == reports["open"].status
    assert point["properties"]["overdue"] is False
    assert point["properties"]["category"] == city.pothole.service_code
    # the water main is a line
    [line] = layers["infrastructure"]["features"]
    assert line["type"] == 2 and line["properties"]["kind"] == "water_main"
    assert len(line["parts"][0]) >= 2
    # the hazard zone a polygon with closed rings
    [zone] = layers["hazard-zones"]["features"]
    assert zone["type"] == 3 and zone["properties"]["name"] == "Поле"
    assert all(ring[0] == ring[-1] and len(ring) >= 4 for ring in zone["parts"])
    # and at low zoom the reports come as counted cells
    cells = layers["cells"]["features"]
    assert {cell["type"] for cell in cells} == {1}
    assert sum(cell["properties"]["count"] for cell in cells) == len(reports)
    assert errors == []
