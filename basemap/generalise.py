"""Which OSM features the basemap keeps, and from which zoom each is drawn.

Generalisation is decided once, at import: every row gets `min_zoom`, and a tile reads only
the rows of its zoom (`tiles.layers.BasemapLayer`, which also simplifies geometry below
DETAIL_ZOOM). The zooms follow the usual web-map practice (major roads from the city's
overview, residential streets from z13, buildings from z14 and all of them from z15,
footpaths from z16) and keep a dense city's tiles well under the 500 KB budget; the tile
statement still drops the most detailed classes of a tile that would exceed it.
"""

from __future__ import annotations

from dataclasses import dataclass

# highway=* -> (drawing class, min zoom). Anything else (proposed, construction, platforms,
# corridors) is not drawn.
HIGHWAYS: dict[str, tuple[str, int]] = {
    "motorway": ("motorway", 8), "trunk": ("motorway", 8),
    "motorway_link": ("motorway", 12), "trunk_link": ("motorway", 12),
    "primary": ("primary", 10), "secondary": ("primary", 10),
    "primary_link": ("primary", 13), "secondary_link": ("primary", 13),
    "tertiary": ("tertiary", 11), "tertiary_link": ("tertiary", 14),
    "residential": ("minor", 13), "unclassified": ("minor", 13), "living_street": ("minor", 13),
    "road": ("minor", 13),
    "service": ("service", 15), "track": ("service", 15),
    "pedestrian": ("path", 15), "footway": ("path", 16), "path": ("path", 16),
    "cycleway": ("path", 16), "steps": ("path", 16), "bridleway": ("path", 16),
}
# Drawing order and the priority a tile over budget drops first (higher = dropped sooner).
STREET_CLASSES = {"path": 2, "service": 2, "minor": 1, "tertiary": 0, "primary": 0,
                  "motorway": 0}
STREET_ORDER = ("path", "service", "minor", "tertiary", "primary", "motorway")

RAILWAYS: dict[str, int] = {"rail": 10, "light_rail": 12, "subway": 12, "narrow_gauge": 13,
                            "tram": 13, "monorail": 13, "funicular": 14}
RAIL_SERVICE_MIN_ZOOM = 14  # service=yard/siding/spur/crossover

WATER_LINES: dict[str, int] = {"river": 10, "canal": 12, "stream": 13, "drain": 15,
                               "ditch": 15}
# natural=water, waterway=riverbank, landuse=reservoir/basin, water=*: areas by their size.
WATER_LANDUSE = {"reservoir", "basin"}

PARK_LEISURE = {"park", "garden", "recreation_ground", "nature_reserve"}
PARK_LANDUSE = {"forest": "forest", "grass": "grass", "meadow": "grass",
                "village_green": "grass", "recreation_ground": "park", "cemetery": "cemetery"}
PARK_NATURAL = {"wood": "forest", "scrub": "grass", "grassland": "grass"}

BUILDING_ALL_ZOOM = 15
BUILDING_LARGE_M2 = 400  # drawn from z14


def area_min_zoom(area_m2: float) -> int:
    """Areas appear once they are a few pixels wide: 1 km² at z10, 1 ha at z13, any at z14."""
    if area_m2 >= 1_000_000:
        return 8
    if area_m2 >= 100_000:
        return 11
    if area_m2 >= 10_000:
        return 13
    return 14


def building_min_zoom(area_m2: float) -> int:
    return 14 if area_m2 >= BUILDING_LARGE_M2 else BUILDING_ALL_ZOOM


@dataclass(frozen=True)
class StreetClass:
    road_class: str
    min_zoom: int


def street_class(highway: str | None) -> StreetClass | None:
    found = HIGHWAYS.get((highway or "").strip())
    return StreetClass(*found) if found else None


def railway_min_zoom(railway: str | None, service: str | None) -> int | None:
    zoom = RAILWAYS.get((railway or "").strip())
    if zoom is None:
        return None
    return max(zoom, RAIL_SERVICE_MIN_ZOOM) if service else zoom


def water_area_kind(tags: dict[str, str | None]) -> str | None:
    """The kind of a water area, or None if the polygon is not water."""
    if tags.get("natural") == "water":
        return tags.get("water") or "water"
    if tags.get("waterway") == "riverbank":
        return "river"
    if tags.get("landuse") in WATER_LANDUSE:
        return tags["landuse"]
    return None


def park_kind(tags: dict[str, str | None]) -> str | None:
    if tags.get("leisure") in PARK_LEISURE:
        return "park" if tags["leisure"] != "garden" else "garden"
    if tags.get("landuse") in PARK_LANDUSE:
        return PARK_LANDUSE[tags["landuse"]]  # type: ignore[index]
    if tags.get("natural") in PARK_NATURAL:
        return PARK_NATURAL[tags["natural"]]  # type: ignore[index]
    return None


def is_building(value: str | None) -> bool:
    return bool(value) and value not in ("no", "false", "0")
