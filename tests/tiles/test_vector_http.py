"""Tile HTTP behaviour: errors, 204, ETag/304, Cache-Control, gzip, server cache and its
invalidation on commit."""

import gzip
import time

import mapbox_vector_tile
import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from reports.services import report_transition
from reports.workflow import Status
from tiles import cache as tcache
from tiles import sql as tsql
from tiles.cache import bump_layer_version, layer_version
from tiles.layers import ReportsLayer, TileBox
from tiles.selectors import audience_for

from .. import factories as f
from .conftest import by_id, features, tile_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/reports/23/0/0.pbf",  # z beyond 22
        "/tiles/reports/2/4/0.pbf",  # x beyond 2^z - 1
        "/tiles/reports/2/0/4.pbf",  # y beyond 2^z - 1
        "/tiles/reports/a/0/0.pbf",
        "/tiles/reports/1/x/0.pbf",
        "/tiles/reports/1/0/-1.pbf",
        "/tiles/reports/1.5/0/0.pbf",
        "/tiles/districts/99999999999/0/0.pbf",
        "/tiles/heat/30/0/0.png",
        "/tiles/heat/z/0/0.png",
    ],
)
def test_bad_tile_coordinates_are_400_json(db, client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "invalid_tile" and body["message"]


def test_unknown_layer_is_404_json(db, client):
    response = client.get("/tiles/secrets/1/0/0.pbf")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_layer"


def test_tiles_are_read_only(db, client):
    response = client.post("/tiles/districts/1/0/0.pbf")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"


def test_empty_tile_is_204_with_cache_headers(city, client):
    response = client.get("/tiles/reports/3/0/0.pbf")  # the Americas: nothing there
    assert response.status_code == 204
    assert response.content == b""
    assert response["ETag"]
    assert "max-age=60" in response["Cache-Control"]


def test_matching_etag_gives_304(city, client):
    f.ReportFactory(category=city.pothole, location=city.centre)
    url = tile_of(city.centre, 14).url()
    first = client.get(url)
    etag = first["ETag"]
    # when the client revalidates with the ETag it holds
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    # then nothing is sent again
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    # and a stale ETag gets the tile
    assert client.get(url, HTTP_IF_NONE_MATCH='"reports-stale"').status_code == 200


def test_etag_is_recomputed_after_the_server_cache_is_lost(city, client):
    f.ReportFactory(category=city.pothole, location=city.centre)
    url = tile_of(city.centre, 14).url()
    etag = client.get(url)["ETag"]
    cache.clear()
    # the ETag names the content (CRC-32 and length), so an identical re-render still matches
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_status_change_invalidates_the_tile_on_commit(city, users, client,
                                                      django_capture_on_commit_callbacks):
    # given a cached tile showing an assigned pothole
    report = f.ReportFactory(category=city.pothole, department=city.roads,
                             location=city.centre, status=Status.ASSIGNED)
    url = tile_of(city.centre, 16).url()
    before = client.get(url)
    assert by_id(features(before))[report.pk]["properties"]["status"] == "assigned"
    version = layer_version("reports")
    # when roads staff start work on it (the service bumps the counter on commit)
    with django_capture_on_commit_callbacks(execute=True):
        report_transition(report_id=report.pk, actor=users["roads"], to_status="in_progress")
    # then the next request gets the new status, with a new ETag
    assert layer_version("reports") > version
    after = client.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert by_id(features(after))[report.pk]["properties"]["status"] == "in_progress"
    assert after["ETag"] != before["ETag"]


def test_uncommitted_change_does_not_bump(city, users, client,
                                          django_capture_on_commit_callbacks):
    report = f.ReportFactory(category=city.pothole, department=city.roads,
                             location=city.centre, status=Status.ASSIGNED)
    version = layer_version("reports")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report_transition(report_id=report.pk, actor=users["roads"], to_status="in_progress")
    assert callbacks  # the bump waits for the commit
    assert layer_version("reports") == version


def test_cached_tile_is_served_until_the_layer_version_changes(city, client):
    report = f.ReportFactory(category=city.pothole, location=city.centre)
    url = tile_of(city.centre, 16).url()
    assert report.pk in by_id(features(client.get(url)))
    # a write that bypasses services (and forgets to bump) is not seen: the cache holds
    report.__class__.objects.filter(pk=report.pk).update(is_hidden=True)
    assert report.pk in by_id(features(client.get(url)))
    # bumping the counter is what invalidates
    bump_layer_version("reports")
    assert client.get(url).status_code == 204


def test_public_and_private_cache_control(city, users, client, login):
    f.ReportFactory(category=city.pothole, location=city.centre)
    url = tile_of(city.centre, 14).url()
    public = client.get(url)
    assert public["Cache-Control"] == "public, max-age=60"
    assert "Cookie" in public["Vary"]
    staff = login(users["roads"]).get(url)
    assert staff["Cache-Control"] == "private, max-age=60"
    # districts do not depend on who asks
    districts = client.get(tile_of(city.centre, 10).url("districts"))
    assert districts["Cache-Control"] == "public, max-age=60"
    assert "Accept-Language" in districts["Vary"]
    # the responsibility layer is staff-only, hence private
    responsibility = login(users["roads"]).get(tile_of(city.centre, 10).url("responsibility"))
    assert responsibility["Cache-Control"] == "private, max-age=60"


def test_staff_and_public_tiles_are_cached_apart(city, users, client, login):
    hidden = f.ReportFactory(category=city.pothole, department=city.roads, is_hidden=True,
                             location=city.centre)
    url = tile_of(city.centre, 16).url()
    # staff first (fills the cache for their class), then the public
    assert hidden.pk in by_id(features(login(users["roads"]).get(url)))
    assert client.get(url).status_code == 204
    assert hidden.pk in by_id(features(login(users["roads_head"]).get(url)))


def test_gzip_when_accepted(city, client):
    for i in range(200):
        f.ReportFactory(category=city.pothole, location=f.offset(city.centre, i, i % 17))
    url = tile_of(city.centre, 14).url()
    plain = client.get(url)
    zipped = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert gzip.decompress(zipped.content) == plain.content
    assert len(zipped.content) < len(plain.content)
    assert zipped["ETag"] != plain["ETag"]
    # either representation's ETag revalidates
    assert client.get(url, HTTP_IF_NONE_MATCH=zipped["ETag"]).status_code == 304
    assert mapbox_vector_tile.decode(plain.content)["reports"]["features"]


def test_token_authenticated_staff_get_staff_tiles(city, users, client):
    token = Token.objects.create(user=users["roads"])
    url = tile_of(city.centre, 10).url("responsibility")
    assert client.get(url).status_code == 403
    response = client.get(url, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    bad = client.get(url, HTTP_AUTHORIZATION="Token nope")
    assert bad.status_code == 401 and bad.json()["code"] == "authentication_failed"


def test_tilejson_describes_a_layer(db, client):
    body = client.get("/tiles/reports.json").json()
    assert body["tiles"] == ["http://testserver/tiles/reports/{z}/{x}/{y}.pbf"]
    assert body["vector_layers"][0]["id"] == "reports"
    assert client.get("/tiles/nope.json").status_code == 404


def test_a_staff_only_layer_is_described_to_staff_only(db, client, users):
    # the layer's fields are no secret, but who may read it is said the same way as its tiles
    refused = client.get("/tiles/responsibility.json")
    assert refused.status_code == 403 and refused.json()["code"] == "staff_only"
    client.force_login(users["roads"])
    assert client.get("/tiles/responsibility.json").json()["name"] == "responsibility"


class _Later:
    """Stands in for the `time` module in tiles.cache, `seconds` in the future."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def time(self) -> float:
        return time.time() + self.seconds


def test_aggregated_tiles_may_be_stale_for_the_grace_only(city, client, monkeypatch):
    # given a cached z11 cell tile with one report
    f.ReportFactory(category=city.pothole, location=city.centre)
    url = tile_of(city.centre, 11).url()
    assert sum(c["properties"]["count"] for c in features(client.get(url))) == 1
    # when a second report is committed (the counter is bumped)
    f.ReportFactory(category=city.pothole, location=city.centre)
    bump_layer_version("reports")
    # then the cell tile may still show 1 within the grace, but not after it
    assert sum(c["properties"]["count"] for c in features(client.get(url))) == 1
    monkeypatch.setattr(tcache, "time", _Later(tcache.AGGREGATE_GRACE_SECONDS + 1))
    assert sum(c["properties"]["count"] for c in features(client.get(url))) == 2
    # while point tiles have no grace at all
    point_url = tile_of(city.centre, 16).url()
    assert len(features(client.get(point_url))) == 2


def test_no_dog_pile_while_a_tile_is_being_rendered(city, client, django_assert_num_queries):
    report = f.ReportFactory(category=city.pothole, location=city.centre)
    url = tile_of(city.centre, 16).url()
    assert report.pk in by_id(features(client.get(url)))
    report.__class__.objects.filter(pk=report.pk).update(is_hidden=True)
    bump_layer_version("reports")
    # given another request is re-rendering this tile (it holds the render lock)
    key = public_tile_key(tile_of(city.centre, 16))
    assert tcache.render_lock("reports", key)
    # then this request gets the previous tile without touching the database
    with django_assert_num_queries(0):
        assert report.pk in by_id(features(client.get(url)))
    # and once the lock is released the tile is re-rendered
    tcache.render_unlock("reports", key)
    assert client.get(url).status_code == 204


def public_tile_key(tile) -> str:
    """The cache key (besides the counter) of an anonymous, unfiltered reports tile."""
    box = TileBox(tile.z, tile.x, tile.y)
    layer = ReportsLayer(audience=audience_for(AnonymousUser()), params={})
    return f"{box.z}/{box.x}/{box.y}|{layer.variant(box)}"


def test_a_tile_past_the_statement_timeout_is_503(city, client, monkeypatch):
    # given the tile statement is slower than the (lowered) timeout
    monkeypatch.setattr(tsql, "STATEMENT_TIMEOUT_MS", 50)
    monkeypatch.setattr(ReportsLayer, "statement",
                        lambda self, box, now: tsql.Statement("SELECT pg_sleep(1), NULL", []))
    # then the database cancels it and the client is told to retry
    response = client.get(tile_of(city.centre, 14).url())
    assert response.status_code == 503
    assert response.json()["code"] == "tile_timeout"
    assert response["Retry-After"]
