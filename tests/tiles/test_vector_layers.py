"""The layer tiles besides reports: hazard zones, infrastructure, districts, service area,
responsibility areas."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import LineString
from django.utils import timezone

from layers.models import InfrastructureFeature

from .. import factories as f
from .conftest import features, tile_of

pytestmark = pytest.mark.django_db

Kind = InfrastructureFeature.Kind


def test_hazard_zones_public_and_non_public(city, users, client, login):
    # given a public demo zone and a non-public zone 6 km NE of the centre
    shown = f.HazardZoneFactory(name="Посадка", kind="CHA", is_demo=True)
    secret = f.HazardZoneFactory(name="Closed survey", public=False,
                                 geometry=f.around_centre(200, dx=6400, dy=6000))
    tile = tile_of(f.offset(city.centre, 6000, 6000), 13)
    # then the public sees only the public one, with the contract's attributes
    public = features(client.get(tile.url("hazard-zones")), "hazard-zones")
    assert [ft["properties"] for ft in public] == [
        {"id": shown.pk, "name": "Посадка", "kind": "CHA", "status": "open", "is_demo": True}
    ]
    assert public[0]["geometry"]["type"] == "Polygon"
    # and staff see both
    staff = features(login(users["dsns"]).get(tile.url("hazard-zones")), "hazard-zones")
    assert {ft["properties"]["id"] for ft in staff} == {shown.pk, secret.pk}


def test_restricted_infrastructure_is_absent_for_the_public(city, users, client, login):
    # given a public shelter and a restricted substation at the centre
    layer = f.InfrastructureLayerFactory(code="civil")
    shelter = f.InfrastructureFeatureFactory(layer=layer, kind=Kind.SHELTER, name="Укриття 1",
                                             shelter_type="simplest",
                                             geometry=f.offset(city.centre, 10, 10))
    substation = f.InfrastructureFeatureFactory(
        layer=layer, kind=Kind.SUBSTATION, name="ПС-110",
        sensitivity=InfrastructureFeature.Sensitivity.RESTRICTED,
        geometry=f.offset(city.centre, -10, -10))
    url = tile_of(city.centre, 15).url("infrastructure")
    expected = {
        client: {shelter.pk},
        login(users["resident"]): {shelter.pk},
        login(users["roads"]): {shelter.pk, substation.pk},
        login(users["official"]): {shelter.pk, substation.pk},
    }
    for who, ids in expected.items():
        feats = features(who.get(url), "infrastructure")
        assert {ft["properties"]["id"] for ft in feats} == ids
    props = next(ft["properties"] for ft in features(client.get(url), "infrastructure"))
    assert props == {"id": shelter.pk, "kind": "shelter", "name": "Укриття 1",
                     "shelter_type": "simplest", "layer": "civil"}


def test_infrastructure_by_kind_and_dense_kinds_from_z13(city, client):
    layer = f.InfrastructureLayerFactory(code="city")
    shelter = f.InfrastructureFeatureFactory(layer=layer, kind=Kind.SHELTER,
                                             geometry=city.centre)
    light = f.InfrastructureFeatureFactory(layer=layer, kind=Kind.STREETLIGHT,
                                           geometry=f.offset(city.centre, 5, 0))

    def ids(z, query=""):
        url = tile_of(city.centre, z).url("infrastructure") + query
        return {ft["properties"]["id"] for ft in features(client.get(url), "infrastructure")}

    assert ids(15) == {shelter.pk, light.pk}
    assert ids(15, "?kind=streetlight") == {light.pk}
    assert ids(11) == {shelter.pk}  # streetlights only from z13
    bad = client.get(tile_of(city.centre, 15).url("infrastructure") + "?kind=bunker")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_kind"


def test_infrastructure_lines_are_clipped_lines(city, client):
    c = city.centre
    main = f.InfrastructureFeatureFactory(
        kind=Kind.WATER_MAIN, geometry=LineString((c.x - 3000, c.y), (c.x + 3000, c.y),
                                                  srid=c.srid))
    feats = features(client.get(tile_of(c, 14).url("infrastructure")), "infrastructure")
    assert [ft["properties"]["id"] for ft in feats] == [main.pk]
    assert feats[0]["geometry"]["type"] == "LineString"
    xs = [p[0] for p in feats[0]["geometry"]["coordinates"]]
    assert min(xs) >= -256 and max(xs) <= 4096 + 256  # clipped to tile + buffer


@pytest.mark.parametrize(("lang", "names"), [("uk", {"Західний", "Східний"}),
                                             ("en", {"West", "East"})])
def test_districts_in_the_active_language(city, client, lang, names):
    url = tile_of(city.centre, 12).url("districts")
    feats = features(client.get(url, HTTP_ACCEPT_LANGUAGE=lang), "districts")
    assert {ft["properties"]["name"] for ft in feats} == names
    assert {ft["properties"]["code"] for ft in feats} == {"west", "east"}


def test_service_area(city, client):
    feats = features(client.get(tile_of(city.centre, 9).url("service-area")), "service-area")
    assert [ft["properties"] for ft in feats] == [{"name": "Тестове місто"}]
    assert feats[0]["geometry"]["type"] == "Polygon"


def test_responsibility_is_staff_only(city, users, client, login):
    url = tile_of(city.centre, 11).url("responsibility")
    for who in (client, login(users["resident"])):
        response = who.get(url)
        assert response.status_code == 403
        assert response.json()["code"] == "staff_only"
    # staff see today's areas with department, name and priority
    today = timezone.localdate()
    f.ResponsibilityAreaFactory(department=city.parks, name="Expired",
                                valid_to=today - timedelta(days=1))
    feats = features(login(users["lighting"]).get(url), "responsibility")
    assert sorted((ft["properties"]["department"], ft["properties"]["name"],
                   ft["properties"]["priority"]) for ft in feats) == [
        ("lighting", "Lighting citywide", 0), ("parks", "Parks west", 0),
        ("roads", "Roads citywide", 0)]


def test_layer_edits_invalidate_their_tiles(city, users, client, login,
                                           django_capture_on_commit_callbacks):
    # given the districts tile, cached
    url = tile_of(city.centre, 12).url("districts")
    assert len(features(client.get(url), "districts")) == 2
    # when an administrator deletes a district in the admin (layers.services.layer_changed)
    admin = login(users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/admin/layers/district/{city.west.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    # then the next tile no longer has it
    assert len(features(client.get(url), "districts")) == 1


@pytest.mark.parametrize("layer", ["hazard-zones", "infrastructure", "districts",
                                   "service-area"])
def test_one_query_per_layer_tile(city, client, django_assert_num_queries, layer):
    f.HazardZoneFactory(geometry=f.around_centre(300))
    f.InfrastructureFeatureFactory(geometry=city.centre)
    url = tile_of(city.centre, 13).url(layer)
    with django_assert_num_queries(1):
        assert client.get(url).status_code == 200
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200
