"""Heat tiles: report density as 256x256 transparent PNGs. No point ever leaves the server.

Pipeline for one tile (one SQL query):
1. SQL counts reports per pixel bin over the tile plus a MARGIN_PX margin on every side
   (integer pixel keys, GROUP BY), with the same visibility, hazard generalisation and
   filters as the `reports` vector layer. `weight=open` counts open reports only;
   `weight=age` counts open reports weighted by how long they have waited:
   1 + min(age_days, 90) / 30 (a new report weighs 1, three months or more weigh 4).
2. numpy smooths the bins with a Gaussian of SIGMA_PX pixels (exact, via FFT). The margin
   is 4 sigma, so a pixel's value depends only on data the tile saw: neighbouring tiles
   agree at their shared edge.
3. Normalisation, fixed per zoom so neighbouring tiles and repeated visits match: the
   smoothed field is scaled so a lone report peaks at 1 ("reports within about one sigma"),
   then `t = log(1 + h) / log(1 + H(z))` with H(z) = SATURATION_Z12 * 2^(12 - z). Uniform
   density falls 4x per zoom level in these units while a single hot spot stays put; the
   2x-per-zoom saturation sits between the two, so both stay readable from z10 to z18.
   The log makes one scale work for a town with 5,000 reports and a city with a million.
4. A perceptual ramp (inferno, without its near-black start) coloured by `t`, with alpha
   rising from 0: exactly transparent where there is no data. Pillow encodes the PNG.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

import numpy as np
from django.db.models import (
    DateField,
    ExpressionWrapper,
    FloatField,
    IntegerField,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Floor, Least, TruncDate
from PIL import Image

from geocity.clock import city_today
from geocity.errors import ValidationFailed
from reports.workflow import OPEN_STATUSES

from . import sql as tsql
from .layers import RenderedTile, TileBox, _DaysBetween
from .selectors import Audience, TileFilters, box_values, report_rows_in_box, tile_reports

TILE_PX = 256
SIGMA_PX = 8.0
MARGIN_PX = 32  # 4 sigma
SATURATION_Z12 = 1000.0
VISIBLE_FROM = 0.01  # h below this (1% of a lone report's peak) stays transparent
ALPHA_FULL_AT = 0.25  # t at which the colour becomes fully opaque (times MAX_ALPHA)
MAX_ALPHA = 0.85
WEIGHTS = ("count", "open", "age")

# inferno (matplotlib / viridisLite), ten evenly spaced stops
INFERNO = ["#000004", "#1B0C41", "#4A0C6B", "#781C6D", "#A52C60", "#CF4446", "#ED6925",
           "#FB9B06", "#F7D13D", "#FCFFA4"]
RAMP_START = 0.15  # skip the near-black end: it reads as "dirt" over a basemap


def parse_weight(raw: str | None) -> str:
    weight = (raw or "count").strip() or "count"
    if weight not in WEIGHTS:
        raise ValidationFailed("weight must be open or age (or omitted).", code="invalid_weight",
                               fields={"weight": ["open or age"]})
    return weight


@lru_cache(maxsize=1)
def colour_lut() -> np.ndarray:
    """256 RGB colours: the ramp from RAMP_START to the end of inferno."""
    stops = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in INFERNO], float)
    positions = np.linspace(0.0, 1.0, len(stops))
    at = np.linspace(RAMP_START, 1.0, 256)
    return np.stack([np.interp(at, positions, stops[:, k]) for k in range(3)], axis=1).astype(
        np.uint8
    )


@lru_cache(maxsize=1)
def transparent_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (TILE_PX, TILE_PX), (0, 0, 0, 0)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


@lru_cache(maxsize=4)
def _gaussian_transfer(size: int, sigma: float) -> np.ndarray:
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    return np.exp(-2.0 * math.pi**2 * sigma**2 * (fx**2 + fy**2))


def saturation(z: int) -> float:
    return max(2.0, SATURATION_Z12 * 2.0 ** (12 - z))


def bins_querysets(*, audience: Audience, filters: TileFilters, weight: str,
                   hazard_by: str) -> list[QuerySet]:
    """values_list (i, j, w) per set of rows (`report_rows_in_box`): each report's pixel on
    the tile grown by MARGIN_PX and its weight, to be added up per pixel once, over all
    sets (one aggregation: summing per set first and again over the union cost a second
    pass over ~55,000 bins at z12).

    Tile values are TileParams (the box, `left`, `top`, `px`, `today`): the querysets are
    compiled once per shape (see tiles.sql.Template)."""
    P = tsql.TileParam  # noqa: N806 - reads like a placeholder
    left, top, px = P("left", FloatField()), P("top", FloatField()), P("px", FloatField())
    out = []
    for drawn in report_rows_in_box(tile_reports(audience, filters), exact=audience.restricted,
                                    hazard_by=hazard_by):
        qs = drawn.rows
        if weight in ("open", "age"):
            qs = qs.filter(status__in=list(OPEN_STATUSES))
        if weight == "age":
            age = _DaysBetween(P("today", DateField()), TruncDate("created"))
            each = ExpressionWrapper(1.0 + Least(age, Value(90)) / 30.0,
                                     output_field=FloatField())
        else:
            each = Value(1, output_field=IntegerField())
        out.append(
            qs.annotate(
                i=Cast(Floor((drawn.x - left) / px), IntegerField()),
                j=Cast(Floor((top - drawn.y) / px), IntegerField()),
                w=each,
            )
            .values_list("i", "j", "w")
        )
    return out


# Bins leave the database packed in one bytea (big-endian int32 i, int32 j, float32 weight
# per bin): numpy reads it in place, where 50,000 row tuples cost ~90 ms to convert.
PACKED_SQL = (
    "SELECT string_agg(int4send(b.i) || int4send(b.j) || float4send(b.w::float4), ''::bytea) "
    "FROM (SELECT u.i, u.j, sum(u.w) AS w FROM ({sets}) AS u GROUP BY u.i, u.j) AS b"
)
BIN_DTYPE = np.dtype([("i", ">i4"), ("j", ">i4"), ("w", ">f4")])


def unpack_bins(packed: bytes | memoryview | None) -> np.ndarray:
    return np.frombuffer(bytes(packed or b""), dtype=BIN_DTYPE)


def render_counts(bins: np.ndarray, z: int) -> bytes:
    """The PNG for binned weights (fields i, j, w) on the tile-plus-margin grid."""
    size = TILE_PX + 2 * MARGIN_PX
    if not len(bins):
        return transparent_png()
    i, j = bins["i"].astype(np.int64), bins["j"].astype(np.int64)
    keep = (i >= 0) & (i < size) & (j >= 0) & (j < size)
    grid = np.zeros((size, size), dtype=np.float64)
    grid[j[keep], i[keep]] = bins["w"][keep]  # one row per bin: keys are unique
    smooth = np.fft.irfft2(np.fft.rfft2(grid) * _gaussian_transfer(size, SIGMA_PX), s=grid.shape)
    field = smooth[MARGIN_PX:MARGIN_PX + TILE_PX, MARGIN_PX:MARGIN_PX + TILE_PX]
    h = field * (2.0 * math.pi * SIGMA_PX**2)
    h[h < VISIBLE_FROM] = 0.0
    t = np.clip(np.log1p(h) / math.log1p(saturation(z)), 0.0, 1.0)
    rgba = np.zeros((TILE_PX, TILE_PX, 4), dtype=np.uint8)
    rgba[..., :3] = colour_lut()[np.round(t * 255).astype(np.uint8)]
    alpha = np.clip(t / ALPHA_FULL_AT, 0.0, 1.0) * MAX_ALPHA * 255
    rgba[..., 3] = np.where(h > 0, np.maximum(alpha, 1), 0).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG", compress_level=3)
    return buf.getvalue()


TEMPLATES = tsql.Templates()


def heat_statement(box: TileBox, *, audience: Audience, filters: TileFilters,
                   weight: str) -> tsql.Statement:
    px = box.size / TILE_PX
    margin = MARGIN_PX * px
    xmin, ymin, xmax, ymax = box.bounds
    values, hazard_by = box_values((xmin - margin, ymin - margin, xmax + margin, ymax + margin),
                                   exact=audience.restricted)

    def build() -> tsql.Template:
        sets, params = tsql.union_all_sql(bins_querysets(
            audience=audience, filters=filters, weight=weight, hazard_by=hazard_by))
        # Serial at every zoom: the band index scans gain nothing from parallel workers on
        # 2 cores, which cost their start-up (z12 heat: 87 ms serial, 100 ms parallel).
        return tsql.Template(PACKED_SQL.format(sets=sets), params, serial=True)

    key = (audience.reports_key, filters.key(), weight, hazard_by)
    return TEMPLATES.get(key, build).bind({
        **values, "left": xmin - margin, "top": ymax + margin, "px": px, "today": city_today(),
    })


def heat_tile(box: TileBox, *, audience: Audience, filters: TileFilters,
              weight: str) -> RenderedTile:
    statement = heat_statement(box, audience=audience, filters=filters, weight=weight)
    return RenderedTile(render_counts(unpack_bins(statement.fetch_row()[0]), box.z))
