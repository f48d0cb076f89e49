"""tiles.selectors.report_rows_in_box (the band index path of aggregates) finds exactly the
rows and drawn positions of reports_in_box (the GiST path), hazard generalisation included."""

from __future__ import annotations

import random

import mercantile
import pytest
from django.db.models import F

from layers.geometry import TILE_BAND_M, tile_band, tile_bands, to_srid
from reports.models import Report
from tiles import sql as tsql
from tiles.selectors import (
    Audience,
    PointX,
    PointY,
    TileFilters,
    box_values,
    public_audience,
    report_rows_in_box,
    reports_in_box,
    tile_reports,
)

from .. import factories as f
from .conftest import tile_of

pytestmark = pytest.mark.django_db


def _rows(queryset, values: dict) -> set[tuple[int, float, float]]:
    sql, params = tsql.queryset_sql(queryset)
    statement = tsql.Template(sql, params, serial=True).bind(values)
    return {(pk, round(x, 3), round(y, 3)) for pk, x, y in statement.fetch_all()}


def rows_by_bands(audience: Audience, bounds) -> set:
    values, hazard_by = box_values(bounds, exact=audience.restricted)
    found: set = set()
    reports = tile_reports(audience, TileFilters())
    for drawn in report_rows_in_box(reports, exact=audience.restricted, hazard_by=hazard_by):
        found |= _rows(drawn.rows.annotate(dx=drawn.x, dy=drawn.y).values_list("id", "dx", "dy"),
                       values)
    return found


def rows_by_gist(audience: Audience, bounds) -> set:
    values, hazard_by = box_values(bounds, exact=audience.restricted)
    qs = reports_in_box(tile_reports(audience, TileFilters()), exact=audience.restricted,
                        hazard_by=hazard_by)
    qs = qs.annotate(dx=PointX(F("tile_point")), dy=PointY(F("tile_point")))
    return _rows(qs.values_list("id", "dx", "dy"), values)


def staff_audience(user) -> Audience:
    return Audience(user=user, restricted=True, reports_key="all+x", reports_user=user)


def scattered_reports(city, n: int, *, spread_m: float, seed: int) -> list[Report]:
    rng = random.Random(seed)
    made = []
    for i in range(n):
        hazard = i % 7 == 0
        made.append(f.ReportFactory(
            category=city.explosive if hazard else city.pothole, is_hazard=hazard,
            location=f.offset(city.centre, rng.uniform(-spread_m, spread_m),
                              rng.uniform(-spread_m, spread_m))))
    return made


def test_generated_columns_hold_the_web_mercator_point_and_its_band(city):
    # given reports scattered over 20 km
    reports = scattered_reports(city, 40, spread_m=10_000, seed=3)
    # when their stored columns are read back
    rows = Report.objects.filter(pk__in=[r.pk for r in reports]).values_list(
        "location_tile", "tile_x", "tile_y", "tile_band")
    # then x/y are the Web Mercator point and the band is the one Python computes
    for point, x, y, band in rows:
        assert (x, y) == (point.x, point.y)
        assert band == tile_band(x)
    assert len({band for *_, band in rows}) > 10


def test_bands_of_a_range_cover_every_x_in_it():
    # given ranges that start and end exactly on band edges and inside bands
    edge = TILE_BAND_M * 40_000 - 20037508.342789244
    for xmin, xmax in ((edge, edge + TILE_BAND_M), (edge + 1, edge + 2), (edge - 0.5, edge)):
        bands = tile_bands(xmin, xmax)
        # then every x of the range falls in a listed band
        for x in (xmin, (xmin + xmax) / 2, xmax):
            assert tile_band(x) in bands


@pytest.mark.parametrize("z", [11, 13, 15, 16])
def test_band_rows_equal_gist_rows_for_the_public(city, z):
    # given ordinary and explosive-ordnance reports around the centre
    scattered_reports(city, 120, spread_m=3_000, seed=z)
    tile = tile_of(city.centre, z)
    b = mercantile.xy_bounds(tile.x, tile.y, tile.z)
    margin = (b.right - b.left) / 8
    bounds = (b.left - margin, b.bottom - margin, b.right + margin, b.top + margin)
    # when the box's rows are found through the bands and through the GiST
    by_bands = rows_by_bands(public_audience(), bounds)
    by_gist = rows_by_gist(public_audience(), bounds)
    # then both find the same reports, drawn at the same (generalised) positions
    assert by_bands == by_gist
    assert by_bands, "the box must hold reports for the comparison to mean anything"


def test_band_rows_equal_gist_rows_for_staff(city, users):
    # given reports on both sides of a z14 tile edge
    scattered_reports(city, 80, spread_m=1_500, seed=5)
    tile = tile_of(city.centre, 14)
    b = mercantile.xy_bounds(tile.x, tile.y, tile.z)
    bounds = (b.left, b.bottom, b.right, b.top)
    audience = staff_audience(users["admin"])
    # when staff (exact locations) ask through both paths
    by_bands = rows_by_bands(audience, bounds)
    by_gist = rows_by_gist(audience, bounds)
    # then the rows and exact positions agree
    assert by_bands == by_gist
    assert by_bands


def test_public_hazard_rows_are_at_their_cell_centre(city):
    # given one hazard report
    report = f.ReportFactory(category=city.explosive, is_hazard=True,
                             location=f.offset(city.centre, 130, -70))
    tile = tile_of(city.centre, 12)
    b = mercantile.xy_bounds(tile.x, tile.y, tile.z)
    bounds = (b.left, b.bottom, b.right, b.top)
    # when the public's rows are found through the bands
    rows = rows_by_bands(public_audience(), bounds)
    # then it is drawn at the centre of its public cell, not at its exact point
    exact = to_srid(report.location, 3857)
    [(pk, x, y)] = rows
    assert pk == report.pk
    assert (x, y) != (round(exact.x, 3), round(exact.y, 3))
