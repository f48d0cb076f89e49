"""The admin of Open311 clients: a new key is shown once."""

import pytest
from django.urls import reverse

from open311.models import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["admin"])
    return client


def test_admin_creates_api_key_shown_once(admin_client):
    response = admin_client.post(reverse("admin:open311_apiclient_add"), {
        "name": "City app", "contact": "it@city", "is_active": "on"}, follow=True)
    assert response.status_code == 200
    client = ApiClient.objects.get(name="City app")
    assert client.key_hash and client.key_prefix.encode() in response.content
