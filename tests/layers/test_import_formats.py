"""import_layer: every format, from real files the tests write (json) and convert (ogr2ogr).

The helpers at the top (lon/lat squares at metric offsets from the city centre, GeoJSON
writing, ogr2ogr conversion) are shared with the other import/export test modules.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from layers.geometry import to_api
from layers.importing import layer_import
from layers.models import ResponsibilityArea
from layers.services import RULE_AREA, route_report
from reports.models import Report
from tiles.cache import layer_version

from .. import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; Ukrainian (the default) is checked separately."""
    with translation.override("en"):
        yield


# --- File helpers (shared) ------------------------------------------------------------------

def lonlat(dx: float = 0, dy: float = 0) -> list[float]:
    """[lon, lat] of the point dx m east and dy m north of the test city's centre."""
    p = to_api(f.offset(f.centre(), dx, dy))
    return [round(p.x, 8), round(p.y, 8)]


def square(dx: float = 0, dy: float = 0, half: float = 500) -> dict:
    """A GeoJSON Polygon: a square of side 2*half metres centred dx/dy m from the centre."""
    ring = [lonlat(dx - half, dy - half), lonlat(dx + half, dy - half),
            lonlat(dx + half, dy + half), lonlat(dx - half, dy + half)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def point(dx: float = 0, dy: float = 0) -> dict:
    return {"type": "Point", "coordinates": lonlat(dx, dy)}


def feature(geometry: dict | None, **properties) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_geojson(path: Path, features: list[dict], *, crs: str | None = None) -> Path:
    data: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        data["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def ogr2ogr(source: Path, target: Path, driver: str, *args: str) -> Path:
    """Convert with GDAL's own tool, as a GIS user would produce the file."""
    subprocess.run(["ogr2ogr", "-f", driver, str(target), str(source), *args],
                   check=True, capture_output=True)
    return target


def zip_files(target: Path, files: list[Path], *, folder: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, f"{folder}{file.name}")
    return target


def shapefile(tmp_path: Path, features: list[dict], name: str = "areas") -> Path:
    """A shapefile folder (.shp/.shx/.dbf/.prj/.cpg) converted from GeoJSON."""
    source = write_geojson(tmp_path / f"{name}-src.geojson", features)
    folder = tmp_path / f"{name}-shp"
    ogr2ogr(source, folder, "ESRI Shapefile", "-nln", name, "-lco", "ENCODING=UTF-8")
    return folder


def run(*args: str) -> str:
    """call_command with stdout captured."""
    out = StringIO()
    call_command("import_layer", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def responsibility_features() -> list[dict]:
    return [
        feature(square(-3000, 0, 500), name="Ліс", department="parks",
                categories="fallen-tree,graffiti", priority=5, valid_from="2020-01-01"),
        feature(square(3000, 0, 500), name="Сквер", department="parks", categories="",
                priority=3),
    ]


# --- Every format ---------------------------------------------------------------------------

def _geojson(tmp_path):
    return write_geojson(tmp_path / "areas.geojson", responsibility_features())


def _geojson_web_mercator(tmp_path):
    return ogr2ogr(_geojson(tmp_path), tmp_path / "areas-3857.geojson", "GeoJSON",
                   "-t_srs", "EPSG:3857")


def _shapefile_folder(tmp_path):
    return shapefile(tmp_path, responsibility_features())


def _shapefile_shp(tmp_path):
    return _shapefile_folder(tmp_path) / "areas.shp"


def _shapefile_zip(tmp_path):
    folder = _shapefile_folder(tmp_path)
    return zip_files(tmp_path / "areas.zip", sorted(folder.iterdir()), folder="data/")


def _geopackage(tmp_path):
    return ogr2ogr(_geojson(tmp_path), tmp_path / "areas.gpkg", "GPKG",
                   "-t_srs", "EPSG:32636", "-nln", "areas")


def _kml(tmp_path):
    return ogr2ogr(_geojson(tmp_path), tmp_path / "areas.kml", "LIBKML")


def _kmz(tmp_path):
    return ogr2ogr(_geojson(tmp_path), tmp_path / "areas.kmz", "LIBKML")


FORMATS = {
    "geojson": _geojson,
    "geojson-3857": _geojson_web_mercator,
    "shapefile-folder": _shapefile_folder,
    "shapefile-shp": _shapefile_shp,
    "shapefile-zip": _shapefile_zip,
    "geopackage-utm": _geopackage,
    "kml": _kml,
    "kmz": _kmz,
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_imports_responsibility_areas(city, tmp_path, fmt):
    # given a file with two parks areas, 3 km west and east of the centre
    path = FORMATS[fmt](tmp_path)
    before = ResponsibilityArea.objects.count()
    # when it is imported
    out = run(str(path), "--layer", "responsibility")
    # then both areas exist, reprojected to the storage SRID, with their attributes
    assert "2 created" in out
    assert ResponsibilityArea.objects.count() == before + 2
    forest = ResponsibilityArea.objects.get(name="Ліс")
    square_ = ResponsibilityArea.objects.get(name="Сквер")
    assert forest.department == city.parks
    assert (forest.priority, square_.priority) == (5, 3)
    assert sorted(c.service_code for c in forest.categories.all()) == ["fallen-tree", "graffiti"]
    assert not square_.categories.exists()
    assert forest.geometry.geom_type == "MultiPolygon"
    assert forest.geometry.srid == settings.STORAGE_SRID
    assert forest.geometry.area == pytest.approx(1_000_000, rel=0.01)
    assert forest.geometry.centroid.distance(f.offset(f.centre(), -3000, 0)) < 2
    # and routing uses them at once
    decision = route_report(location=f.offset(f.centre(), 3000, 100), category=city.graffiti)
    assert (decision.rule, decision.area_id) == (RULE_AREA, square_.pk)


def test_shapefile_zip_with_files_at_the_root(city, tmp_path):
    folder = _shapefile_folder(tmp_path)
    path = zip_files(tmp_path / "flat.zip", sorted(folder.iterdir()))
    assert "2 created" in run(str(path), "--layer", "responsibility")


def test_field_map_renames_source_fields(city, tmp_path):
    path = write_geojson(tmp_path / "renamed.geojson", [
        feature(square(-2000, 2000), NAZVA="Парк Шевченка", VIDDIL="parks", KAT="fallen-tree",
                PRIOR="7", VID="2024-03-01", DO="01.12.2030"),
    ])
    out = run(str(path), "--layer", "responsibility", "--field-map", "name=NAZVA",
              "department=VIDDIL", "categories=KAT", "priority=PRIOR", "valid_from=VID",
              "valid_to=DO")
    area = ResponsibilityArea.objects.get(name="Парк Шевченка")
    assert (area.priority, str(area.valid_from), str(area.valid_to)) == (
        7, "2024-03-01", "2030-12-01")
    assert "name=NAZVA" in out


def test_field_names_match_case_insensitively(city, tmp_path):
    path = write_geojson(tmp_path / "upper.geojson", [
        feature(square(-2000, 2000), NAME="Upper", DEPARTMENT="parks", PRIORITY=2)])
    run(str(path), "--layer", "responsibility")
    assert ResponsibilityArea.objects.get(name="Upper").priority == 2


def test_create_departments(city, tmp_path):
    path = write_geojson(tmp_path / "new.geojson", [
        feature(square(0, 0), name="A", department="vodokanal", department_name="Водоканал"),
        feature(square(2000, 0), name="B", department="vodokanal"),
    ])
    out = run(str(path), "--layer", "responsibility", "--create-departments")
    assert "New departments: vodokanal" in out
    areas = ResponsibilityArea.objects.filter(department__code="vodokanal")
    assert areas.count() == 2
    assert areas.first().department.name_uk == "Водоканал"


def test_srid_option_for_a_shapefile_without_projection(city, tmp_path):
    folder = shapefile(tmp_path, responsibility_features())
    (folder / "areas.prj").unlink()
    run(str(folder), "--layer", "responsibility", "--srid", "4326")
    assert ResponsibilityArea.objects.filter(name="Ліс").exists()


def test_dry_run_prints_the_summary_and_writes_nothing(
        city, tmp_path, django_capture_on_commit_callbacks):
    path = _geojson(tmp_path)
    before = ResponsibilityArea.objects.count()
    with django_capture_on_commit_callbacks() as callbacks:
        out = run(str(path), "--layer", "responsibility", "--dry-run")
    assert "Dry run: nothing was written." in out
    assert "2 created, 0 updated, 0 deleted (would be)." in out
    assert "Features read: 2" in out
    assert ResponsibilityArea.objects.count() == before
    assert callbacks == []


def test_replace_swaps_the_whole_layer(city, tmp_path):
    path = _geojson(tmp_path)
    out = run(str(path), "--layer", "responsibility", "--replace")
    assert "2 created, 0 updated, 3 deleted" in out
    assert set(ResponsibilityArea.objects.values_list("name", flat=True)) == {"Ліс", "Сквер"}


def test_invalid_polygon_is_repaired_and_named(city, tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[
        lonlat(-500, -500), lonlat(500, 500), lonlat(500, -500), lonlat(-500, 500),
        lonlat(-500, -500)]]}
    path = write_geojson(tmp_path / "bowtie.geojson", [
        feature(bowtie, name="Метелик", department="parks")])
    out = run(str(path), "--layer", "responsibility")
    assert "Repaired invalid geometries (MakeValid): 1" in out
    assert "«Метелик»" in out and "Self-intersection" in out
    area = ResponsibilityArea.objects.get(name="Метелик")
    assert area.geometry.valid
    assert area.geometry.num_geom == 2
    assert area.geometry.area == pytest.approx(500_000, rel=0.01)


def test_multipolygons_and_polygons_mix(city, tmp_path):
    multi = {"type": "MultiPolygon", "coordinates": [
        square(-4000, -4000, 200)["coordinates"], square(4000, 4000, 200)["coordinates"]]}
    path = write_geojson(tmp_path / "multi.geojson", [
        feature(multi, name="Two", department="roads"),
        feature(square(0, -4000, 200), name="One", department="roads")])
    run(str(path), "--layer", "responsibility")
    assert ResponsibilityArea.objects.get(name="Two").geometry.num_geom == 2
    assert ResponsibilityArea.objects.get(name="One").geometry.geom_type == "MultiPolygon"


def test_3d_kml_coordinates_are_flattened(city, tmp_path):
    ring = [[*lonlat(dx, dy), 120.0] for dx, dy in
            ((-300, -300), (300, -300), (300, 300), (-300, 300), (-300, -300))]
    source = write_geojson(tmp_path / "z.geojson", [
        feature({"type": "Polygon", "coordinates": [ring]}, name="Z", department="roads")])
    path = ogr2ogr(source, tmp_path / "z.kml", "LIBKML")
    run(str(path), "--layer", "responsibility")
    assert not ResponsibilityArea.objects.get(name="Z").geometry.hasz


def test_batches_and_progress(city, tmp_path):
    # given 23 areas, written in batches of 5 with a progress callback
    features = [feature(square(-9000 + 700 * i, 8000, 300), name=f"Cell {i}",
                        department="roads") for i in range(23)]
    path = write_geojson(tmp_path / "many.geojson", features)
    seen = {}

    class Bar:
        def __init__(self, total):
            seen["total"], seen["n"] = total, 0

        def update(self, n):
            seen["n"] += n

        def close(self):
            seen["closed"] = True

    summary = layer_import(path, layer="responsibility", batch_size=5, progress=Bar)
    assert summary.created == 23
    assert seen == {"total": 23, "n": 23, "closed": True}
    assert ResponsibilityArea.objects.filter(name__startswith="Cell ").count() == 23


# --- Side effects ---------------------------------------------------------------------------

def test_import_reroutes_untouched_open_reports_on_commit(
        city, tmp_path, django_capture_on_commit_callbacks):
    # given an untouched graffiti report in triage, where the new file makes parks responsible
    report = f.ReportFactory(location=f.offset(f.centre(), 3000, 0), category=city.graffiti,
                             department=None, status="new", routing_rule="triage")
    version = layer_version("responsibility")
    with django_capture_on_commit_callbacks(execute=True):
        out = run(str(_geojson(tmp_path)), "--layer", "responsibility")
    report.refresh_from_db()
    assert "re-routed" in out
    assert report.department == city.parks
    assert report.events.get().type == "rerouted"
    assert layer_version("responsibility") > version


def test_infrastructure_import_bumps_tiles_but_does_not_reroute(
        city, tmp_path, django_capture_on_commit_callbacks):
    path = write_geojson(tmp_path / "lights.geojson", [feature(point(10, 10), name="L1")])
    version = layer_version("infrastructure")
    # a pothole sitting with parks: a re-route would move it to roads
    report = f.ReportFactory(location=f.centre(), category=city.pothole, department=city.parks,
                             routing_rule="area")
    with django_capture_on_commit_callbacks(execute=True):
        out = run(str(path), "--layer", "infrastructure", "--kind", "streetlight")
    assert "re-routed" not in out
    assert layer_version("infrastructure") > version
    assert not report.events.exists()
    assert Report.objects.get().department == city.parks


def test_cp1251_shapefile_names_are_decoded(city, tmp_path):
    # Ukrainian municipal shapefiles often come in Windows-1251 (with a .cpg saying so)
    source = write_geojson(tmp_path / "src.geojson", [
        feature(square(-3000, 0), name="Зелена зона «Ліс»", department="parks")])
    folder = tmp_path / "cp1251"
    ogr2ogr(source, folder, "ESRI Shapefile", "-nln", "areas", "-lco", "ENCODING=CP1251")
    assert "1251" in (folder / "areas.cpg").read_text()
    run(str(folder), "--layer", "responsibility")
    assert ResponsibilityArea.objects.filter(name="Зелена зона «Ліс»").exists()


def test_many_repairs_are_counted_not_all_listed(city, tmp_path):
    def bowtie(dx):
        return {"type": "Polygon", "coordinates": [[
            lonlat(dx - 100, -100), lonlat(dx + 100, 100), lonlat(dx + 100, -100),
            lonlat(dx - 100, 100), lonlat(dx - 100, -100)]]}

    path = write_geojson(tmp_path / "bowties.geojson", [
        feature(bowtie(-9000 + 300 * i), name=f"B{i}", department="roads") for i in range(25)])
    summary = layer_import(path, layer="responsibility")
    assert summary.repaired_count == 25
    assert len(summary.repaired) == 20
    assert "(MakeValid): 25" in "\n".join(summary.lines()) and "(+5)" in "\n".join(
        summary.lines())


def test_encoding_option_for_a_shapefile_without_cpg(city, tmp_path):
    source = write_geojson(tmp_path / "src.geojson", [
        feature(square(-3000, 0), name="Сквер Героїв", department="parks")])
    folder = tmp_path / "nocpg"
    ogr2ogr(source, folder, "ESRI Shapefile", "-nln", "areas", "-lco", "ENCODING=CP1251")
    (folder / "areas.cpg").unlink()
    with pytest.raises(CommandError, match="not UTF-8.*--encoding, e.g. CP1251"):
        run(str(folder), "--layer", "responsibility")
    run(str(folder), "--layer", "responsibility", "--encoding", "CP1251")
    assert ResponsibilityArea.objects.filter(name="Сквер Героїв").exists()
