"""/tiles/heat/{z}/{x}/{y}.png: density PNGs, transparent where there is no data."""

import io
from datetime import timedelta

import mercantile
import numpy as np
import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone
from PIL import Image

from layers.geometry import generalise, to_storage
from reports.workflow import Status

from .. import factories as f
from .conftest import tile_coords, tile_of

pytestmark = pytest.mark.django_db


def png(response) -> np.ndarray:
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.size == (256, 256)
    return np.asarray(image.convert("RGBA"))


def alpha_at(image: np.ndarray, xy: tuple[float, float]) -> int:
    """Alpha at MVT coordinates (0..4096) converted to pixels."""
    return int(image[int(xy[1] / 16), int(xy[0] / 16), 3])


def test_heat_tile_is_a_transparent_png_with_colour_where_reports_are(city, client):
    # given a cluster of 30 reports
    for i in range(30):
        f.ReportFactory(category=city.pothole, location=f.offset(city.centre, i * 3, -i * 2))
    tile = tile_of(city.centre, 14)
    image = png(client.get(tile.heat_url))
    where = tile_coords(city.centre, tile)
    # then it is coloured there and fully transparent far away
    assert alpha_at(image, where) > 100
    far = (where[0] + 2000) % 4096, (where[1] + 2000) % 4096
    assert alpha_at(image, far) == 0
    assert (image[..., 3] == 0).mean() > 0.5


def test_empty_heat_tile_is_fully_transparent(city, client):
    image = png(client.get("/tiles/heat/5/0/0.png"))
    assert not image[..., 3].any()


def test_neighbouring_tiles_match_at_their_edge(city, client):
    # given reports straddling the edge between two z16 tiles
    tile = tile_of(city.centre, 16)
    b = mercantile.xy_bounds(tile.x, tile.y, tile.z)
    mid_y = (b.top + b.bottom) / 2
    for dx in (-20, -8, -3, 2, 6, 15):
        f.ReportFactory(category=city.pothole,
                        location=to_storage(Point(b.right + dx, mid_y + dx * 2, srid=3857)))
    left = png(client.get(tile.heat_url)).astype(int)
    right = png(client.get(tile.right().heat_url)).astype(int)
    # then the last column of the left tile and the first of the right one agree
    edge_left, edge_right = left[:, -1, :], right[:, 0, :]
    assert edge_left[:, 3].max() > 100  # there is heat at the seam
    assert np.abs(edge_left - edge_right).max() <= 12  # one pixel apart: nearly equal


def test_weight_open_ignores_closed_reports(city, client):
    for i in range(10):
        f.ReportFactory(category=city.pothole, status=Status.CLOSED,
                        location=f.offset(city.centre, i * 4, 0))
    tile = tile_of(city.centre, 15)
    assert png(client.get(tile.heat_url))[..., 3].any()
    assert not png(client.get(tile.heat_url + "?weight=open"))[..., 3].any()
    assert png(client.get(tile.heat_url + "?weight=age&status=closed"))[..., 3].sum() == 0


def test_weight_age_makes_old_open_reports_hotter(city, client):
    old = timezone.now() - timedelta(days=120)
    tile = tile_of(city.centre, 14)
    b = mercantile.xy_bounds(tile.x, tile.y, tile.z)
    cx, cy = (b.left + b.right) / 2, (b.top + b.bottom) / 2
    left = to_storage(Point(cx - 400, cy, srid=3857))
    right = to_storage(Point(cx + 400, cy, srid=3857))
    for i in range(5):
        f.ReportFactory(category=city.pothole, location=f.offset(left, i, 0), created=old)
        f.ReportFactory(category=city.pothole, location=f.offset(right, i, 0))
    by_count = png(client.get(tile.heat_url))
    by_age = png(client.get(tile.heat_url + "?weight=age"))
    l_xy, r_xy = tile_coords(left, tile), tile_coords(right, tile)
    assert abs(alpha_at(by_count, l_xy) - alpha_at(by_count, r_xy)) <= 2
    assert by_age[int(l_xy[1] / 16), int(l_xy[0] / 16), 0] > by_age[
        int(r_xy[1] / 16), int(r_xy[0] / 16), 0]  # hotter colour (inferno: redder, brighter)


def test_bad_weight_is_400(city, client):
    response = client.get(tile_of(city.centre, 14).heat_url + "?weight=sum")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_weight"


def test_public_heat_uses_the_generalised_hazard_location(city, users, client, login):
    cell_centre = generalise(city.centre)
    exact = f.offset(cell_centre, 200, 150)
    f.ReportFactory(category=city.explosive, is_hazard=True, location=exact)
    tile = tile_of(exact, 17)
    assert tile != tile_of(cell_centre, 17)
    # the public sees no heat at the exact spot; staff do
    assert not png(client.get(tile.heat_url))[..., 3].any()
    staff = png(login(users["dsns"]).get(tile.heat_url))
    assert alpha_at(staff, tile_coords(exact, tile)) > 0


def test_hidden_reports_make_no_public_heat(city, client):
    f.ReportFactory(category=city.pothole, location=city.centre, is_hidden=True)
    assert not png(client.get(tile_of(city.centre, 15).heat_url))[..., 3].any()


def test_heat_tile_is_one_query_then_cached(city, client, django_assert_num_queries):
    f.ReportFactory(category=city.pothole, location=city.centre)
    url = tile_of(city.centre, 12).heat_url + "?category=pothole"
    with django_assert_num_queries(1):
        first = client.get(url)
    with django_assert_num_queries(0):
        second = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 304
