"""Real OSM files for the basemap tests: the demo city's committed extract, a small
hand-written one with the cases of street names and addresses, and a damaged PBF."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from basemap.services import basemap_import

DATA = Path(__file__).resolve().parent / "data"
DEMO_PBF = Path(__file__).resolve().parents[2] / "fixtures" / "demo_city.osm.pbf"
STREET_NAMES = DATA / "street_names.osm"  # around the test city's centre (tests/factories)
TRUNCATED = DATA / "truncated.osm.pbf"  # the demo extract cut off after 120,000 bytes


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; Ukrainian (the default) is checked separately."""
    with translation.override("en"):
        yield


@pytest.fixture
def small_import(city):
    """The hand-written extract imported into the test city (a 20 km square)."""
    return basemap_import(path=STREET_NAMES)
