"""The offline admin map in a real browser: OpenLayers from /static/, the city's own tiles,
the geometry shown and editable, and not one request leaving the origin."""

import json

import pytest

from tests.browser import shot

from .. import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _admin_login(page, live_server):
    f.UserFactory(username="mapadmin", is_staff=True, is_superuser=True)
    page.context.add_cookies([{"name": "django_language", "value": "en",
                               "url": live_server.url}])
    page.goto("/admin/login/")
    page.fill("input[name=username]", "mapadmin")
    page.fill("input[name=password]", "pass")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def test_hazard_zone_map_works_offline(desktop_page, live_server):
    page = desktop_page
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    zone = f.HazardZoneFactory(name="Поле", geometry=f.around_centre(300))
    _admin_login(page, live_server)
    # when the zone's change form opens
    page.goto(f"/admin/layers/hazardzone/{zone.pk}/change/")
    page.wait_for_selector("#id_geometry_map .ol-viewport canvas")
    page.wait_for_load_state("networkidle")
    shot(page, "admin-hazard-zone-map")
    # then OpenLayers runs from the local package and shows the zone
    assert page.evaluate("typeof ol !== 'undefined' && typeof ol.Map === 'function'")
    value = json.loads(page.input_value("#id_geometry"))
    assert value["type"] == "MultiPolygon"
    assert errors == []
    # and every request stayed on the origin (vendor/ol, the districts tiles)
    outside = [u for u in page.requests_seen if not u.startswith(live_server.url)
               and not u.startswith("data:")]
    assert outside == []
    assert any("/static/vendor/ol/dist/ol.js" in u for u in page.requests_seen)
    assert any("/tiles/districts/" in u for u in page.requests_seen)


def test_drawing_a_point_fills_the_field(desktop_page, live_server):
    page = desktop_page
    f.InfrastructureLayerFactory(code="shelters")
    _admin_login(page, live_server)
    page.goto("/admin/layers/addresspoint/add/")
    page.wait_for_selector("#id_location_map .ol-viewport canvas")
    box = page.locator("#id_location_map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    value = json.loads(page.input_value("#id_location"))
    assert value["type"] == "Point"
    # the map opens on the configured city centre (Web Mercator, about 35.05 E 48.46 N)
    x, y = value["coordinates"]
    assert 3_850_000 < x < 3_950_000 and 6_150_000 < y < 6_250_000


def test_upload_page_previews_then_imports(desktop_page, live_server, tmp_path):
    from layers.models import HazardZone

    from .test_import_formats import feature, square, write_geojson

    page = desktop_page
    path = write_geojson(tmp_path / "zones.geojson", [
        feature(square(1000, 1000, 200), name="Поле A", kind="SHA", eo_types="uxo"),
        feature(square(-1000, 1000, 200), name="Поле B", kind="CHA")])
    _admin_login(page, live_server)
    page.goto("/admin/layers/hazardzone/")
    page.click("text=Import from file")
    page.set_input_files("input[name=file]", str(path))
    page.click("input[type=submit]")
    page.wait_for_selector(".import-summary")
    assert "2 created, 0 updated, 0 deleted" in page.inner_text(".import-summary")
    shot(page, "admin-layer-import-preview")
    assert HazardZone.objects.count() == 0
    page.click("input[name=confirm]")
    page.wait_for_url(f"{live_server.url}/admin/layers/hazardzone/")
    assert "Imported." in page.inner_text(".messagelist")
    assert HazardZone.objects.count() == 2
