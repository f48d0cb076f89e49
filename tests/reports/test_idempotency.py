"""`Idempotency-Key` on POST reports/: a retry returns the report the first request made
(200, `Idempotent-Replayed: true`) instead of a duplicate; the same key with another body is
409 `idempotency_key_reused`. Keys are scoped per account, or per address for anonymous
clients."""

from __future__ import annotations

import pytest

from layers.geometry import lat_lon
from reports.models import IdempotencyKey, Report

from .. import factories as f

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"


@pytest.fixture
def body(city):
    lat, lon = lat_lon(city.centre)
    return {"category": "pothole", "lat": lat, "lon": lon, "description": "Pothole",
            "contact": {"email": "anna@example.org"}}


def post(api, data, key=None, ip="10.1.1.1", fmt="json"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(URL, data, format=fmt, REMOTE_ADDR=ip, **headers)


def test_retry_returns_the_same_report(api, body):
    # given a report sent with a key
    first = post(api, body, "8f14e45f-ceea-4e67-a1b5-2b1b3a5c0d11")
    # when the client retries with the same key and body
    retry = post(api, body, "8f14e45f-ceea-4e67-a1b5-2b1b3a5c0d11")
    # then the first is 201, the retry 200 with the same body, and one report exists
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    assert retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert retry["Location"] == first["Location"]
    assert Report.objects.count() == 1


def test_equivalent_bodies_are_the_same_request(api, body):
    # given a report whose coordinates the retry spells as strings
    first = post(api, body, "k")
    retry = post(api, {**body, "lat": str(body["lat"]), "lon": str(body["lon"])}, "k")
    # then it is still a retry
    assert retry.status_code == 200
    assert retry.json()["number"] == first.json()["number"]


def test_same_key_other_body_is_409(api, body):
    # given a report made with a key
    post(api, body, "k")
    # when the key is reused for another report
    response = post(api, {**body, "description": "Another problem"}, "k")
    # then 409, and no second report
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Report.objects.count() == 1


def test_without_a_key_each_post_is_a_report(api, body):
    post(api, body)
    post(api, body)
    assert Report.objects.count() == 2


def test_keys_are_scoped_per_account(api, users, body):
    # given two residents using the same key (two apps that count from 1)
    api.force_authenticate(users["resident"])
    mine = post(api, body, "1")
    api.force_authenticate(users["other_resident"])
    theirs = post(api, body, "1")
    # then each gets a report of their own
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["number"] != theirs.json()["number"]
    assert set(IdempotencyKey.objects.values_list("scope", flat=True)) == {
        f"user:{users['resident'].pk}", f"user:{users['other_resident'].pk}"}


def test_anonymous_keys_are_scoped_per_address(api, body):
    a = post(api, body, "same", ip="10.0.0.1")
    b = post(api, body, "same", ip="10.0.0.2")
    a_again = post(api, body, "same", ip="10.0.0.1")
    assert (a.status_code, b.status_code, a_again.status_code) == (201, 201, 200)
    assert a_again.json()["number"] == a.json()["number"] != b.json()["number"]


def test_a_refused_request_does_not_use_up_the_key(api, body):
    # given a first attempt that failed validation
    bad = post(api, {**body, "category": "nope"}, "k")
    # when the client fixes the body and sends it with the same key
    good = post(api, body, "k")
    # then the report is created
    assert (bad.status_code, good.status_code) == (400, 201)


def test_multipart_retry_compares_the_photos(api, city, body):
    # given a multipart report with a photo
    form = {k: v for k, v in body.items() if k != "contact"}

    def with_photo(colour):
        return {**form, "photos": [f.image_file("p.jpg", colour=colour)]}

    first = post(api, with_photo((1, 2, 3)), "m", fmt="multipart")
    # when retried with the same photo, and then with a different photo
    same = post(api, with_photo((1, 2, 3)), "m", fmt="multipart")
    other = post(api, with_photo((200, 0, 0)), "m", fmt="multipart")
    # then the same photo is a retry, a different one a conflict
    assert (first.status_code, same.status_code, other.status_code) == (201, 200, 409)
    assert Report.objects.get().photos.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 201, "ключ", "tab\there"])
def test_malformed_keys_are_400(api, body, key):
    response = post(api, body, key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert Report.objects.count() == 0
