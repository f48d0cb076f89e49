"""`import_osm` on a real OpenStreetMap extract, as mapped by people rather than generated:
the centre of Helsinki (tests/basemap/data/helsinki.osm.pbf, 685 KB; see data/README.md for
its source and licence). No Ukrainian city's extract can be fetched on this network; this one
has what real data has and the demo lacks: names in several languages, addresses on nodes
and on building outlines, multipolygon relations, untagged ways and odd tags."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management import call_command
from django.core.management.base import CommandError

from basemap.models import BasemapImport, Building, OsmAddress, Park, Street, Water
from layers.models import AddressPoint
from layers.selectors import address_nearest, address_search

from .. import factories as f
from ..tiles.conftest import features, tile_of
from .conftest import DATA

pytestmark = pytest.mark.django_db

HELSINKI = DATA / "helsinki.osm.pbf"
BBOX = (24.9351766, 60.1641551, 24.9534132, 60.1791074)  # `osmium fileinfo -e`
# Counted with osmium: 1,451 nodes, ways and relations carry addr:street and
# addr:housenumber, 603 distinct pairs of them (shops and entrances share their building's);
# 150 objects on Mannerheimintie; 4,148 have highway, 536 building.
STATION = Point(24.9414, 60.1710, srid=4326)  # Helsingin päärautatieasema, the main station


@pytest.fixture
def helsinki():
    """A service area over the whole extract, in the storage projection."""
    poly = Polygon.from_bbox(BBOX)
    poly.srid = 4326
    area = MultiPolygon(poly, srid=4326).transform(settings.STORAGE_SRID, clone=True)
    return f.ServiceAreaFactory(name_uk="Гельсінкі", name_en="Helsinki", geometry=area)


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_osm", *args, stdout=out)
    return out.getvalue()


def test_a_real_extract_loads_its_streets_buildings_and_addresses(helsinki):
    # when the real extract is imported
    started = time.monotonic()
    out = run(str(HELSINKI))
    seconds = time.monotonic() - started
    print(f"helsinki.osm.pbf imported in {seconds:.1f} s")  # for the note, not a limit
    record = BasemapImport.objects.get()
    # then what real data brings is repaired or skipped, counted, and not a refusal: GEOS
    # cannot build relations cut at the extract's edge, and some outlines cross themselves
    assert record.geometry_errors > 0 and record.geometries_repaired > 0
    assert f"skipped: {record.geometry_errors} " in out
    assert f"Invalid geometries repaired: {record.geometries_repaired} " in out
    # then its named streets, buildings, water and parks are there
    assert "Imported helsinki.osm.pbf." in out
    assert Street.objects.filter(name_uk="Mannerheimintie").exists()
    assert Street.objects.exclude(name_uk="").count() > 300
    assert Building.objects.count() > 400
    assert Water.objects.exists() and Park.objects.exists()
    # and the addresses, on nodes and on buildings, reach the gazetteer
    assert record.addresses >= 600
    assert AddressPoint.objects.count() == record.addresses
    mannerheimintie = address_search("Mannerheimintie", limit=200)
    # (mappers also wrote addr:street="Kaivopiha, Mannerheimintie": kept as they wrote it)
    assert {a.street_uk for a in mannerheimintie} == {"Mannerheimintie",
                                                      "Kaivopiha, Mannerheimintie"}
    numbers = {a.house_number for a in mannerheimintie}
    assert {"1", "10", "14-20", "22-24"} <= numbers  # 27 distinct numbers in the file
    assert len(numbers) >= 25
    # and a click on a building offers its address
    near_station = address_nearest(STATION.transform(settings.STORAGE_SRID, clone=True))
    assert near_station is not None
    assert Building.objects.filter(address__isnull=False).count() > 200


def test_a_real_extract_draws_named_streets_on_the_basemap_tiles(helsinki, client):
    run(str(HELSINKI))
    feats = features(client.get(tile_of(STATION, 16).url("basemap")), "basemap")
    kinds = {feat["properties"]["kind"] for feat in feats}
    assert {"street", "building"} <= kinds
    names = {feat["properties"].get("name") for feat in feats} - {None}
    assert "Mannerheimintie" in names or "Kaivokatu" in names, sorted(names)


def test_a_damaged_real_extract_is_refused_and_the_last_import_stays(helsinki, tmp_path: Path):
    # given the real extract imported
    run(str(HELSINKI))
    before = (Street.objects.count(), AddressPoint.objects.count(), OsmAddress.objects.count())
    # when a copy cut off in the middle is imported
    broken = tmp_path / "helsinki-cut.osm.pbf"
    broken.write_bytes(HELSINKI.read_bytes()[:400_000])
    with pytest.raises(CommandError) as refused:
        run(str(broken))
    # then it is refused with a message, and the basemap and gazetteer are as they were
    assert "helsinki-cut.osm.pbf" in str(refused.value)
    assert (Street.objects.count(), AddressPoint.objects.count(),
            OsmAddress.objects.count()) == before
    assert BasemapImport.objects.count() == 1
