"""OSM addresses into the address gazetteer (`layers.AddressPoint`).

Every addressed building (`addr:street` + `addr:housenumber`, at a point on its surface) and
every address node becomes a gazetteer address, with the street name in its normalised full
Ukrainian form ("вул. Шевченка" in OSM is stored as "вулиця Шевченка"), its English form
(the street's `name:en` when OSM has one, else the national transliteration with the type in
English) and a `search_text` holding every form residents type (`basemap.streets`).

One address is one place: an address already in the gazetteer from another source, or given
twice in OSM (a building and a node at its door), within DUPLICATE_M of the same street and
number is kept once, the first seen (other sources, then buildings, then nodes).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.db.models import MultiPolygonField, Union
from django.contrib.gis.geos import Point
from django.db.models import Func, OuterRef, Subquery

from layers.models import AddressPoint

from .models import Building, OsmAddress
from .streets import address_search_text, house_number, house_terms, street_name

DUPLICATE_M = 50.0
BATCH_SIZE = 2000


@dataclass(frozen=True)
class AddressCandidate:
    street: str  # addr:street as tagged
    number: str  # addr:housenumber as tagged
    location: Point  # storage SRID
    osm_type: str
    osm_id: int


def _key(street: str, number: str) -> tuple[str, str]:
    return street_name(street).full_uk.lower(), house_terms(number)[-1]


class Gazetteer:
    """Collects candidates during the import; `write()` adds the new ones."""

    def __init__(self, english_names: dict[str, str]) -> None:
        # Normalised full Ukrainian street name (lower case) -> its OSM name:en.
        self.english_names = english_names
        self.candidates: list[AddressCandidate] = []

    def add(self, *, street: str | None, number: str | None, location: Point, osm_type: str,
            osm_id: int) -> None:
        if not street or not number or not street.strip() or not number.strip():
            return
        self.candidates.append(AddressCandidate(street, number, location, osm_type, osm_id))

    def _known(self) -> dict[tuple[str, str], list[tuple[float, float]]]:
        """Addresses from other sources, by street and number."""
        known: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        rows = AddressPoint.objects.filter(osm__isnull=True).values_list(
            "street_uk", "house_number", "location")
        for street, number, location in rows.iterator(chunk_size=BATCH_SIZE):
            known[_key(street, number)].append((location.x, location.y))
        return known

    def write(self) -> tuple[int, int]:
        """Create the new addresses (and their OSM marks); returns (added, already known).
        Buildings come before nodes, so a building keeps its own address."""
        known = self._known()
        order = {"w": 0, "r": 0, "n": 1}
        added = skipped = 0
        batch: list[tuple[AddressPoint, AddressCandidate]] = []
        for candidate in sorted(self.candidates, key=lambda c: order[c.osm_type]):
            key = _key(candidate.street, candidate.number)
            here = (candidate.location.x, candidate.location.y)
            if any(math.dist(here, other) <= DUPLICATE_M for other in known[key]):
                skipped += 1
                continue
            known[key].append(here)
            batch.append((self._address(candidate), candidate))
            if len(batch) >= BATCH_SIZE:
                added += self._flush(batch)
                batch = []
        if batch:
            added += self._flush(batch)
        return added, skipped

    def _address(self, candidate: AddressCandidate) -> AddressPoint:
        street = street_name(candidate.street)
        english = self.english_names.get(street.full_uk.lower()) or street.english
        number = house_number(candidate.number)
        search = address_search_text(street, number)
        if english.lower() not in search:
            search = f"{search} {english.lower()}"[:500]
        return AddressPoint(street_uk=street.full_uk[:200], street_en=english[:200],
                            house_number=number[:32], search_text=search,
                            location=candidate.location)

    @staticmethod
    def _flush(batch: list[tuple[AddressPoint, AddressCandidate]]) -> int:
        created = AddressPoint.objects.bulk_create([address for address, _ in batch])
        OsmAddress.objects.bulk_create([
            OsmAddress(address=address, osm_type=candidate.osm_type, osm_id=candidate.osm_id)
            for address, (_, candidate) in zip(created, batch, strict=True)
        ])
        return len(created)


def link_buildings() -> None:
    """Give each building its address: its own OSM address, else any gazetteer address that
    lies inside it (an address node, or one from another source)."""
    own = OsmAddress.objects.filter(osm_type=OuterRef("osm_type"), osm_id=OuterRef("osm_id"))
    Building.objects.filter(address=None).update(address=Subquery(own.values("address")[:1]))
    inside = AddressPoint.objects.filter(location__within=OuterRef("geometry")).order_by("pk")
    Building.objects.filter(address=None).update(address=Subquery(inside.values("pk")[:1]))
    # The gazetteer keeps each address's outline (the union of its buildings), so that the
    # layers app names the building under a click without knowing this app.
    AddressPoint.objects.exclude(footprint=None).update(footprint=None)
    multipolygon = MultiPolygonField(srid=settings.STORAGE_SRID)
    outline = (Building.objects.filter(address=OuterRef("pk")).values("address")
               .annotate(outline=Func(Union("geometry"), function="ST_Multi",
                                      output_field=multipolygon))
               .values("outline"))
    AddressPoint.objects.filter(
        pk__in=Building.objects.exclude(address=None).values("address")
    ).update(footprint=Subquery(outline, output_field=multipolygon))
