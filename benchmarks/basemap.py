"""Basemap benchmark: /tiles/basemap/ at z10-z18 on the demo city's OpenStreetMap extract.

Measured side by side in the same run, so the ratios hold on a noisy machine (see
benchmarks/tiles.py, whose helpers this reuses):
1. request path vs raw SQL: per zoom, the centre tile and random tiles in the city; the raw
   statement (`tiles.layers.BasemapLayer.statement`, sent as the app sends it), the cold
   request through the project's WSGI application (server cache cleared first) and the
   cached request take turns; p50/p95 per zoom, cold/raw of the p50s and, round by round,
   the median of cold/raw (`paired`);
2. tile sizes: every tile over the service area at z10-z14, random tiles in it at z15-z18
   (raw bytes: the 500 KB budget is on those; gzip bytes as served);
3. the same two at a dense city centre's density (the demo city is sparse: 28,000 small
   buildings over 550 km²): a synthetic extract of a 5 x 5 km centre, streets every 120 m,
   blocks filled with 8-cornered buildings of ~500 m² (drawn from z14), ~1,200 a km², is
   imported in place of the demo's basemap, measured, and the demo's imported back.
Needs no generated reports: it loads the demo city (with its basemap) when the database
has no basemap yet.
"""

from __future__ import annotations

import gzip

import mercantile

from . import common
from .tiles import Raw, Target, cold_cache, get
from .tiles import targets as tile_targets

CENTRE_LAT, CENTRE_LON = 48.4647, 35.0462
ZOOMS = tuple(range(10, 19))
BUDGET = 500 * 1024


def ensure_basemap() -> str:
    from basemap.models import BasemapImport, Building
    from layers.models import ServiceArea

    if not ServiceArea.objects.exists():
        print("basemap: loading the demo city (no reports)", flush=True)
        common.manage("load_demo_city", "--reports", "0")
    if not BasemapImport.objects.exists():
        print("basemap: importing fixtures/demo_city.osm.pbf", flush=True)
        common.manage("import_osm", "fixtures/demo_city.osm.pbf")
    latest = BasemapImport.objects.order_by("-imported_at").first()
    return f"{latest.file_name}: {Building.objects.count():,} buildings"


def layer():
    from tiles.layers import BasemapLayer
    from tiles.selectors import public_audience

    return BasemapLayer(audience=public_audience(), params={})


def box_of(t: Target):
    from tiles.layers import TileBox

    return TileBox(t.z, t.x, t.y)


def targets(per_zoom: int, seed: int = 19) -> list[Target]:
    return tile_targets(per_zoom, seed, zooms=ZOOMS)


def request_vs_raw(raw: Raw, tiles: list[Target], reps: int, cached_reps: int) -> dict:
    from django.utils import timezone

    client = common.WsgiClient()
    basemap = layer()
    merged: dict[int, dict[str, list[float]]] = {z: {"raw": [], "cold": [], "cached": []}
                                                 for z in ZOOMS}
    sizes: dict[int, list[int]] = {z: [] for z in ZOOMS}
    for t in tiles:
        url = f"/tiles/basemap/{t.path}.pbf"
        statement = basemap.statement(box_of(t), timezone.now())
        raw.run(statement)  # warm the pages for both
        get(client, url, HTTP_ACCEPT_ENCODING="gzip")
        rounds = reps * (1 + (t.z - ZOOMS[0]) // 3)  # z10-12 x1, z13-15 x2, z16-18 x3
        samples = merged[t.z]
        for rep in range(rounds):
            # raw and cold take turns at going first (see benchmarks/tiles.measure_tile)
            for step in (("raw", "cold") if rep % 2 == 0 else ("cold", "raw")):
                if step == "raw":
                    ms, rows = raw.run(statement)
                    sizes[t.z].append(len(rows[0][0] or b""))
                else:
                    cold_cache()
                    ms, _ = get(client, url, HTTP_ACCEPT_ENCODING="gzip")
                samples[step].append(ms)
            for _ in range(cached_reps):
                ms, _ = get(client, url, HTTP_ACCEPT_ENCODING="gzip")
                samples["cached"].append(ms)
    by_zoom = {}
    for z in ZOOMS:
        m = merged[z]
        by_zoom[z] = {
            "tiles": sum(1 for t in tiles if t.z == z),
            **{k: common.summary(v) for k, v in m.items()},
            "cold_over_raw_p50": common.ratio(common.percentile(m["cold"], 50),
                                              common.percentile(m["raw"], 50)),
            "cold_over_raw_p95": common.ratio(common.percentile(m["cold"], 95),
                                              common.percentile(m["raw"], 95)),
            "cold_over_raw_paired_p50": round(common.percentile(
                [c / r for c, r in zip(m["cold"], m["raw"], strict=True)], 50), 2),
            "kb_max": round(max(sizes[z]) / 1024, 1) if sizes[z] else 0,
        }
    common.print_table(
        "Basemap tiles: request path vs the same ST_AsMVT raw (ms; p50/p95 over tiles and "
        "rounds)",
        ["zoom", "tiles", "raw p50", "raw p95", "cold p50", "cold p95", "cached p50",
         "cold/raw p50", "cold/raw p95", "paired p50", "max KB"],
        [[z, d["tiles"], d["raw"]["p50"], d["raw"]["p95"], d["cold"]["p50"], d["cold"]["p95"],
          d["cached"]["p50"], d["cold_over_raw_p50"], d["cold_over_raw_p95"],
          d["cold_over_raw_paired_p50"], d["kb_max"]] for z, d in by_zoom.items()])
    return by_zoom


def tile_sizes(raw: Raw, per_zoom_high: int) -> dict:
    from django.utils import timezone

    basemap = layer()
    west, south, east, north = raw.scalar(
        "SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] FROM "
        "(SELECT ST_Extent(ST_Transform(geometry, 4326)) AS e FROM layers_servicearea) s")
    out = {}
    for z in ZOOMS:
        if z <= 14:
            tiles = [Target(t.z, t.x, t.y, "sweep")
                     for t in mercantile.tiles(west, south, east, north, [z])]
        else:
            tiles = [t for t in targets(per_zoom_high, seed=z) if t.z == z]
        found, gz, empty, ms = [], [], 0, []
        for t in tiles:
            took, rows = raw.run(basemap.statement(box_of(t), timezone.now()))
            body = bytes(rows[0][0] or b"")
            ms.append(took)
            if not body:
                empty += 1
                continue
            found.append(len(body))
            gz.append(len(gzip.compress(body, 1)))
        out[z] = {"tiles": len(tiles), "empty": empty,
                  "kb_p50": round(common.percentile(found, 50) / 1024, 1) if found else 0,
                  "kb_max": round(max(found) / 1024, 1) if found else 0,
                  "gzip_kb_max": round(max(gz) / 1024, 1) if gz else 0,
                  "over_budget": sum(1 for n in found if n > BUDGET),
                  "raw_ms_p50": round(common.percentile(ms, 50), 2)}
    common.print_table(
        "Basemap tile sizes (raw MVT bytes; z10-z14 every tile over the city, z15-z18 random)",
        ["zoom", "tiles", "empty", "KB p50", "KB max", "gzip KB max", "> 500 KB", "SQL p50 ms"],
        [[z, d["tiles"], d["empty"], d["kb_p50"], d["kb_max"], d["gzip_kb_max"],
          d["over_budget"], d["raw_ms_p50"]] for z, d in out.items()])
    return out


# --- 3. a dense centre ------------------------------------------------------------------------

DENSE_HALF_M = 2500
DENSE_STREET_M = 120
DENSE_BUILDING_M = 28


def dense_osm(path) -> int:
    """Write the synthetic dense centre as OSM XML; returns its number of buildings."""
    from fixtures import geography
    from fixtures.osm_demo import OsmWriter

    cx, cy = geography.centre_xy()
    out = OsmWriter()
    h = DENSE_HALF_M
    rows = range(-h, h + 1, DENSE_STREET_M)
    for i, y in enumerate(rows):
        out.way([(cx - h, cy + y), (cx + h, cy + y)],
                {"highway": "residential" if i % 4 else "secondary", "name": f"вулиця Щільна {i}"})
    for j, x in enumerate(range(-h, h + 1, 150)):
        out.way([(cx + x, cy - h), (cx + x, cy + h)],
                {"highway": "residential", "name": f"провулок Тісний {j}"})
    buildings = 0
    for y in rows[:-1]:
        for offset in (16, 40, 80, 104):  # two rows from each street of the block
            for x in range(-h + 10, h - 10, DENSE_BUILDING_M):
                bx, by = cx + x, cy + y + offset
                ring = [(bx, by - 11), (bx + 10, by - 11), (bx + 10, by - 13), (bx + 22, by - 13),
                        (bx + 22, by + 11), (bx + 8, by + 11), (bx + 8, by + 9), (bx, by + 9)]
                out.way(ring, {"building": "apartments", "addr:street": "вулиця Щільна",
                               "addr:housenumber": str(buildings + 1)}, closed=True)
                buildings += 1
    path.write_text(out.xml(), encoding="utf-8")
    return buildings


def dense(raw: Raw, reps: int, cached_reps: int, per_zoom: int) -> dict:
    import tempfile
    from pathlib import Path

    from django.core.cache import cache

    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "dense_centre.osm"
        count = dense_osm(xml)
        print(f"basemap: importing a dense centre of {count:,} buildings", flush=True)
        common.manage("import_osm", str(xml))
    cache.clear()
    try:
        near = [t for t in targets(per_zoom, seed=23) if t.kind == "centre"]
        result = {"buildings": count,
                  "request_vs_raw": request_vs_raw(raw, near, reps, cached_reps),
                  "sizes": dense_sizes(raw)}
    finally:
        print("basemap: importing the demo's extract back", flush=True)
        common.manage("import_osm", "fixtures/demo_city.osm.pbf")
    return result


def dense_sizes(raw: Raw) -> dict:
    """Every tile over the dense centre, z10-z16."""
    from django.conf import settings
    from django.contrib.gis.geos import Point
    from django.utils import timezone

    from fixtures import geography
    from layers.geometry import to_api

    cx, cy = geography.centre_xy()
    sw = to_api(Point(cx - DENSE_HALF_M, cy - DENSE_HALF_M, srid=settings.STORAGE_SRID))
    ne = to_api(Point(cx + DENSE_HALF_M, cy + DENSE_HALF_M, srid=settings.STORAGE_SRID))
    basemap = layer()
    out = {}
    for z in range(10, 17):
        found, ms = [], []
        for t in mercantile.tiles(sw.x, sw.y, ne.x, ne.y, [z]):
            took, rows = raw.run(basemap.statement(box_of(Target(t.z, t.x, t.y, "d")),
                                                   timezone.now()))
            ms.append(took)
            found.append(len(bytes(rows[0][0] or b"")))
        out[z] = {"tiles": len(found), "kb_max": round(max(found) / 1024, 1),
                  "kb_p50": round(common.percentile(found, 50) / 1024, 1),
                  "over_budget": sum(1 for n in found if n > BUDGET),
                  "raw_ms_p50": round(common.percentile(ms, 50), 2),
                  "raw_ms_max": round(max(ms), 2)}
    common.print_table("Dense centre: every tile over it (raw MVT bytes, raw SQL ms)",
                       ["zoom", "tiles", "KB p50", "KB max", "> 500 KB", "SQL p50", "SQL max"],
                       [[z, d["tiles"], d["kb_p50"], d["kb_max"], d["over_budget"],
                         d["raw_ms_p50"], d["raw_ms_max"]] for z, d in out.items()])
    return out


def run(args) -> dict:
    quick = getattr(args, "quick", False)
    reps, cached_reps, per_zoom = (2, 2, 2) if quick else (6, 4, 4)
    data = ensure_basemap()
    print(f"basemap: {data}", flush=True)
    raw = Raw()
    try:
        tiles = targets(per_zoom)
        result = {"machine": common.machine(), "data": data,
                  "tiles": [t.__dict__ for t in tiles],
                  "request_vs_raw": request_vs_raw(raw, tiles, reps, cached_reps),
                  "sizes": tile_sizes(raw, 10 if quick else 40)}
        result["dense"] = dense(raw, reps, cached_reps, per_zoom)
    finally:
        raw.close()
    return result
