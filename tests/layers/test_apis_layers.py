"""REST contract of the layers endpoints: departments/, hazard-check/, geocode/,
geocode/reverse/ and layers/* (GeoJSON in WGS 84, sensitivity rules, bounded output,
simplified boundaries)."""

from __future__ import annotations

import math

import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Polygon
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from layers import apis as layer_apis
from layers.geometry import lat_lon, to_api

from .. import factories as f

pytestmark = pytest.mark.django_db


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    data = response.json()
    assert data["code"] == code, data
    return data


def at(city, dx=0, dy=0) -> dict:
    lat, lon = lat_lon(f.offset(city.centre, dx, dy))
    return {"lat": lat, "lon": lon}


# --- departments/ -----------------------------------------------------------------------------

def test_departments(api, city):
    data = api.get("/api/v1/departments/?lang=en").json()
    by_code = {d["code"]: d for d in data}
    assert set(by_code) == {"roads", "lighting", "parks", "dsns"}
    assert by_code["dsns"] == {"code": "dsns", "name": "SES", "name_uk": "ДСНС",
                               "name_en": "SES", "kind": "state",
                               "kind_display": "State service",
                               "is_emergency_service": True}


# --- hazard-check/ ----------------------------------------------------------------------------

@pytest.fixture
def zones(city):
    """A public SHA 300 m square around (6000, 6000) and a non-public CHA at (-6000, -6000)."""
    public = f.HazardZoneFactory(name="Public SHA")
    secret = f.HazardZoneFactory(name="Secret CHA", kind="CHA", public=False,
                                 geometry=f.around_centre(300, dx=-6000, dy=-6000))
    return public, secret


@pytest.mark.parametrize("where, near, inside, listed", [
    ((6000, 6000), True, True, ["Public SHA"]),
    ((6000, 6350), True, False, ["Public SHA"]),  # 50 m from the edge
    ((6000, 6500), False, False, []),  # 200 m away
    ((-6000, -6000), True, True, []),  # non-public: the notice, no zone details
])
def test_hazard_check_for_the_public(api, city, zones, where, near, inside, listed):
    # given open hazard zones, one of them not public
    # when a resident checks a point
    data = api.get("/api/v1/hazard-check/", at(city, *where)).json()
    # then near/inside, the visible zones and the ДСНС notice when near any
    assert (data["near"], data["inside"]) == (near, inside)
    assert [z["name"] for z in data["zones"]] == listed
    assert (data["notice"] is not None) is near
    if near:
        assert data["notice"]["emergency_phone"] == "101"
        assert data["notice"]["title"]["uk"] and data["notice"]["title"]["en"]
    for zone in data["zones"]:
        assert set(zone) == {"id", "name", "kind", "distance_m", "is_demo"}


def test_hazard_check_staff_see_non_public_zones(api, city, users, zones):
    api.force_authenticate(users["dsns"])
    data = api.get("/api/v1/hazard-check/", at(city, -6000, -6350)).json()
    assert [(z["name"], z["kind"], round(z["distance_m"])) for z in data["zones"]] == [
        ("Secret CHA", "CHA", 50)]


@pytest.mark.parametrize("query", ["", "lat=48.4", "lat=abc&lon=35", "lat=48&lon=181",
                                   "lat=nan&lon=35", "lat=1e999&lon=35"])
def test_hazard_check_bad_coordinates(api, city, query):
    error(api.get(f"/api/v1/hazard-check/?{query}"), 400, "invalid_location")


# --- geocode/ -------------------------------------------------------------------------------

@pytest.fixture
def addresses(city):
    return [
        f.AddressPointFactory(street_uk="вулиця Шевченка", street_en="Shevchenka Street",
                              house_number="5", location=f.offset(city.centre, 0, 0),
                              search_text="вулиця шевченка 5 shevchenka street 5"),
        f.AddressPointFactory(street_uk="вулиця Шевченка", street_en="Shevchenka Street",
                              house_number="7", location=f.offset(city.centre, 40, 0),
                              search_text="вулиця шевченка 7 shevchenka street 7"),
        f.AddressPointFactory(street_uk="проспект Миру", street_en="Myru Avenue",
                              house_number="1", location=f.offset(city.centre, 2000, 0),
                              search_text="проспект миру 1 myru avenue 1"),
    ]


def test_geocode_search(api, city, addresses):
    # given three gazetteer addresses
    # when searched by street and number, in either language
    uk = api.get("/api/v1/geocode/", {"q": "Шевченка 7"}).json()
    en = api.get("/api/v1/geocode/", {"q": "shevchenka", "lang": "en"}).json()
    # then the matches come with WGS 84 coordinates
    lat, lon = lat_lon(addresses[1].location)
    assert uk == [{"label": "вулиця Шевченка, 7", "lat": lat, "lon": lon}]
    assert [a["label"] for a in en] == ["Shevchenka Street, 5", "Shevchenka Street, 7"]


@pytest.mark.parametrize("query", ["", "q=", "q=%20%20", "q=" + "x" * 201, "q=a&limit=0"])
def test_geocode_bad_queries(api, city, query):
    error(api.get(f"/api/v1/geocode/?{query}"), 400, "invalid")


def test_reverse_geocode(api, city, addresses):
    # given a pin 10 m from house 7 and another far from any address
    found = api.get("/api/v1/geocode/reverse/", at(city, 45, 5))
    missing = api.get("/api/v1/geocode/reverse/", at(city, -3000, -3000))
    # then the nearest address, or 404
    assert found.status_code == 200
    assert found.json()["label"] == "вулиця Шевченка, 7"
    error(missing, 404, "address_not_found")
    error(api.get("/api/v1/geocode/reverse/?lat=95&lon=35"), 400, "invalid_location")


# --- layers/hazard-zones/ -----------------------------------------------------------------

def test_hazard_zone_layer_applies_sensitivity(api, city, users, zones):
    # given a public and a non-public zone
    public, secret = zones
    # when the public and ДСНС staff read the layer
    anonymous = api.get("/api/v1/layers/hazard-zones/").json()
    api.force_authenticate(users["dsns"])
    staff = api.get("/api/v1/layers/hazard-zones/").json()
    # then the public sees only the public zone, as a WGS 84 MultiPolygon Feature
    assert [x["id"] for x in anonymous["features"]] == [public.pk]
    feature = anonymous["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    ring = feature["geometry"]["coordinates"][0][0]
    expected = to_api(public.geometry).coords[0][0]
    assert [tuple(p) for p in ring] == [pytest.approx(p, abs=1e-6) for p in expected]
    assert feature["properties"]["kind"] == "SHA"
    assert {x["id"] for x in staff["features"]} == {public.pk, secret.pk}


def test_hazard_zone_layer_filters(api, city, zones):
    public, _ = zones
    f.HazardZoneFactory(name="Closed", status="closed",
                        geometry=f.around_centre(100, dx=-2000, dy=2000))
    only_open = api.get("/api/v1/layers/hazard-zones/?status=open").json()
    assert [x["id"] for x in only_open["features"]] == [public.pk]
    c = to_api(f.offset(city.centre, 6000, 6000))
    bbox = f"{c.x - 0.01},{c.y - 0.01},{c.x + 0.01},{c.y + 0.01}"
    assert [x["id"] for x in api.get(f"/api/v1/layers/hazard-zones/?in_bbox={bbox}")
            .json()["features"]] == [public.pk]
    error(api.get("/api/v1/layers/hazard-zones/?status=maybe"), 400, "invalid_status")
    error(api.get("/api/v1/layers/hazard-zones/?in_bbox=1,2"), 400, "invalid_bbox")


# --- layers/infrastructure/ ---------------------------------------------------------------

@pytest.fixture
def infrastructure(city):
    shelters = f.InfrastructureLayerFactory(code="shelters", name_uk="Укриття",
                                            name_en="Shelters", colour="#00aa00")
    mains = f.InfrastructureLayerFactory(code="heating", name_uk="Тепломережі")
    shelter = f.InfrastructureFeatureFactory(layer=shelters, name="School shelter",
                                             shelter_type="pru",
                                             attributes={"capacity": 120})
    point = f.InfrastructureFeatureFactory(layer=shelters, name="Invincibility Point",
                                           kind="invincibility_point",
                                           geometry=f.offset(city.centre, 3000, 3000))
    pipe = f.InfrastructureFeatureFactory(
        layer=mains, name="Heating main", kind="heating_main", sensitivity="restricted",
        geometry=LineString(f.offset(city.centre, 0, 0), f.offset(city.centre, 500, 0),
                            srid=city.centre.srid))
    return {"shelter": shelter, "point": point, "pipe": pipe}


def test_infrastructure_hides_restricted_features_from_the_public(api, city, users,
                                                                   infrastructure):
    # given public shelters and a restricted heating main
    # when the public and a clerk read the layer
    public = api.get("/api/v1/layers/infrastructure/").json()
    api.force_authenticate(users["roads"])
    staff = api.get("/api/v1/layers/infrastructure/").json()
    # then the heating main is staff-only; features carry their layer and WGS 84 geometry
    assert {x["id"] for x in public["features"]} == {infrastructure["shelter"].pk,
                                                     infrastructure["point"].pk}
    assert (public["truncated"], public["limit"]) == (False, 2000)
    assert {x["id"] for x in staff["features"]} == {i.pk for i in infrastructure.values()}
    shelter = next(x for x in public["features"] if x["id"] == infrastructure["shelter"].pk)
    assert shelter["properties"]["layer"] == {"code": "shelters", "name": "Укриття",
                                              "colour": "#00aa00"}
    assert shelter["properties"]["shelter_type"] == "pru"
    assert shelter["properties"]["attributes"] == {"capacity": 120}
    pipe = next(x for x in staff["features"] if x["id"] == infrastructure["pipe"].pk)
    assert pipe["geometry"]["type"] == "LineString"


def test_infrastructure_filters(api, city, users, infrastructure):
    api.force_authenticate(users["roads"])
    kinds = api.get("/api/v1/layers/infrastructure/?kind=shelter,heating_main").json()
    assert {x["id"] for x in kinds["features"]} == {infrastructure["shelter"].pk,
                                                    infrastructure["pipe"].pk}
    layer = api.get("/api/v1/layers/infrastructure/?layer=heating").json()
    assert [x["id"] for x in layer["features"]] == [infrastructure["pipe"].pk]
    c = to_api(f.offset(city.centre, 3000, 3000))
    bbox = f"{c.x - 0.001},{c.y - 0.001},{c.x + 0.001},{c.y + 0.001}"
    boxed = api.get(f"/api/v1/layers/infrastructure/?in_bbox={bbox}").json()
    assert [x["id"] for x in boxed["features"]] == [infrastructure["point"].pk]
    error(api.get("/api/v1/layers/infrastructure/?kind=bunker"), 400, "invalid_kind")


def test_infrastructure_is_bounded(api, city, infrastructure, monkeypatch):
    # given a cap of one feature per response
    monkeypatch.setattr(layer_apis, "INFRASTRUCTURE_MAX_FEATURES", 1)
    # when the whole layer is asked for without a box, and then with one
    whole = api.get("/api/v1/layers/infrastructure/")
    c = to_api(city.centre)
    boxed = api.get(f"/api/v1/layers/infrastructure/?in_bbox={c.x - 0.1},{c.y - 0.1},"
                    f"{c.x + 0.1},{c.y + 0.1}").json()
    # then without a box it is refused, with one the first feature comes, marked truncated
    error(whole, 400, "bbox_required")
    assert len(boxed["features"]) == 1 and boxed["truncated"] is True


# --- layers/districts/ and layers/service-area/ -------------------------------------------

def _wiggly(cx: float, cy: float, radius: float, points: int = 720) -> MultiPolygon:
    """A circle-ish polygon with 2 m of noise on every vertex: lots of removable detail."""
    ring = []
    for i in range(points):
        a = 2 * math.pi * i / points
        r = radius + (2 if i % 2 else -2)
        ring.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    ring.append(ring[0])
    return MultiPolygon(Polygon(ring, srid=f.centre().srid), srid=f.centre().srid)


@pytest.mark.parametrize("url, model", [("/api/v1/layers/districts/", "district"),
                                        ("/api/v1/layers/service-area/", "service_area")])
def test_boundaries_are_simplified(api, city, url, model):
    # given a boundary with 720 noisy vertices
    c = city.centre
    obj = city.west if model == "district" else city.service_area
    obj.geometry = _wiggly(c.x, c.y, 3000)
    obj.save()
    # when the layer is read with the default tolerance, and with none
    simplified = api.get(url).json()
    full = api.get(f"{url}?simplify=0").json()
    # then the default drops the noise but keeps the shape, in WGS 84, as MultiPolygons
    def ring(data):
        feature = next(x for x in data["features"] if x["id"] == obj.pk)
        assert feature["geometry"]["type"] == "MultiPolygon"
        return feature["geometry"]["coordinates"][0][0]

    assert len(ring(full)) == 721
    assert 4 <= len(ring(simplified)) < 200
    lon, lat = ring(simplified)[0]
    assert 34 < lon < 36 and 48 < lat < 49
    feature = next(x for x in simplified["features"] if x["id"] == obj.pk)
    assert {"code", "name", "name_uk", "name_en"} <= set(feature["properties"])


@pytest.mark.parametrize("query", ["simplify=-1", "simplify=abc", "simplify=5000"])
def test_boundaries_bad_tolerance(api, city, query):
    error(api.get(f"/api/v1/layers/districts/?{query}"), 400, "invalid")


# --- Query counts --------------------------------------------------------------------------

def _add_layer_objects(city, n: int) -> None:
    layer = f.InfrastructureLayerFactory(code="counted")
    for i in range(n):
        f.InfrastructureFeatureFactory(layer=layer, geometry=f.offset(city.centre, i, i))
        f.HazardZoneFactory(geometry=f.around_centre(10, dx=100 * i, dy=-4000))
        f.DistrictFactory(geometry=f.around_centre(10, dx=100 * i, dy=4000))


@pytest.mark.parametrize("url", ["/api/v1/layers/infrastructure/",
                                 "/api/v1/layers/hazard-zones/", "/api/v1/layers/districts/",
                                 "/api/v1/departments/"])
def test_layer_query_count_does_not_grow(api, city, users, url, django_assert_max_num_queries):
    # given a signed-in clerk (token: the user is loaded afresh for every request)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users['roads']).key}")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(url).status_code == 200
        return len(ctx.captured_queries)

    # when the layer is read with a few and with many more objects
    _add_layer_objects(city, 2)
    few = count()
    _add_layer_objects(city, 10)
    # then the number of queries stays the same, and small
    assert count() == few
    with django_assert_max_num_queries(6):
        api.get(url)
