"""Helpers for tile tests: where a point falls in a tile, fetching and decoding tiles."""

from __future__ import annotations

from dataclasses import dataclass

import mapbox_vector_tile
import mercantile
import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from layers.geometry import to_api, to_srid

EXTENT = 4096


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    def url(self, layer: str = "reports") -> str:
        return f"/tiles/{layer}/{self.z}/{self.x}/{self.y}.pbf"

    @property
    def heat_url(self) -> str:
        return f"/tiles/heat/{self.z}/{self.x}/{self.y}.png"

    def right(self) -> Tile:
        return Tile(self.z, self.x + 1, self.y)


def tile_of(point: Point, z: int) -> Tile:
    """The z tile holding `point` (any SRID)."""
    p = to_api(point)
    t = mercantile.tile(p.x, p.y, z)
    return Tile(t.z, t.x, t.y)


def tile_coords(point: Point, tile: Tile) -> tuple[float, float]:
    """`point` in the tile's MVT coordinates (0..4096, y down), unrounded."""
    m = to_srid(point, 3857)
    b = mercantile.xy_bounds(tile.x, tile.y, tile.z)
    size = b.right - b.left
    return (m.x - b.left) / size * EXTENT, (b.top - m.y) / size * EXTENT


def decode(response) -> dict:
    """Decoded MVT layers (raw tile coordinates, y down); {} for a 204."""
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    if response.status_code == 204:
        return {}
    assert response.status_code == 200, response.content[:200]
    return mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})


def features(response, layer: str = "reports") -> list[dict]:
    return decode(response).get(layer, {}).get("features", [])


def by_id(feats: list[dict]) -> dict[int, dict]:
    return {f["properties"]["id"]: f for f in feats}


def near(a: tuple[float, float], b: tuple[float, float], tolerance: float = 1.5) -> bool:
    return abs(a[0] - b[0]) <= tolerance and abs(a[1] - b[1]) <= tolerance


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def login(client):
    """login(user) -> a client signed in as `user`."""

    def _login(user) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return _login
