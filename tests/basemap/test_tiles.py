"""/tiles/basemap/: the OSM basemap as vector tiles, generalised per zoom, labelled in
Ukrainian, within the size budget, cached like the other layers."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from basemap.models import Building
from basemap.services import basemap_import
from tiles.layers import BasemapLayer

from .. import factories as f
from ..tiles.conftest import decode, features, tile_of
from .conftest import DEMO_PBF

pytestmark = pytest.mark.django_db


MAIN_STREET = "проспект Богдана Хмельницького"  # the demo's, 700 m north of the centre


@pytest.fixture
def demo_basemap(db):
    """The demo extract in a 4 x 4 km service area around the centre (quick to import)."""
    f.ServiceAreaFactory(geometry=f.around_centre(2000))
    return basemap_import(path=DEMO_PBF)


def on_main_street():
    """Where the demo's main street near the centre has a building."""
    building = Building.objects.filter(address__street_uk=MAIN_STREET) \
        .select_related("address").order_by("pk").first()
    return building.address.location


def kinds(feats) -> set[str]:
    return {feat["properties"]["kind"] for feat in feats}


def test_low_zooms_draw_main_roads_water_and_parks_and_no_buildings(demo_basemap, client):
    feats = features(client.get(tile_of(f.centre(), 11).url("basemap")), "basemap")
    assert {"street", "park", "rail"} <= kinds(feats)  # (the Dnipro is north of this area)
    assert "building" not in kinds(feats)
    classes = {feat["properties"].get("class") for feat in feats
               if feat["properties"]["kind"] == "street"}
    assert "minor" not in classes  # residential streets from z13
    assert not any("name" in feat["properties"] for feat in feats)  # no labels yet


def test_street_tiles_carry_ukrainian_labels_and_buildings(demo_basemap, client):
    # a tile on the demo's проспект Дмитра Яворницького
    where = on_main_street()
    response = client.get(tile_of(where, 16).url("basemap"))
    feats = features(response, "basemap")
    names = {feat["properties"].get("name") for feat in feats}
    assert "просп. Богдана Хмельницького" in names
    assert "building" in kinds(feats)
    # in draw order: areas and buildings under the streets
    order = [feat["properties"]["kind"] for feat in feats]
    assert max(i for i, k in enumerate(order) if k == "building") < min(
        i for i, k in enumerate(order) if k == "street")
    # the same bytes whatever language the browser speaks (labels are Ukrainian)
    english = client.get(tile_of(where, 16).url("basemap"), HTTP_ACCEPT_LANGUAGE="en")
    assert english.content == response.content
    assert "Accept-Language" not in response.get("Vary", "")


def test_an_empty_tile_is_204(demo_basemap, client):
    far = Point(30.0, 50.0, srid=4326)  # Kyiv: outside the service area
    assert client.get(tile_of(far, 14).url("basemap")).status_code == 204


@pytest.mark.parametrize("z", range(10, 19))
def test_one_query_per_tile_and_none_when_cached(demo_basemap, client, z,
                                                 django_assert_num_queries):
    url = tile_of(f.centre(), z).url("basemap")
    with django_assert_num_queries(1):
        first = client.get(url)
    assert first.status_code in (200, 204)
    with django_assert_num_queries(0):
        again = client.get(url)
    assert again.content == first.content
    assert len(first.content) <= BasemapLayer.SIZE_BUDGET


def _with_budget(client, url, budget, monkeypatch):
    from django.core.cache import cache

    monkeypatch.setattr(BasemapLayer, "SIZE_BUDGET", budget)
    BasemapLayer.TEMPLATES.clear()  # the budget is compiled into the statement
    cache.clear()
    try:
        return client.get(url)
    finally:
        BasemapLayer.TEMPLATES.clear()


def street_classes(feats) -> set[str]:
    return {feat["properties"].get("class") for feat in feats
            if feat["properties"]["kind"] == "street"}


def test_a_tile_over_the_budget_drops_the_details_first(demo_basemap, client, monkeypatch):
    url = tile_of(on_main_street(), 15).url("basemap")
    full = client.get(url)
    assert "building" in kinds(features(full, "basemap"))
    assert {"minor", "primary"} <= street_classes(features(full, "basemap"))
    # given a budget just below this tile: buildings (and paths, service roads) go first
    fewer = features(_with_budget(client, url, len(full.content) - 1, monkeypatch), "basemap")
    assert "building" not in kinds(fewer)
    assert "minor" in street_classes(fewer)
    # given a budget nothing fits: only water, railways and main roads are left
    fewest = features(_with_budget(client, url, 1, monkeypatch), "basemap")
    assert kinds(fewest) <= {"street", "water", "rail"}
    assert street_classes(fewest) == {"primary"}


def test_tilejson_describes_the_layer(client, db):
    data = client.get("/tiles/basemap.json").json()
    assert data["tiles"][0].endswith("/tiles/basemap/{z}/{x}/{y}.pbf")
    assert data["vector_layers"][0]["id"] == "basemap"
    assert set(data["vector_layers"][0]["fields"]) == {"kind", "class", "name"}


def test_a_new_import_is_served_at_once(city, client, django_capture_on_commit_callbacks):
    from .conftest import STREET_NAMES

    url = tile_of(f.centre(), 16).url("basemap")
    assert client.get(url).status_code == 204  # cached empty
    with django_capture_on_commit_callbacks(execute=True):
        basemap_import(path=STREET_NAMES)  # a new import, after its commit
    names = {feat["properties"].get("name") for feat in features(client.get(url), "basemap")}
    assert "вул. Шевченка" in names
    assert decode(client.get(url))  # still a valid tile from the cache
