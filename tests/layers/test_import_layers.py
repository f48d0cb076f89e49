"""import_layer for each target layer: districts, service area, hazard zones, infrastructure,
addresses (the responsibility layer is covered format by format in test_import_formats)."""

import pytest
from django.utils import translation

from layers.models import (
    AddressPoint,
    District,
    HazardZone,
    InfrastructureFeature,
    InfrastructureLayer,
    ServiceArea,
)
from layers.selectors import address_search, hazard_check
from layers.services import OutsideServiceArea, route_report
from reports.models import Report

from .. import factories as f
from .test_import_formats import feature, ogr2ogr, point, run, square, write_geojson

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; Ukrainian (the default) is checked separately."""
    with translation.override("en"):
        yield


# --- Districts ------------------------------------------------------------------------------

def test_districts_are_upserted_by_code_and_reports_keep_them(city, tmp_path):
    # given a report in the west district
    report = f.ReportFactory(location=f.offset(city.centre, -500, 0), district=city.west)
    path = write_geojson(tmp_path / "districts.geojson", [
        feature(square(-5000, 0, 5000), code="west", name="Західний (новий)", name_en="West"),
        feature(square(5000, 0, 5000), code="north", name="Північний"),
    ])
    # when the districts file is imported without --replace
    out = run(str(path), "--layer", "districts")
    # then west is updated in place and north added; the report keeps its district
    assert "1 created, 1 updated, 0 deleted" in out
    city.west.refresh_from_db()
    assert city.west.name_uk == "Західний (новий)"
    assert District.objects.count() == 3
    report.refresh_from_db()
    assert report.district_id == city.west.pk


def test_districts_replace_deletes_those_not_in_the_file(city, tmp_path):
    path = write_geojson(tmp_path / "districts.geojson", [
        feature(square(-5000, 0, 5000), code="west", name="Західний")])
    out = run(str(path), "--layer", "districts", "--replace")
    assert "0 created, 1 updated, 1 deleted" in out
    assert list(District.objects.values_list("code", flat=True)) == ["west"]


def test_district_codes_must_be_unique_in_the_file(city, tmp_path):
    path = write_geojson(tmp_path / "dup.geojson", [
        feature(square(-5000, 0), code="x", name="A"), feature(square(5000, 0), code="x")])
    with pytest.raises(Exception, match="appears twice"):
        run(str(path), "--layer", "districts")
    assert not District.objects.filter(code="x").exists()


# --- Service area ---------------------------------------------------------------------------

def test_service_area_replace_changes_what_is_inside(city, tmp_path):
    path = write_geojson(tmp_path / "city.geojson", [
        feature(square(0, 0, 3000), name="Нове місто", name_en="New city", code="UA12")])
    run(str(path), "--layer", "service-area", "--replace")
    area = ServiceArea.objects.get()
    assert (area.name_uk, area.name_en, area.code) == ("Нове місто", "New city", "UA12")
    with pytest.raises(OutsideServiceArea) as err:
        route_report(location=f.offset(city.centre, 4000, 0), category=city.pothole)
    assert err.value.extra["distance_m"] == pytest.approx(1000, abs=1)


# --- Hazard zones ---------------------------------------------------------------------------

def test_hazard_zones_with_imas_attributes(city, tmp_path):
    path = write_geojson(tmp_path / "zones.geojson", [
        feature(square(2000, 2000, 200), name="Поле 1", id="UA-0001", kind="cha",
                status="Open", eo_types="UXO; landmine", source_org="ДСНС",
                survey_date="2024-05-01", marking="fenced", public="false"),
        feature(square(-2000, 2000, 200), name="Поле 2", status="closed"),
    ])
    run(str(path), "--layer", "hazard", "--kind", "SHA")
    first, second = HazardZone.objects.order_by("name")
    assert (first.kind, first.status, first.external_id) == ("CHA", "open", "UA-0001")
    assert first.eo_types == ["landmine", "uxo"]
    assert (first.source_org, str(first.survey_date), first.marking) == (
        "ДСНС", "2024-05-01", "fenced")
    assert first.public is False
    assert (second.kind, second.status, second.public) == ("SHA", "closed", True)
    # the open zone triggers the safety notice; the closed one does not
    assert hazard_check(f.offset(city.centre, 2000, 2000)).near is True
    assert hazard_check(f.offset(city.centre, -2000, 2000)).near is False


def test_hazard_import_from_a_geopackage_with_a_kind_field(city, tmp_path):
    source = write_geojson(tmp_path / "zones.geojson", [
        feature(square(1000, 1000, 100), name="Z", kind="cleared")])
    path = ogr2ogr(source, tmp_path / "zones.gpkg", "GPKG", "-t_srs", "EPSG:3857")
    run(str(path), "--layer", "hazard")
    assert HazardZone.objects.get().kind == "cleared"


def test_hazard_import_reroutes_reports_into_the_emergency_service(
        city, tmp_path, django_capture_on_commit_callbacks):
    report = f.ReportFactory(location=f.offset(city.centre, 2000, 2000), category=city.pothole,
                             department=city.roads, routing_rule="area")
    path = write_geojson(tmp_path / "zones.geojson", [feature(square(2000, 2000, 200),
                                                              name="Z")])
    with django_capture_on_commit_callbacks(execute=True):
        run(str(path), "--layer", "hazard", "--kind", "SHA")
    report.refresh_from_db()
    assert (report.department, report.is_hazard) == (city.dsns, True)


# --- Infrastructure -------------------------------------------------------------------------

def test_infrastructure_of_any_geometry_with_attributes(city, tmp_path):
    line = {"type": "LineString", "coordinates": [
        point(0, 0)["coordinates"], point(500, 0)["coordinates"]]}
    path = write_geojson(tmp_path / "shelters.geojson", [
        feature(point(100, 100), name="Укриття №1", shelter_type="pru", address="вул. Ясна, 1",
                capacity=120, ramp=True, sensitivity="restricted"),
        feature(line, name="Тепломережа", kind="heating_main", diameter_mm=400),
        feature(square(0, 0, 50), name="Сквер-укриття"),
    ])
    run(str(path), "--layer", "infrastructure", "--kind", "shelter",
        "--infrastructure-layer", "shelters")
    layer = InfrastructureLayer.objects.get(code="shelters")
    shelter = InfrastructureFeature.objects.get(name="Укриття №1")
    assert shelter.layer == layer
    assert (shelter.kind, shelter.shelter_type, shelter.address) == (
        "shelter", "pru", "вул. Ясна, 1")
    assert shelter.sensitivity == "restricted"
    assert shelter.attributes == {"capacity": 120, "ramp": True}
    main = InfrastructureFeature.objects.get(name="Тепломережа")
    assert (main.kind, main.geometry.geom_type) == ("heating_main", "LineString")
    assert main.attributes == {"diameter_mm": 400}
    assert InfrastructureFeature.objects.get(name="Сквер-укриття").geometry.geom_type == "Polygon"


def test_infrastructure_replace_touches_only_its_own_layer(city, tmp_path):
    other = f.InfrastructureFeatureFactory(layer=f.InfrastructureLayerFactory(code="lights"),
                                           kind="streetlight")
    old = f.InfrastructureFeatureFactory(layer=f.InfrastructureLayerFactory(code="shelter"))
    path = write_geojson(tmp_path / "s.geojson", [feature(point(), name="New")])
    out = run(str(path), "--layer", "infrastructure", "--kind", "shelter", "--replace")
    assert "1 created, 0 updated, 1 deleted" in out
    assert InfrastructureFeature.objects.filter(pk=other.pk).exists()
    assert not InfrastructureFeature.objects.filter(pk=old.pk).exists()


def test_infrastructure_from_kml_keeps_no_kml_housekeeping(city, tmp_path):
    source = write_geojson(tmp_path / "p.geojson", [feature(point(5, 5), name="ПН-1",
                                                            capacity=300)])
    path = ogr2ogr(source, tmp_path / "p.kml", "LIBKML")
    run(str(path), "--layer", "infrastructure", "--kind", "invincibility_point")
    item = InfrastructureFeature.objects.get()
    assert item.name == "ПН-1"
    assert item.attributes == {"capacity": 300}


# --- Addresses ------------------------------------------------------------------------------

def test_addresses_feed_the_gazetteer(city, tmp_path):
    first = write_geojson(tmp_path / "addr1.geojson", [
        feature(point(10, 20), street="вулиця Січеславська", street_en="Sicheslavska Street",
                house_number="12А")])
    second = write_geojson(tmp_path / "addr2.geojson", [
        feature({"type": "MultiPoint", "coordinates": [point(30, 40)["coordinates"]]},
                VULYTSIA="проспект Яворницького", NOMER=5)])
    run(str(first), "--layer", "addresses")
    assert address_search("січеславська 12а")[0].street_en == "Sicheslavska Street"
    run(str(second), "--layer", "addresses", "--replace",
        "--field-map", "street=VULYTSIA", "house_number=NOMER")
    # the second import replaced the first
    addr = AddressPoint.objects.get()
    assert (addr.street_uk, addr.house_number) == ("проспект Яворницького", "5")
    assert addr.location.distance(f.offset(city.centre, 30, 40)) < 0.5
    assert address_search("яворницького 5") == [addr]


def test_addresses_search_text_has_both_languages(city, tmp_path):
    path = write_geojson(tmp_path / "addr.geojson", [
        feature(point(), street="вулиця Тиха", street_en="Tykha Street", house_number="3")])
    run(str(path), "--layer", "addresses")
    assert [a.house_number for a in address_search("tykha 3")] == ["3"]


def test_no_reports_are_touched_by_address_imports(city, tmp_path):
    f.ReportFactory(location=city.centre, department=city.roads)
    path = write_geojson(tmp_path / "addr.geojson", [feature(point(), street="вулиця А")])
    run(str(path), "--layer", "addresses")
    assert not Report.objects.filter(events__isnull=False).exists()
