"""export_layer: GeoJSON (RFC 7946) and GeoPackage, and the round trip back through import."""

import json
import subprocess
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from layers.exporting import layer_export
from layers.geometry import to_api
from layers.models import (
    AddressPoint,
    District,
    HazardZone,
    InfrastructureFeature,
    ResponsibilityArea,
    ServiceArea,
)

from .. import factories as f
from .test_import_formats import run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; Ukrainian (the default) is checked separately."""
    with translation.override("en"):
        yield


def export(*args: str) -> str:
    out = StringIO()
    call_command("export_layer", *args, stdout=out)
    return out.getvalue()


def test_geojson_is_wgs84_with_import_field_names(city, tmp_path):
    target = tmp_path / "areas.geojson"
    out = export(str(target), "--layer", "responsibility")
    assert "Wrote 3 features of responsibility" in out
    data = json.loads(target.read_text())
    assert data["type"] == "FeatureCollection" and "crs" not in data
    by_name = {feat["properties"]["name"]: feat for feat in data["features"]}
    parks = by_name["Parks west"]["properties"]
    assert parks == {"department": "parks", "department_name": "Зеленбуд",
                     "name": "Parks west", "categories": "fallen-tree", "priority": 0,
                     "valid_from": None, "valid_to": None}
    ring = by_name["Parks west"]["geometry"]["coordinates"][0][0]
    corner = to_api(f.offset(city.centre, -10_000, -10_000))
    assert min(abs(x - corner.x) + abs(y - corner.y) for x, y in ring) < 1e-6


def test_geojson_in_another_srid_names_its_crs(city, tmp_path):
    target = tmp_path / "districts.geojson"
    export(str(target), "--layer", "districts", "--srid", str(settings.STORAGE_SRID))
    data = json.loads(target.read_text())
    assert data["crs"]["properties"]["name"] == f"urn:ogc:def:crs:EPSG::{settings.STORAGE_SRID}"
    xs = [x for feat in data["features"] for x, _y in feat["geometry"]["coordinates"][0][0]]
    assert min(xs) == pytest.approx(city.centre.x - 10_000, abs=0.01)


def test_geopackage_is_in_the_storage_srid(city, tmp_path):
    target = tmp_path / "areas.gpkg"
    export(str(target), "--layer", "responsibility", "--format", "gpkg")
    info = subprocess.run(["ogrinfo", "-so", "-al", str(target)], capture_output=True,
                          text=True, check=True).stdout
    assert "Layer name: responsibility" in info
    assert "Feature Count: 3" in info
    assert "Multi Polygon" in info
    assert f'ID["EPSG",{settings.STORAGE_SRID}]' in info


def test_public_only_leaves_out_restricted_data(city, tmp_path):
    f.HazardZoneFactory(name="Public")
    f.HazardZoneFactory(name="Secret", public=False)
    f.InfrastructureFeatureFactory(name="Open", sensitivity="public")
    f.InfrastructureFeatureFactory(name="Closed", sensitivity="restricted")
    for layer in ("hazard", "infrastructure"):
        everything, public = tmp_path / f"{layer}-all.geojson", tmp_path / f"{layer}.geojson"
        export(str(everything), "--layer", layer)
        export(str(public), "--layer", layer, "--public-only")
        names = {ft["properties"]["name"] for ft in json.loads(public.read_text())["features"]}
        total = len(json.loads(everything.read_text())["features"])
        assert (total, names) == (2, {"Public"} if layer == "hazard" else {"Open"})


def test_kind_filter(city, tmp_path):
    f.HazardZoneFactory(name="A", kind="SHA")
    f.HazardZoneFactory(name="B", kind="CHA")
    target = tmp_path / "cha.geojson"
    export(str(target), "--layer", "hazard", "--kind", "cha")
    assert [ft["properties"]["name"] for ft in json.loads(target.read_text())["features"]] == ["B"]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--layer", "roads", "x.geojson"], "Unknown layer 'roads'"),
        (["--layer", "districts", "x.txt"], "Give --format geojson or gpkg"),
        (["--layer", "districts", "--kind", "SHA", "x.geojson"], "--kind applies"),
    ],
)
def test_bad_export_options(city, tmp_path, args, match):
    with pytest.raises(CommandError, match=match):
        export(*[str(tmp_path / a) if a.startswith("x.") else a for a in args])
    assert list(tmp_path.iterdir()) == []


# --- Round trips ----------------------------------------------------------------------------

def _snapshot(layer: str) -> list[tuple]:
    """Comparable rows of a layer: attributes, then a geometry measure (area m², length m,
    or x, y) for pytest.approx."""
    def measure(g) -> tuple:
        if g.dims == 2:
            return (g.area,)
        if g.dims == 1:
            return (g.length,)
        return (g.x, g.y)

    if layer == "responsibility":
        rows = ((a.department.code, a.name, a.priority, str(a.valid_from), str(a.valid_to),
                 tuple(sorted(c.service_code for c in a.categories.all())), measure(a.geometry))
                for a in ResponsibilityArea.objects.all())
    elif layer == "hazard":
        rows = ((z.name, z.external_id, z.kind, z.status, tuple(z.eo_types), z.source_org,
                 str(z.survey_date), z.marking, z.public, measure(z.geometry))
                for z in HazardZone.objects.all())
    elif layer == "infrastructure":
        rows = ((i.name, i.kind, i.shelter_type, i.address, i.sensitivity,
                 json.dumps(i.attributes, sort_keys=True), i.geometry.geom_type,
                 measure(i.geometry)) for i in InfrastructureFeature.objects.all())
    elif layer == "districts":
        rows = ((d.code, d.name_uk, d.name_en, measure(d.geometry))
                for d in District.objects.all())
    elif layer == "service-area":
        rows = ((s.code, s.name_uk, s.name_en, measure(s.geometry))
                for s in ServiceArea.objects.all())
    else:
        rows = ((a.street_uk, a.street_en, a.house_number, measure(a.location))
                for a in AddressPoint.objects.all())
    return sorted(rows)


def _same(after: list[tuple], before: list[tuple]) -> None:
    assert [row[:-1] for row in after] == [row[:-1] for row in before]
    for new, old in zip(after, before, strict=True):
        # areas to a millionth (straight edges in WGS 84 vs. in metres), points to 1 cm
        assert new[-1] == pytest.approx(old[-1], rel=1e-6, abs=0.01)


def _extra_data(city):
    f.HazardZoneFactory(name="Поле", external_id="UA-1", kind="CHA", eo_types=["landmine", "uxo"],
                        source_org="ДСНС", marking="fence", public=False,
                        survey_date="2024-02-03")
    f.HazardZoneFactory(name="Ліс", kind="cleared", status="closed", eo_types=[])
    layer = f.InfrastructureLayerFactory(code="shelter")
    f.InfrastructureFeatureFactory(layer=layer, name="Укриття", shelter_type="pru",
                                   address="вул. Ясна, 1", attributes={"capacity": 120},
                                   geometry=f.offset(city.centre, 100, 100))
    f.InfrastructureFeatureFactory(layer=layer, name="Склад", sensitivity="restricted",
                                   geometry=f.offset(city.centre, -100, 100))
    f.AddressPointFactory(street_uk="вулиця Тиха", street_en="Tykha Street", house_number="3",
                          location=f.offset(city.centre, 12.34, 56.78))
    area = city.areas["roads"]
    area.valid_from, area.valid_to, area.priority = "2024-01-01", "2030-12-31", 4
    area.save()


ROUND_TRIP = [
    ("service-area", []), ("districts", []), ("responsibility", []), ("hazard", []),
    ("infrastructure", ["--infrastructure-layer", "shelter", "--kind", "shelter"]),
    ("addresses", []),
]


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
@pytest.mark.parametrize(("layer", "import_args"), ROUND_TRIP)
def test_export_then_import_gives_the_same_layer(city, tmp_path, fmt, layer, import_args):
    # given a layer with every attribute filled in
    _extra_data(city)
    before = _snapshot(layer)
    # when it is exported and imported back over itself
    target = tmp_path / f"{layer}.{fmt}"
    layer_export(target, layer=layer, fmt=fmt)
    run(str(target), "--layer", layer, "--replace", *import_args)
    # then nothing is lost: attributes, categories, areas, positions
    _same(_snapshot(layer), before)
