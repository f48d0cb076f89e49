"""`manage.py create_api_key` and `revoke_api_key`: the key is printed once, stored hashed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from open311.models import ApiClient
from open311.selectors import api_client_for_key

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_create_prints_a_working_key_once(city):
    # when an administrator creates a key for a back-office of two departments
    key, message = run("create_api_key", "Roads back-office", "--contact", "it@roads.example",
                       "--department", "roads", "--department", "lighting")
    # then stdout carries only the key, which authenticates the new client
    client = ApiClient.objects.get(name="Roads back-office")
    assert len(key.split()) == 1 and len(key) >= 40
    assert api_client_for_key(key) == client
    assert key not in (client.key_hash, client.key_prefix)  # only a hash is kept
    assert client.contact == "it@roads.example"
    assert set(client.departments.values_list("code", flat=True)) == {"roads", "lighting"}
    assert "shown once" in message


def test_duplicate_name_fails_without_a_second_client(city):
    run("create_api_key", "App")
    with pytest.raises(CommandError, match="already exists"):
        run("create_api_key", "App")
    assert ApiClient.objects.filter(name="App").count() == 1


def test_unknown_department_fails_and_creates_nothing(city):
    with pytest.raises(CommandError, match="no-such"):
        run("create_api_key", "App", "--department", "no-such")
    assert not ApiClient.objects.exists()


def test_blank_name_fails(city):
    with pytest.raises(CommandError):
        run("create_api_key", "  ")


def test_revoke_stops_the_key(city):
    key, _ = run("create_api_key", "App")
    out, _ = run("revoke_api_key", "App")
    assert "Revoked" in out
    assert api_client_for_key(key) is None
    client = ApiClient.objects.get(name="App")
    assert not client.is_active and client.revoked_at is not None
    # revoking again is harmless; an unknown name is an error
    assert "already revoked" in run("revoke_api_key", "App")[0]
    with pytest.raises(CommandError, match="No API client"):
        run("revoke_api_key", "Nobody")
