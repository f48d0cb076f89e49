"""import_layer bad input: each gets a clear message, a non-zero exit, and nothing written."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management.base import CommandError
from django.utils import translation

from layers.importing import LayerImportError, layer_import
from layers.models import (
    AddressPoint,
    Department,
    District,
    HazardZone,
    InfrastructureFeature,
    InfrastructureLayer,
    ResponsibilityArea,
    ServiceArea,
)

from .test_import_formats import (
    feature,
    lonlat,
    point,
    responsibility_features,
    run,
    shapefile,
    square,
    write_geojson,
    zip_files,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; Ukrainian (the default) is checked separately."""
    with translation.override("en"):
        yield

MODELS = (ServiceArea, District, Department, ResponsibilityArea, HazardZone,
          InfrastructureLayer, InfrastructureFeature, AddressPoint)


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def refused(*args: str, match: str) -> str:
    """Run import_layer expecting a CommandError matching `match`; nothing may change."""
    before = _counts()
    with pytest.raises(CommandError) as err:
        run(*args)
    assert _counts() == before
    message = str(err.value)
    assert match in message, message
    return message


@pytest.fixture
def good(tmp_path) -> Path:
    return write_geojson(tmp_path / "good.geojson", responsibility_features())


# --- Archives and shapefiles ------------------------------------------------------------------

def test_random_bytes_named_zip(city, tmp_path):
    path = tmp_path / "areas.zip"
    path.write_bytes(os.urandom(2048))
    refused(str(path), "--layer", "responsibility", match="not a readable zip archive")


def test_truncated_zip(city, tmp_path):
    folder = shapefile(tmp_path, responsibility_features())
    whole = zip_files(tmp_path / "whole.zip", sorted(folder.iterdir()))
    path = tmp_path / "truncated.zip"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    refused(str(path), "--layer", "responsibility", match="not a readable zip archive")


def test_zip_with_a_corrupted_member(city, tmp_path):
    folder = shapefile(tmp_path, responsibility_features())
    path = tmp_path / "stored.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, file.name)
    data = bytearray(path.read_bytes())
    offset = data.index(b"\x00\x00\x27\x0a")  # the .shp header's file code (9994)
    data[offset + 200: offset + 210] = b"XXXXXXXXXX"
    path.write_bytes(bytes(data))
    refused(str(path), "--layer", "responsibility", match="fails its checksum")


@pytest.mark.parametrize("part", [".dbf", ".shx"])
def test_zip_missing_a_shapefile_part(city, tmp_path, part):
    folder = shapefile(tmp_path, responsibility_features())
    files = [p for p in sorted(folder.iterdir()) if p.suffix != part]
    path = zip_files(tmp_path / "partial.zip", files)
    refused(str(path), "--layer", "responsibility", match=f"areas{part} missing")


@pytest.mark.parametrize("part", [".dbf", ".shx"])
def test_folder_missing_a_shapefile_part(city, tmp_path, part):
    folder = shapefile(tmp_path, responsibility_features())
    (folder / f"areas{part}").unlink()
    refused(str(folder), "--layer", "responsibility", match=f"areas{part} missing")
    refused(str(folder / "areas.shp"), "--layer", "responsibility",
            match=f"areas{part} missing")


def test_zip_without_gis_data(city, tmp_path):
    readme = tmp_path / "readme.txt"
    readme.write_text("hello")
    path = zip_files(tmp_path / "nothing.zip", [readme])
    refused(str(path), "--layer", "responsibility", match="holds no GIS file")


# --- Projections ----------------------------------------------------------------------------

def test_shapefile_without_prj_needs_srid(city, tmp_path):
    folder = shapefile(tmp_path, responsibility_features())
    (folder / "areas.prj").unlink()
    message = refused(str(folder), "--layer", "responsibility", match="--srid")
    assert "projection" in message


def test_unknown_crs_in_geojson(city, tmp_path):
    path = write_geojson(tmp_path / "odd.geojson", responsibility_features(),
                         crs="urn:ogc:def:crs:EPSG::99999")
    refused(str(path), "--layer", "responsibility", match="projection of odd.geojson is unknown")


def test_unknown_srid_option(city, good):
    refused(str(good), "--layer", "responsibility", "--srid", "99999",
            match="--srid 99999 is not a known EPSG code")


def test_projected_coordinates_declared_as_degrees(city, tmp_path):
    # metres (UTM-like numbers) in a GeoJSON that says nothing, so GDAL assumes WGS 84
    ring = [[400000, 5370000], [401000, 5370000], [401000, 5371000], [400000, 5370000]]
    path = write_geojson(tmp_path / "metres.geojson", [
        feature({"type": "Polygon", "coordinates": [ring]}, name="M", department="roads")])
    refused(str(path), "--layer", "responsibility", match="are not degrees")


# --- Content --------------------------------------------------------------------------------

def test_empty_layer(city, tmp_path):
    path = write_geojson(tmp_path / "empty.geojson", [])
    refused(str(path), "--layer", "responsibility", match="is empty")


def test_empty_geopackage_layer(city, tmp_path):
    path = tmp_path / "empty.gpkg"
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(path), str(write_geojson(
        tmp_path / "e.geojson", [feature(square(), name="x", department="roads")])),
        "-where", "1 = 0", "-nln", "areas"], check=True, capture_output=True)
    refused(str(path), "--layer", "responsibility", match="is empty")


def test_missing_mapped_field(city, good):
    message = refused(str(good), "--layer", "responsibility", "--field-map",
                      "department=VIDDIL", match="The mapped field 'VIDDIL'")
    assert "department, categories, priority" in message or "its fields are" in message


def test_missing_required_field(city, tmp_path):
    path = write_geojson(tmp_path / "nodept.geojson", [feature(square(), name="x")])
    refused(str(path), "--layer", "responsibility",
            match="needs a department field")


def test_unknown_field_map_target(city, good):
    refused(str(good), "--layer", "responsibility", "--field-map", "colour=name",
            match="Unknown --field-map target colour")


def test_malformed_field_map(city, good):
    refused(str(good), "--layer", "responsibility", "--field-map", "department",
            match="expects target=source")


@pytest.mark.parametrize(
    ("layer", "geometry", "needs"),
    [
        ("responsibility", {"type": "LineString", "coordinates": [[35.0, 48.4], [35.1, 48.5]]},
         "LineString; this layer needs polygons"),
        ("hazard", {"type": "Point", "coordinates": [35.0, 48.4]},
         "Point; this layer needs polygons"),
        ("addresses", square(), "Polygon; this layer needs points"),
    ],
)
def test_wrong_geometry_type_names_the_feature(city, tmp_path, layer, geometry, needs):
    fits = point() if layer == "addresses" else square()
    path = write_geojson(tmp_path / "wrong.geojson", [
        feature(fits, name="Гарна", department="roads", street="А", kind="SHA"),
        feature(geometry, name="Погана", department="roads", street="Б", kind="SHA"),
    ])
    message = refused(str(path), "--layer", layer, match=needs)
    assert "#1 «Погана»" in message or "#1 «Б»" in message
    assert "1 of 2 features were refused; nothing was imported." in message


def test_collapsed_polygon_cannot_be_repaired(city, tmp_path):
    # every vertex on one line (in the file's degrees): no area is left to keep
    flat = {"type": "Polygon", "coordinates": [[
        [35.0, 48.4], [35.001, 48.401], [35.002, 48.402], [35.0, 48.4]]]}
    path = write_geojson(tmp_path / "flat.geojson", [
        feature(square(), name="OK", department="roads"),
        feature(flat, name="Пласка", department="roads")])
    message = refused(str(path), "--layer", "responsibility", match="cannot be repaired")
    assert "«Пласка»" in message


def test_spike_only_polygon_cannot_be_repaired(city, tmp_path):
    spike = {"type": "Polygon", "coordinates": [[
        lonlat(0, 0), lonlat(300, 0), lonlat(0, 0), lonlat(0, 0)]]}
    path = write_geojson(tmp_path / "spike.geojson", [
        feature(spike, name="Шпиль", department="roads")])
    refused(str(path), "--layer", "hazard", "--kind", "SHA", match="cannot be repaired")


def test_feature_without_geometry(city, tmp_path):
    path = write_geojson(tmp_path / "null.geojson", [
        feature(None, name="Порожня", department="roads")])
    refused(str(path), "--layer", "responsibility", match="«Порожня»: it has no geometry")


@pytest.mark.parametrize(
    ("props", "match"),
    [
        ({"department": "nobody"}, "the department 'nobody' does not exist"),
        ({"department": "roads", "categories": "pothole,teleport"},
         "unknown category service code(s): teleport"),
        ({"department": "roads", "priority": "high"}, "priority 'high' is not a number"),
        ({"department": "roads", "valid_from": "yesterday"},
         "valid_from 'yesterday' is not a date"),
        ({"department": "roads", "valid_from": "2025-05-01", "valid_to": "2025-01-01"},
         "valid_to 2025-01-01 is before valid_from 2025-05-01"),
        ({"department": "not a slug!"}, "does not exist"),
    ],
)
def test_bad_responsibility_values(city, tmp_path, props, match):
    path = write_geojson(tmp_path / "bad.geojson", [feature(square(), name="B", **props)])
    refused(str(path), "--layer", "responsibility", match=match)


def test_bad_department_code_with_create_departments(city, tmp_path):
    path = write_geojson(tmp_path / "bad.geojson", [
        feature(square(), name="B", department="not a slug!")])
    refused(str(path), "--layer", "responsibility", "--create-departments",
            match="is not a valid code")


@pytest.mark.parametrize(
    ("props", "match"),
    [
        ({"kind": "maybe"}, "kind 'maybe' is not one of SHA, CHA, cancelled, cleared"),
        ({"kind": "SHA", "eo_types": "uxo,rocket"}, "eo_types 'rocket' is not one of"),
        ({"kind": "SHA", "status": "ajar"}, "status 'ajar' is not one of open, closed"),
        ({"kind": "SHA", "public": "perhaps"}, "public 'perhaps' is not true or false"),
    ],
)
def test_bad_hazard_values(city, tmp_path, props, match):
    path = write_geojson(tmp_path / "bad.geojson", [feature(square(), name="Z", **props)])
    refused(str(path), "--layer", "hazard", match=match)


def test_hazard_needs_a_kind(city, tmp_path):
    path = write_geojson(tmp_path / "z.geojson", [feature(square(), name="Z")])
    refused(str(path), "--layer", "hazard", match="Hazard zones need a kind")


def test_infrastructure_needs_a_kind(city, tmp_path):
    path = write_geojson(tmp_path / "i.geojson", [feature(point(), name="I")])
    refused(str(path), "--layer", "infrastructure", match="Infrastructure features need a kind")


def test_all_or_nothing_even_after_batches_were_written(city, tmp_path):
    # given 6 good areas and a bad one last, written in batches of 2
    features = [feature(square(-8000 + 1000 * i, -8000, 300), name=f"Good {i}",
                        department="roads") for i in range(6)]
    features.append(feature(square(0, -8000, 300), name="Bad", department="nobody"))
    path = write_geojson(tmp_path / "mixed.geojson", features)
    before = _counts()
    with pytest.raises(LayerImportError) as err:
        layer_import(path, layer="responsibility", batch_size=2)
    assert _counts() == before
    assert err.value.problems == ["feature #6 «Bad»: the department 'nobody' does not exist "
                                  "(create it first, or import with --create-departments)."]


def test_many_problems_are_listed_up_to_a_limit(city, tmp_path):
    features = [feature(square(100 * i, 0, 10), name=f"F{i}", department="nobody")
                for i in range(25)]
    path = write_geojson(tmp_path / "bad.geojson", features)
    message = refused(str(path), "--layer", "responsibility",
                      match="25 of 25 features were refused")
    assert "… and 5 more." in message


# --- Files and options ----------------------------------------------------------------------

def test_file_that_does_not_exist(city, tmp_path):
    refused(str(tmp_path / "nope.geojson"), "--layer", "responsibility", match="does not exist")


@pytest.mark.parametrize("name", ["garbage.geojson", "garbage.gpkg", "garbage.kml", "garbage"])
def test_unreadable_file(city, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x00\x01 this is not a GIS file \xff" * 20)
    refused(str(path), "--layer", "responsibility", match="cannot be read as a GIS file")


def test_folder_without_a_shapefile(city, tmp_path):
    (tmp_path / "empty").mkdir()
    refused(str(tmp_path / "empty"), "--layer", "responsibility", match="holds no shapefile")


def test_unknown_layer(city, good):
    refused(str(good), "--layer", "roads", match="Unknown layer 'roads'")


@pytest.mark.parametrize(
    ("layer", "kind", "match"),
    [
        ("hazard", "XYZ", "--kind 'XYZ' is not one of SHA, CHA"),
        ("infrastructure", "castle", "--kind 'castle' is not one of shelter"),
        ("responsibility", "SHA", "--kind applies to the hazard and infrastructure layers"),
    ],
)
def test_unknown_kind(city, good, layer, kind, match):
    refused(str(good), "--layer", layer, "--kind", kind, match=match)


def test_several_layers_need_a_choice(city, tmp_path):
    path = tmp_path / "two.gpkg"
    src = write_geojson(tmp_path / "a.geojson", [feature(square(), name="A", department="roads")])
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(path), str(src), "-nln", "one"], check=True)
    subprocess.run(["ogr2ogr", "-update", "-f", "GPKG", str(path), str(src), "-nln", "two"],
                   check=True)
    refused(str(path), "--layer", "responsibility", match="several layers (one, two)")
    refused(str(path), "--layer", "responsibility", "--source-layer", "three",
            match="has no layer 'three'")
    run(str(path), "--layer", "responsibility", "--source-layer", "two")
    assert ResponsibilityArea.objects.filter(name="A").count() == 1


def test_the_command_exits_non_zero_with_the_message(tmp_path):
    # a real process: the exit status and stderr a shell script would see
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "geocity.settings.test",
           "DATABASE_URL": os.environ.get("DATABASE_URL", "")}
    result = subprocess.run(
        [sys.executable, "manage.py", "import_layer", str(tmp_path / "nope.zip"), "--layer",
         "hazard"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "nope.zip не існує" in result.stderr  # Ukrainian first


def test_messages_are_ukrainian_by_default(city, tmp_path):
    path = tmp_path / "areas.zip"
    path.write_bytes(os.urandom(512))
    with translation.override("uk"):
        message = refused(str(path), "--layer", "responsibility", match="areas.zip")
    assert "zip-архів" in message


def test_unknown_encoding(city, good):
    refused(str(good), "--layer", "responsibility", "--encoding", "klingon",
            match="Unknown encoding 'klingon'")
