"""The basemap in the admin: every table listed, read-only (the next import replaces it)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from basemap.models import Building, Street

pytestmark = pytest.mark.django_db

MODELS = ("basemapimport", "street", "building", "water", "park", "railway")


@pytest.mark.parametrize("model", MODELS)
def test_every_table_is_listed_and_cannot_be_added(client, users, small_import, model):
    client.force_login(users["admin"])
    response = client.get(reverse(f"admin:basemap_{model}_changelist"))
    assert response.status_code == 200
    assert client.get(reverse(f"admin:basemap_{model}_add")).status_code == 403


def test_a_street_is_shown_on_the_offline_map_and_not_editable(client, users, small_import):
    client.force_login(users["admin"])
    street = Street.objects.get(name_uk="вулиця Шевченка")
    html = client.get(reverse("admin:basemap_street_change", args=[street.pk])).content.decode()
    assert "вулиця Шевченка" in html
    assert 'name="_save"' not in html
    response = client.post(reverse("admin:basemap_street_change", args=[street.pk]),
                           {"name_uk": "інша"})
    assert response.status_code == 403
    assert Street.objects.get(pk=street.pk).name_uk == "вулиця Шевченка"


def test_buildings_are_found_by_their_address(client, users, small_import):
    client.force_login(users["admin"])
    url = reverse("admin:basemap_building_changelist")
    html = client.get(url, {"q": "Соборна"}).content.decode()
    assert "Соборна площа, 1" in html
    assert Building.objects.count() == 3
