"""Tiles benchmark: vector and heat tiles on the generated data set (1M reports).

Sections (all measured in the same run, side by side, so ratios hold on a noisy machine):
1. request path vs raw SQL: for tiles at z10/z12/z14/z16 around the centre and random tiles
   in the city, p50/p95 of the full request path (the project's WSGI application, Django's
   own handler, called as a server calls it, `common.WsgiClient`: URL routing, middleware,
   the view, cache look-up, render, ETag, gzip and headers), cold (server cache cleared
   before every request) and cached, beside the same ST_AsMVT statement run raw through
   psycopg; cold/raw ratios: of the p50s over all rounds of a zoom's tiles, and (`paired`)
   the median of each round's cold/raw. Targets: cold <= 1.3x raw at z10-z16, cached
   <= 2 ms. The raw and the cold measurement of a tile take turns at going first; rounds
   per tile grow as tiles get cheaper (z10 6, z12 12, z14 24, z16 48);
2. parallel query on/off for the same statements (raw);
3. heat tiles: p50 cold at z12 and z14 (request path), with the SQL part alone;
4. tile sizes per zoom: every tile over the city at z10..z14, the densest at z15/z16;
5. bytes over the wire vs the naive way: GeoJSON of every report in the same viewport, and a
   folium HeatMap embedding every point;
6. beside tipg (FastAPI + asyncpg) serving the same table of the same database: throughput
   and latency at a fixed concurrency for the same tiles, Open City under gunicorn (same
   number of worker processes), uncached (dummy cache: every request renders) and cached.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import random
import sys
import time
from dataclasses import dataclass

import mercantile

from . import common

CENTRE_LAT, CENTRE_LON = 48.4647, 35.0462
ZOOMS = (10, 12, 14, 16)
CONCURRENCY = 8
WORKERS = 2  # worker processes for both servers (the machine has 2 cores)
THREADS = 4
VIEWPORT_PX = (1280, 800)
SIZE_BUDGET = 500 * 1024


@dataclass(frozen=True)
class Target:
    z: int
    x: int
    y: int
    kind: str  # centre | random

    @property
    def path(self) -> str:
        return f"{self.z}/{self.x}/{self.y}"


def _tile(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    t = mercantile.tile(lon, lat, z)
    return t.z, t.x, t.y


def city_points(n: int, seed: int) -> list[tuple[float, float]]:
    """`n` random lon/lat points inside the service area (PostGIS ST_GeneratePoints)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(g.geom), ST_Y(g.geom) FROM ST_Dump(ST_GeneratePoints("
            "(SELECT ST_Transform(ST_Union(geometry), 4326) FROM layers_servicearea), %s, %s"
            ")) AS g",
            [n, seed],
        )
        return [(float(x), float(y)) for x, y in cursor.fetchall()]


def targets(per_zoom: int, seed: int = 11, zooms: tuple[int, ...] = ZOOMS) -> list[Target]:
    """The centre tile and `per_zoom` random tiles in the city at each zoom."""
    out = [Target(*_tile(CENTRE_LON, CENTRE_LAT, z), "centre") for z in zooms]
    points = city_points(per_zoom * len(zooms) * 3, seed)
    rng = random.Random(seed)
    for z in zooms:
        seen = {(t.x, t.y) for t in out if t.z == z}
        for lon, lat in rng.sample(points, len(points)):
            if sum(1 for t in out if t.z == z and t.kind == "random") >= per_zoom:
                break
            _, x, y = _tile(lon, lat, z)
            if (x, y) not in seen:
                seen.add((x, y))
                out.append(Target(z, x, y, "random"))
    return out


class Raw:
    """A plain psycopg connection (client-side binding, no prepare) with Django's geometry
    adapters, running tile statements exactly as sent by the app."""

    def __init__(self) -> None:
        import psycopg
        from django.db import connection

        self.conn = psycopg.connect(common.libpq_url(), autocommit=True, prepare_threshold=None,
                                    cursor_factory=psycopg.ClientCursor)
        connection.ensure_connection()
        connection.register_geometry_adapters(self.conn)
        self.conn.execute("SELECT ST_AsText(ST_Point(0, 0))")

    def run(self, statement, *, serial: bool | None = None) -> tuple[float, tuple]:
        """Milliseconds and rows of `statement`, sent exactly as the app sends it."""
        from tiles.sql import _prefix

        prefix = _prefix(statement.serial if serial is None else serial)
        started = time.perf_counter()
        with self.conn.cursor() as cur:
            cur.execute("".join(prefix) + statement.sql, statement.params)
            for _ in prefix:
                cur.nextset()
            rows = cur.fetchall()
        return (time.perf_counter() - started) * 1000, rows

    def scalar(self, sql: str, params=()):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]

    def close(self) -> None:
        self.conn.close()


def public_layer():
    from tiles.layers import ReportsLayer
    from tiles.selectors import public_audience

    return ReportsLayer(audience=public_audience(), params={})


def box_of(t: Target):
    from tiles.layers import TileBox

    return TileBox(t.z, t.x, t.y)


def get(client, url: str, **headers) -> tuple[float, object]:
    response = client.get(url, **headers)
    if response.status_code not in (200, 204, 304):
        raise RuntimeError(f"{url}: {response.status_code} {response.content[:200]!r}")
    return client.elapsed_ms, response


# --- 1. request path vs raw ---------------------------------------------------------------

def cold_cache() -> None:
    """No tile in the server cache (a version bump alone may hit the grace), but the layer
    version counters there, as in any running deployment: they never expire."""
    from django.core.cache import cache

    from tiles import cache as tcache

    cache.clear()
    for layer in tcache.LAYERS:
        tcache.layer_version(layer)


def measure_tile(raw: Raw, statement, url: str, clients: dict, reps: int,
                 cached_reps: int) -> tuple[dict[str, list[float]], dict[str, object]]:
    """Samples (ms) of one tile: raw, cold through each client, cached; and what each
    returned. The cold measurements take turns at going first: one that runs right after
    another connection ran the same statement may find its data warm in the CPU caches, so
    a fixed order would favour the later ones."""
    samples: dict[str, list[float]] = {"raw": [], "cached": [], **{k: [] for k in clients}}
    found: dict[str, object] = {}

    def run_raw() -> None:
        ms, rows = raw.run(statement)
        samples["raw"].append(ms)
        found["size"] = len(rows[0][0] or b"")

    def run_cold(name: str) -> None:
        cold_cache()
        ms, response = get(clients[name], url, HTTP_ACCEPT_ENCODING="gzip")
        samples[name].append(ms)
        found[name] = response.content

    steps = [run_raw, *(lambda name=name: run_cold(name) for name in clients)]
    for rep in range(reps):
        turn = rep % len(steps)
        for step in steps[turn:] + steps[:turn]:
            step()
        for _ in range(cached_reps):
            ms, _ = get(clients["cold"], url, HTTP_ACCEPT_ENCODING="gzip")
            samples["cached"].append(ms)
    return samples, found


def request_vs_raw(raw: Raw, tiles: list[Target], reps: int, cached_reps: int) -> dict:
    from django.utils import timezone

    clients = {"cold": common.WsgiClient()}
    layer = public_layer()
    per_tile = []
    for t in tiles:
        url = f"/tiles/reports/{t.path}.pbf"
        statement = layer.statement(box_of(t), timezone.now())
        raw.run(statement)  # warm the database pages for both paths
        get(clients["cold"], url, HTTP_ACCEPT_ENCODING="gzip")
        # Small tiles are cheap to repeat and the noisiest relative to their time: more
        # rounds where a round is short (z10 6, z12 12, z14 24, z16 48 at reps=6).
        rounds = reps * 2 ** ((t.z - ZOOMS[0]) // 2)
        samples, found = measure_tile(raw, statement, url, clients, rounds, cached_reps)
        size, gz_size = found["size"], len(found["cold"])
        row = {"z": t.z, "x": t.x, "y": t.y, "kind": t.kind, "bytes": size, "gzip_bytes": gz_size,
               **{k: common.summary(v) for k, v in samples.items()}}
        row["cold_over_raw"] = common.ratio(row["cold"]["p50"], row["raw"]["p50"])
        per_tile.append((row, samples))
        print(f"  z{t.z} {t.kind:6} raw {row['raw']['p50']:8.1f}  cold {row['cold']['p50']:8.1f}"
              f"  cached {row['cached']['p50']:6.2f} ms  {size / 1024:7.1f} KB", flush=True)
    by_zoom = {}
    for z in ZOOMS:
        rows = [(r, s) for r, s in per_tile if r["z"] == z]
        merged = {k: [v for _, s in rows for v in s[k]]
                  for k in ("raw", "cold", "cached")}
        by_zoom[z] = {
            "tiles": len(rows),
            **{k: common.summary(v) for k, v in merged.items()},
            "cold_over_raw_p50": common.ratio(common.percentile(merged["cold"], 50),
                                              common.percentile(merged["raw"], 50)),
            "cold_over_raw_p95": common.ratio(common.percentile(merged["cold"], 95),
                                              common.percentile(merged["raw"], 95)),
            # The same, round by round: cold / raw of one tile measured side by side (the
            # machine's speed moves between rounds, not within one), median over all rounds.
            "cold_over_raw_paired_p50": round(common.percentile(
                [c / r for c, r in zip(merged["cold"], merged["raw"], strict=True)], 50), 2),
            "kb_max": round(max(r["bytes"] for r, _ in rows) / 1024, 1),
            "gzip_kb_max": round(max(r["gzip_bytes"] for r, _ in rows) / 1024, 1),
        }
    common.print_table(
        "Reports tiles: request path vs the same ST_AsMVT raw (ms; p50/p95 over tiles and "
        "repetitions; requests through Django's WSGI handler)",
        ["zoom", "tiles", "raw p50", "raw p95", "cold p50", "cold p95", "cached p50",
         "cached p95", "cold/raw p50", "cold/raw p95", "paired p50", "max KB", "max KB gz"],
        [[z, d["tiles"], d["raw"]["p50"], d["raw"]["p95"], d["cold"]["p50"], d["cold"]["p95"],
          d["cached"]["p50"], d["cached"]["p95"], d["cold_over_raw_p50"],
          d["cold_over_raw_p95"], d["cold_over_raw_paired_p50"],
          d["kb_max"], d["gzip_kb_max"]] for z, d in by_zoom.items()],
    )
    return {"by_zoom": by_zoom, "tiles": [r for r, _ in per_tile]}


# --- 2. parallel on/off ---------------------------------------------------------------------

def parallel(raw: Raw, tiles: list[Target], reps: int) -> dict:
    from django.utils import timezone

    layer = public_layer()
    out = {}
    for t in [t for t in tiles if t.kind == "centre"]:
        statement = layer.statement(box_of(t), timezone.now())
        on, off = [], []
        for _ in range(reps):
            on.append(raw.run(statement, serial=False)[0])
            off.append(raw.run(statement, serial=True)[0])
        out[t.z] = {"parallel_p50": round(common.percentile(on, 50), 2),
                    "serial_p50": round(common.percentile(off, 50), 2),
                    "used": "serial" if statement.serial else "parallel"}
    common.print_table("Parallel query on/off, centre tiles, raw SQL (ms p50)",
                       ["zoom", "parallel", "serial (SET LOCAL)", "the app uses"],
                       [[z, d["parallel_p50"], d["serial_p50"], d["used"]]
                        for z, d in out.items()])
    return out


# --- 3. heat --------------------------------------------------------------------------------

def heat(raw: Raw, reps: int) -> dict:

    from tiles.heat import heat_statement
    from tiles.selectors import TileFilters, public_audience

    client = common.WsgiClient()
    out = {}
    points = [(CENTRE_LON, CENTRE_LAT), *city_points(4, 5)]
    # "count" weighs every report (the worst case); "open" is what the maps request.
    for z, weight in ((12, "count"), (14, "count"), (12, "open"), (14, "open")):
        cold, sql, sizes = [], [], []
        for lon, lat in points:
            _, x, y = _tile(lon, lat, z)
            query = "" if weight == "count" else f"?weight={weight}"
            url = f"/tiles/heat/{z}/{x}/{y}.png{query}"
            t = Target(z, x, y, "heat")
            statement = heat_statement(box_of(t), audience=public_audience(),
                                       filters=TileFilters(), weight=weight)
            get(client, url)
            for _ in range(reps):
                sql.append(raw.run(statement)[0])
                cold_cache()
                ms, response = get(client, url)
                cold.append(ms)
                sizes.append(len(response.content))
        key = str(z) if weight == "count" else f"{z} {weight}"
        out[key] = {"cold": common.summary(cold), "sql": common.summary(sql),
                    "png_kb_mean": round(sum(sizes) / len(sizes) / 1024, 1)}
    common.print_table("Heat tiles (ms; weight=count unless named)",
                       ["zoom", "cold p50", "cold p95", "SQL p50", "PNG KB"],
                       [[z, d["cold"]["p50"], d["cold"]["p95"], d["sql"]["p50"],
                         d["png_kb_mean"]] for z, d in out.items()])
    return out


# --- 4. sizes ---------------------------------------------------------------------------------

def sizes(raw: Raw) -> dict:
    from django.utils import timezone

    layer = public_layer()
    extent = raw.scalar(
        "SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] FROM "
        "(SELECT ST_Extent(ST_Transform(geometry, 4326)) AS e FROM layers_servicearea) s")
    west, south, east, north = extent
    out = {}
    for z in range(10, 17):
        if z <= 14:
            tiles = [Target(t.z, t.x, t.y, "sweep")
                     for t in mercantile.tiles(west, south, east, north, [z])]
        else:
            tiles = densest(raw, z, 12)
        measured = []
        for t in tiles:
            _, rows = raw.run(layer.statement(box_of(t), timezone.now()))
            body = rows[0][0] or b""
            measured.append((len(body), len(gzip.compress(body, 5)) if body else 0))
        nonempty = [m for m in measured if m[0]]
        out[z] = {
            "tiles": len(measured), "non_empty": len(nonempty),
            "how": "every tile over the city" if z <= 14 else "the 12 densest tiles",
            "kb_max": round(max((m[0] for m in measured), default=0) / 1024, 1),
            "kb_mean": round(sum(m[0] for m in nonempty) / max(len(nonempty), 1) / 1024, 1),
            "gzip_kb_max": round(max((m[1] for m in measured), default=0) / 1024, 1),
            "within_budget": all(m[0] <= SIZE_BUDGET for m in measured),
        }
    common.print_table("Reports tile sizes (KB; budget 500 KB)",
                       ["zoom", "tiles", "non-empty", "mean", "max", "max gzip", "how"],
                       [[z, d["tiles"], d["non_empty"], d["kb_mean"], d["kb_max"],
                         d["gzip_kb_max"], d["how"]] for z, d in out.items()])
    return out


def densest(raw: Raw, z: int, n: int) -> list[Target]:
    """The `n` z-tiles holding the most reports (grouped by tile index in SQL)."""
    size = 2 * 20037508.342789244 / 2**z
    with raw.conn.cursor() as cur:
        cur.execute(
            "SELECT floor((ST_X(location_tile) + 20037508.342789244) / %s)::int AS x, "
            "floor((20037508.342789244 - ST_Y(location_tile)) / %s)::int AS y, count(*) "
            "FROM reports_report GROUP BY 1, 2 ORDER BY 3 DESC LIMIT %s", [size, size, n])
        return [Target(z, x, y, f"dense:{c}") for x, y, c in cur.fetchall()]


# --- 5. payload vs naive ------------------------------------------------------------------------

def viewport(z: int) -> list[Target]:
    """Tiles covering a VIEWPORT_PX map centred on the city centre at zoom z."""
    cx, cy = mercantile.xy(CENTRE_LON, CENTRE_LAT)
    px = 2 * 20037508.342789244 / (256 * 2**z)
    half_w, half_h = VIEWPORT_PX[0] / 2 * px, VIEWPORT_PX[1] / 2 * px
    west, south = mercantile.lnglat(cx - half_w, cy - half_h)
    east, north = mercantile.lnglat(cx + half_w, cy + half_h)
    return [Target(t.z, t.x, t.y, "viewport")
            for t in mercantile.tiles(west, south, east, north, [z])]


def payload(raw: Raw) -> dict:
    client = common.WsgiClient()
    out = {}
    for z in (12, 14):
        tiles = viewport(z)
        mvt = mvt_gz = png = 0
        for t in tiles:
            _, r = get(client, f"/tiles/reports/{t.path}.pbf", HTTP_ACCEPT_ENCODING="gzip")
            mvt_gz += len(r.content)
            _, r = get(client, f"/tiles/reports/{t.path}.pbf")
            mvt += len(r.content)
            _, r = get(client, f"/tiles/heat/{t.path}.png")
            png += len(r.content)
        bounds = [mercantile.xy_bounds(t.x, t.y, t.z) for t in tiles]
        box = (min(b.left for b in bounds), min(b.bottom for b in bounds),
               max(b.right for b in bounds), max(b.top for b in bounds))
        geojson, geojson_gz, count = naive_geojson(raw, box)
        folium_bytes = naive_folium(raw, box)
        out[z] = {
            "viewport_tiles": len(tiles), "reports_in_view": count,
            "mvt_bytes": mvt, "mvt_gzip_bytes": mvt_gz, "heat_png_bytes": png,
            "geojson_bytes": geojson, "geojson_gzip_bytes": geojson_gz,
            "folium_heatmap_bytes": folium_bytes,
            "geojson_gz_over_mvt_gz": common.ratio(geojson_gz, mvt_gz),
            "folium_over_heat_png": common.ratio(folium_bytes, png),
        }
    common.print_table(
        f"Bytes over the wire for a {VIEWPORT_PX[0]}x{VIEWPORT_PX[1]} viewport at the centre",
        ["zoom", "tiles", "reports", "MVT", "MVT gz", "heat PNG", "GeoJSON", "GeoJSON gz",
         "folium HeatMap", "GeoJSON gz / MVT gz", "folium / PNG"],
        [[z, d["viewport_tiles"], d["reports_in_view"], d["mvt_bytes"], d["mvt_gzip_bytes"],
          d["heat_png_bytes"], d["geojson_bytes"], d["geojson_gzip_bytes"],
          d["folium_heatmap_bytes"], d["geojson_gz_over_mvt_gz"], d["folium_over_heat_png"]]
         for z, d in out.items()])
    return out


NAIVE_FEATURE = """
SELECT json_build_object('type', 'Feature', 'id', r.id,
  'geometry', ST_AsGeoJSON(ST_Transform(r.location_tile, 4326), 6)::json,
  'properties', json_build_object('id', r.id, 'category', c.service_code, 'status', r.status,
     'age_days', (current_date - r.created::date), 'overdue', r.due_at < now()
        AND r.status IN ('new', 'moderation', 'assigned', 'in_progress'),
     'hazard', r.is_hazard))::text AS f
FROM reports_report r JOIN reports_category c ON c.id = r.category_id
WHERE NOT r.is_hidden AND NOT r.is_hazard
  AND r.location_tile && ST_MakeEnvelope(%s, %s, %s, %s, 3857)
"""


def naive_geojson(raw: Raw, box) -> tuple[int, int, int]:
    """Size of a GeoJSON dump of every report in `box` (as the naive map would fetch it):
    exact byte count computed in SQL, gzip size from a 20,000-feature sample."""
    count, total = raw.conn.execute(
        f"SELECT count(*), coalesce(sum(octet_length(f)), 0) FROM ({NAIVE_FEATURE}) s",  # noqa: S608
        box).fetchone()
    size = total + max(count - 1, 0) + len('{"type":"FeatureCollection","features":[]}')
    sample = [row[0] for row in raw.conn.execute(NAIVE_FEATURE + " LIMIT 20000", box)]
    if not sample:
        return size, 0, count
    text = ",".join(sample).encode()
    gz_ratio = len(gzip.compress(text, 6)) / len(text)
    return size, int(size * gz_ratio), count


def naive_folium(raw: Raw, box) -> int:
    """Bytes of a folium page with a HeatMap of every report in `box` (local assets)."""
    import folium
    from folium.plugins import HeatMap

    points = raw.conn.execute(
        "SELECT round(ST_Y(p)::numeric, 6)::float8, round(ST_X(p)::numeric, 6)::float8 FROM "
        "(SELECT ST_Transform(location_tile, 4326) AS p FROM reports_report WHERE NOT is_hidden "
        "AND NOT is_hazard AND location_tile && ST_MakeEnvelope(%s, %s, %s, %s, 3857)) s",
        box).fetchall()
    fmap = folium.Map(location=[CENTRE_LAT, CENTRE_LON], zoom_start=12, tiles=None)
    HeatMap([list(p) for p in points]).add_to(fmap)
    return len(fmap.get_root().render().encode())


# --- 6. beside tipg -----------------------------------------------------------------------------

def servers(tiles: list[Target], requests: int, rounds: int = 3) -> dict:
    """Open City (gunicorn) and tipg (uvicorn), same worker count, same tiles, same load.

    All three servers run at once (tipg; Open City with a dummy cache, so every request
    renders; Open City with its cache) and the load alternates between them in `rounds`
    rounds, the order flipped each round, so that a noisy neighbour hits both sides alike.
    Per-round throughput ratios are reported with their median.
    """
    from django.conf import settings

    points = [t for t in tiles if t.z >= 14]
    z12 = [t for t in tiles if t.z == 12]
    results: dict = {"tiles": [t.path for t in points], "concurrency": CONCURRENCY,
                     "workers": WORKERS, "threads_per_worker": THREADS,
                     "requests_per_round": requests, "rounds": rounds}
    ports = {name: common.free_port() for name in ("tipg", "uncached", "cached")}
    tipg_env = {
        "DATABASE_URL": common.libpq_url(),
        "TIPG_DB_TABLES": '["public.reports_report"]',
        "TIPG_DB_SPATIAL_EXTENT": "false",
        "TIPG_DB_DATETIME_EXTENT": "false",
        "TIPG_MAX_FEATURES_PER_TILE": "10000",
    }
    tipg_cmd = [sys.executable, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
                "--port", str(ports["tipg"]), "--workers", str(WORKERS), "--log-level",
                "warning"]
    tipg_path = ("/collections/public.reports_report/tiles/WebMercatorQuad/{}"
                 "?geom-column=location_tile&properties=id,status,is_hazard,category_id"
                 "&filter-lang=cql2-text&filter=is_hidden%3Dfalse")

    def app_cmd(port: int) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "geocity.wsgi:application", "-b",
                f"127.0.0.1:{port}", "-w", str(WORKERS), "-k", "gthread", "--threads",
                str(THREADS), "--log-level", "warning"]

    app_env = {"DJANGO_SETTINGS_MODULE": "geocity.settings.local", "DEBUG": "false",
               "SECRET_KEY": settings.SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    gzip_header = {"Accept-Encoding": "gzip"}
    with contextlib.ExitStack() as stack:
        bases = {
            "tipg": stack.enter_context(common.background_server(
                tipg_cmd, port=ports["tipg"], env=tipg_env, ready_path="/collections")),
            "uncached": stack.enter_context(common.background_server(
                app_cmd(ports["uncached"]), port=ports["uncached"],
                env={**app_env, "CACHE_URL": "dummycache://"},
                ready_path="/tiles/districts/0/0/0.pbf")),
            "cached": stack.enter_context(common.background_server(
                app_cmd(ports["cached"]), port=ports["cached"],
                env={**app_env, "CACHE_URL": "locmemcache://bench"},
                ready_path="/tiles/districts/0/0/0.pbf")),
        }

        def urls(name: str, targets_: list[Target]) -> list[str]:
            if name == "tipg":
                return [bases[name] + tipg_path.format(t.path) for t in targets_]
            return [f"{bases[name]}/tiles/reports/{t.path}.pbf" for t in targets_]

        for name in bases:  # warm every server and the database pages they read
            common.load_test(urls(name, points), concurrency=CONCURRENCY,
                             requests=len(points) * 2, headers=gzip_header)
        per_round: dict[str, list[dict]] = {"tipg": [], "open_city_uncached": []}
        for i in range(rounds):
            order = ["tipg", "uncached"] if i % 2 == 0 else ["uncached", "tipg"]
            for name in order:
                label = "tipg" if name == "tipg" else "open_city_uncached"
                per_round[label].append(common.load_test(
                    urls(name, points), concurrency=CONCURRENCY, requests=requests,
                    headers=gzip_header))
        results["rounds_detail"] = per_round
        ratios = [round(o["throughput_rps"] / t["throughput_rps"], 2)
                  for o, t in zip(per_round["open_city_uncached"], per_round["tipg"],
                                  strict=True)]
        results["uncached_over_tipg_rps_by_round"] = ratios
        results["uncached_over_tipg_rps_median"] = sorted(ratios)[len(ratios) // 2]
        for label, runs in per_round.items():
            results[label] = min(runs, key=lambda r: abs(
                r["throughput_rps"] - sorted(x["throughput_rps"] for x in runs)[len(runs) // 2]))
        results["open_city_cached"] = common.load_test(
            urls("cached", points), concurrency=CONCURRENCY, requests=requests,
            headers=gzip_header)
        results["tipg_z12_raw_points"] = common.load_test(
            urls("tipg", z12), concurrency=CONCURRENCY, requests=max(len(z12) * 4, 16),
            headers=gzip_header)
        results["open_city_z12_cells_uncached"] = common.load_test(
            urls("uncached", z12), concurrency=CONCURRENCY, requests=max(len(z12) * 4, 16),
            headers=gzip_header)
    tipg = results["tipg"]
    rows = []
    for label in ("tipg", "open_city_uncached", "open_city_cached", "tipg_z12_raw_points",
                  "open_city_z12_cells_uncached"):
        r = results[label]
        rows.append([label, r["throughput_rps"], r["latency_ms"]["p50"], r["latency_ms"]["p95"],
                     r["bytes_mean"], r["errors"],
                     common.ratio(r["throughput_rps"], tipg["throughput_rps"])])
    common.print_table(
        f"Beside tipg: z14/z16 tiles, concurrency {CONCURRENCY}, {WORKERS} worker processes "
        f"each, median of {rounds} alternating rounds (uncached/tipg req/s by round: "
        f"{ratios}); z12 lines: tipg raw points capped at 10k vs Open City cells",
        ["server", "req/s", "p50 ms", "p95 ms", "bytes/tile", "errors", "x tipg req/s"], rows)
    return results


# --- entry point ------------------------------------------------------------------------------

SECTIONS = ("request_vs_raw", "parallel", "heat", "sizes", "payload", "servers")


def run(args) -> dict:
    """All sections, or those named in BENCH_TILES_SECTIONS (comma list; the others are kept
    from the previous results file)."""
    from reports.models import Report

    have = common.ensure_reports(args.count)
    quick = getattr(args, "quick", False)
    reps, cached_reps = (3, 2) if quick else (6, 4)  # cold reps: a multiple of 3 (the order turns)
    per_zoom = 2 if quick else 6
    wanted = [x for x in os.environ.get("BENCH_TILES_SECTIONS", "").split(",") if x]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"BENCH_TILES_SECTIONS: unknown {sorted(unknown)}; use {SECTIONS}")
    previous = common.RESULTS / "tiles.json"
    result = json.loads(previous.read_text()) if wanted and previous.exists() else {}
    print(f"tiles: {have:,} reports; {per_zoom} random tiles per zoom", flush=True)
    raw = Raw()
    try:
        tiles = targets(per_zoom)
        result.update({
            "machine": common.machine(),
            "reports": have,
            "hazard_reports": Report.objects.filter(is_hazard=True).count(),
            "hidden_reports": Report.objects.filter(is_hidden=True).count(),
            "tiles": [t.__dict__ for t in tiles],
        })
        steps = {
            "request_vs_raw": lambda: request_vs_raw(raw, tiles, reps, cached_reps),
            "parallel": lambda: parallel(raw, tiles, reps),
            "heat": lambda: heat(raw, reps),
            "sizes": lambda: sizes(raw),
            "payload": lambda: payload(raw),
            # Rounds of 200 requests (~3 s each) put the ratio at 0.95, 1.30 and 0.99 in one
            # run (2026-12-06): five rounds of 500 requests each.
            "servers": lambda: servers(tiles, *((60, 3) if quick else (500, 5))),
        }
        for name in wanted or SECTIONS:
            result[name] = steps[name]()
    finally:
        raw.close()
    common.write_results("tiles", result)
    if all(name in result for name in SECTIONS):
        print(json.dumps({"summary": summarise(result)}, indent=2))
    return result


def summarise(result: dict) -> dict:
    by_zoom = result["request_vs_raw"]["by_zoom"]
    servers_ = result["servers"]
    return {
        "cold_over_raw_p50": {z: d["cold_over_raw_p50"] for z, d in by_zoom.items()},
        "cold_over_raw_paired_p50": {z: d["cold_over_raw_paired_p50"]
                                     for z, d in by_zoom.items()},
        "cached_p50_ms": {z: d["cached"]["p50"] for z, d in by_zoom.items()},
        "heat_cold_p50_ms": {z: d["cold"]["p50"] for z, d in result["heat"].items()},
        "max_tile_kb": max(d["kb_max"] for d in result["sizes"].values()),
        "uncached_vs_tipg_rps_median": servers_["uncached_over_tipg_rps_median"],
    }
