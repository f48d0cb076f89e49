"""`manage.py import_osm`: real OSM files in, basemap and gazetteer out, all or nothing."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.contrib.gis.db.models import Union
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from basemap.models import BasemapImport, Building, OsmAddress, Park, Railway, Street, Water
from basemap.services import basemap_import
from layers.models import AddressPoint
from layers.selectors import address_nearest, address_search
from tiles import cache as tcache

from .. import factories as f
from .conftest import DEMO_PBF, STREET_NAMES, TRUNCATED

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count()
            for m in (Street, Building, Water, Park, Railway, AddressPoint, OsmAddress,
                      BasemapImport)}


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_osm", *args, stdout=out)
    return out.getvalue()


def test_the_demo_extract_loads_streets_buildings_and_addresses_clipped_to_the_city(city):
    # given the test city, a 20 km square inside the demo's 31 x 21 km extract
    # when the committed demo extract is imported
    out = run(str(DEMO_PBF))
    # then streets with Ukrainian names, buildings, water, parks and the railway are there
    assert "Imported demo_city.osm.pbf." in out
    main = Street.objects.filter(name_uk="проспект Дмитра Яворницького")
    assert main.exists()
    assert {s.name_en for s in main} == {"Dmytra Yavornytskoho Avenue"}
    assert {s.label_uk for s in main} == {"просп. Дмитра Яворницького"}
    assert Street.objects.filter(road_class="minor").count() > 50
    assert Building.objects.count() > 5000
    assert Water.objects.filter(name_uk="Дніпро").exists()
    assert Park.objects.filter(name_uk="парк Глоби").exists()
    assert Railway.objects.exists()
    # clipped: nothing lies outside the service area
    area = city.service_area.geometry
    for model in (Street, Building, Water, Park, Railway):
        outside = model.objects.exclude(geometry__coveredby=area.buffer(0.01))
        assert not outside.exists(), model.__name__
    assert not AddressPoint.objects.exclude(location__coveredby=area).exists()
    # and its addresses are in the gazetteer, each marked as OSM's, most on a building
    record = BasemapImport.objects.get()
    assert record.addresses == AddressPoint.objects.count() == OsmAddress.objects.count() > 5000
    linked = Building.objects.exclude(address=None).count()
    assert linked > 0.95 * Building.objects.count()
    found = address_search("просп. яворницького 1")
    assert found and found[0].street_uk == "проспект Дмитра Яворницького"
    assert address_search("Dmytra Yavornytskoho Avenue 1")


def test_street_names_and_addresses_are_normalised(small_import):
    streets = {s.name_uk: s for s in Street.objects.all()}
    # "вул. Шевченка" is stored in full, labelled short, English by the 2010 table
    assert streets["вулиця Шевченка"].label_uk == "вул. Шевченка"
    assert streets["вулиця Шевченка"].name_en == "Shevchenka Street"
    # name:uk wins over name; name:en is kept
    assert streets["проспект Науки"].name_en == "Nauky Avenue"
    assert "проспект Гагарина" not in streets
    assert streets["Соборна площа"].label_uk == "Соборна пл."
    # unnamed paths are drawn; proposed roads are not
    assert Street.objects.filter(road_class="path", name_uk="").exists()
    assert "вулиця Майбутня" not in streets
    # the abandoned railway is not a railway any more
    assert Railway.objects.count() == 1
    with translation.override("uk"):
        labels = {a.label for a in AddressPoint.objects.all()}
    assert labels == {"вулиця Шевченка, 12-а", "Соборна площа, 1", "Соборна площа, 3",
                      "провулок Тихий, 5", "проспект Науки, 7"}
    # English from the street's name:en where OSM has one
    assert AddressPoint.objects.get(house_number="7").street_en == "Nauky Avenue"
    assert AddressPoint.objects.get(house_number="5").street_en == "Tykhyi Lane"
    # the node at the door of a building with the same address is the same address
    assert small_import.addresses_skipped == 1
    for typed in ("вул шевченка 12а", "шевченка 12-а", "shevchenka st 12", "пров. тихий 5",
                  "просп науки 7", "nauky avenue"):
        assert address_search(typed), typed


def test_a_street_across_the_city_limit_is_cut_at_it(small_import, city):
    far = Street.objects.get(name_uk="вулиця Далека")
    assert city.service_area.geometry.buffer(0.01).covers(far.geometry)
    assert 900 < far.geometry.length < 1100  # 1 km of its 3 km lies inside
    assert not AddressPoint.objects.filter(street_uk="вулиця Далека").exists()


def test_a_click_on_a_building_names_its_address(small_import):
    big = Building.objects.get(address__house_number="1")
    corner = f.offset(big.geometry.centroid, 48, 28)  # near the corner, inside
    assert big.geometry.contains(corner)
    # although the address node "Соборна площа, 3" is nearer to that point
    other = AddressPoint.objects.get(house_number="3")
    assert corner.distance(other.location) < corner.distance(big.address.location)
    assert address_nearest(corner).street_uk == "Соборна площа"
    assert address_nearest(corner).house_number == "1"
    # a building without its own address takes the address node inside it
    assert Building.objects.get(address__house_number="5").address.street_uk == "провулок Тихий"
    # away from buildings: the nearest address within 150 m, or none
    assert address_nearest(f.offset(other.location, 20, 20)).house_number == "3"
    assert address_nearest(f.offset(big.geometry.centroid, 5000, 5000)) is None


def test_a_broken_file_is_refused_and_changes_nothing(city):
    # given an imported basemap
    run(str(STREET_NAMES))
    before = counts()
    # when a damaged extract is imported
    with pytest.raises(CommandError) as refused:
        run(str(TRUNCATED))
    # then the message says what is wrong and nothing changed
    message = str(refused.value)
    assert "truncated.osm.pbf is not a readable OpenStreetMap extract" in message
    assert "Nothing was imported" in message
    assert counts() == before


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("addresses.csv", b"street,number\n", "ends in .osm.pbf"),
    ("noise.osm.pbf", b"\x00\x01 not a protocol buffer at all", "not a readable"),
    ("broken.osm", b"<osm><node id='1' lat='48.4'", "not a readable"),
])
def test_files_that_are_not_extracts_are_refused(city, tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CommandError, match=expected):
        run(str(path))
    assert counts()["Street"] == 0 and counts()["BasemapImport"] == 0


def test_a_missing_file_is_refused(city, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run(str(tmp_path / "ukraine.osm.pbf"))


def test_an_extract_of_another_region_is_refused(city, tmp_path):
    other = tmp_path / "elsewhere.osm"
    other.write_text(STREET_NAMES.read_text(encoding="utf-8").replace('lat="48.', 'lat="50.'),
                     encoding="utf-8")
    with pytest.raises(CommandError, match="nothing inside|no streets"):
        run(str(other))
    assert counts()["BasemapImport"] == 0


def test_without_a_service_area_nothing_can_be_clipped(db):
    with pytest.raises(CommandError, match="no service area"):
        run(str(STREET_NAMES))


def test_a_dry_run_writes_nothing(city):
    out = run(str(STREET_NAMES), "--dry-run")
    assert "Dry run of street_names.osm: nothing was written." in out
    assert "Streets: 7" in out or "Streets:" in out
    assert all(n == 0 for n in counts().values())


def test_a_new_import_replaces_the_last_one_and_keeps_other_addresses(city):
    # given an address from the city's own register and a first import
    own = f.AddressPointFactory(street_uk="вулиця Власна", house_number="1",
                                search_text="вулиця власна 1", location=f.centre())
    basemap_import(path=STREET_NAMES)
    first = set(AddressPoint.objects.values_list("pk", flat=True))
    # when the same extract is imported again
    basemap_import(path=STREET_NAMES)
    # then the basemap and OSM addresses are replaced, not doubled, and the own one is kept
    assert Street.objects.filter(name_uk="вулиця Шевченка").count() == 1
    assert AddressPoint.objects.filter(street_uk="вулиця Шевченка").count() == 1
    assert AddressPoint.objects.filter(pk=own.pk).exists()
    assert set(AddressPoint.objects.values_list("pk", flat=True)) != first
    assert BasemapImport.objects.count() == 2


def test_an_address_the_city_already_has_is_not_added_again(city):
    # given the city's own register holds "вулиця Шевченка, 12-а" at the building
    building_point = f.offset(f.centre(), 30, 17)
    own = f.AddressPointFactory(street_uk="вулиця Шевченка", house_number="12-а",
                                search_text="вулиця шевченка 12-а", location=building_point)
    record = basemap_import(path=STREET_NAMES)
    assert AddressPoint.objects.filter(street_uk="вулиця Шевченка").count() == 1
    assert record.addresses_skipped == 2  # the building's and its door node's
    # the building offers the city's own address
    assert Building.objects.get(address__house_number="12-а").address == own


def test_the_tile_cache_is_bumped_after_the_commit(city, django_capture_on_commit_callbacks):
    before = tcache.layer_version("basemap")
    with django_capture_on_commit_callbacks(execute=True):
        basemap_import(path=STREET_NAMES)
    assert tcache.layer_version("basemap") == before + 1


def test_the_service_area_clip_covers_what_is_imported(small_import, city):
    union = Street.objects.aggregate(u=Union("geometry"))["u"]
    assert city.service_area.geometry.buffer(0.01).covers(union)


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_non_zero_with_a_ukrainian_message(settings, city):
    # the command as an operator runs it (default language), on this test's database
    from django.db import connection

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DATABASE_URL"] = (f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}"
                           f"/{db['NAME']}")
    done = subprocess.run(
        [sys.executable, "manage.py", "import_osm", "tests/basemap/data/truncated.osm.pbf"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "не є придатним для читання витягом OpenStreetMap" in done.stderr
    assert "Нічого не імпортовано" in done.stderr
    assert not Street.objects.exists()
