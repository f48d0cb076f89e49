"""Layers admin: every model registered on the offline map widget, the upload page (dry-run
summary, then import), errors in the form, permissions, and GeoJSON/GeoPackage downloads."""

import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from layers.admin import staging_root
from layers.models import (
    AddressPoint,
    Department,
    District,
    HazardZone,
    InfrastructureFeature,
    InfrastructureLayer,
    ResponsibilityArea,
    ServiceArea,
)
from tiles.cache import layer_version

from .. import factories as f
from .test_import_formats import feature, square

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; Ukrainian (the default) is checked separately."""
    with translation.override("en"):
        yield

IMPORT_URL = reverse("admin:layers_hazardzone_import")
CHANGELIST = reverse("admin:layers_hazardzone_changelist")


@pytest.fixture
def client(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language switch's choice
    return client


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["admin"])
    return client


def _upload(features, name="zones.geojson") -> SimpleUploadedFile:
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return SimpleUploadedFile(name, data, content_type="application/geo+json")


def _zones():
    return [feature(square(1000, 1000, 200), name="Поле A", kind="SHA"),
            feature(square(-1000, 1000, 200), name="Поле B", kind="CHA")]


def _staged() -> list:
    root = staging_root()
    return list(root.iterdir()) if root.exists() else []


@pytest.mark.parametrize(
    "model",
    [ServiceArea, District, Department, ResponsibilityArea, HazardZone, InfrastructureLayer,
     InfrastructureFeature, AddressPoint],
)
def test_every_layers_model_is_in_the_admin(admin_client, city, model):
    f.HazardZoneFactory()
    f.InfrastructureFeatureFactory()
    f.AddressPointFactory()
    opts = model._meta
    response = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    response = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("model", "obj"),
    [
        (HazardZone, lambda city: f.HazardZoneFactory()),
        (ResponsibilityArea, lambda city: city.areas["roads"]),
        (District, lambda city: city.west),
        (ServiceArea, lambda city: city.service_area),
        (InfrastructureFeature, lambda city: f.InfrastructureFeatureFactory()),
        (AddressPoint, lambda city: f.AddressPointFactory()),
    ],
)
def test_change_form_uses_the_offline_map(admin_client, city, model, obj):
    instance = obj(city)
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[instance.pk])
    html = admin_client.get(url).content.decode()
    assert "/static/vendor/ol/dist/ol.js" in html
    assert "/static/vendor/ol/ol.css" in html
    assert "/tiles/districts/{z}/{x}/{y}.pbf" in html
    assert "ol.source.OSM" not in html
    assets = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html) + re.findall(
        r'<link[^>]*\shref="([^"]+)"', html)
    assert assets and all(url.startswith("/") and not url.startswith("//")
                          for url in assets), assets
    assert "https://" not in html.split("<body")[0]


def test_a_configured_basemap_is_used_instead(admin_client, city, settings):
    settings.BASEMAP_URL = "/basemap/{z}/{x}/{y}.png"
    zone = f.HazardZoneFactory()
    html = admin_client.get(reverse("admin:layers_hazardzone_change", args=[zone.pk])).content
    assert b"/basemap/{z}/{x}/{y}.png" in html
    assert b"/tiles/districts/" not in html


def test_changelist_links_import_and_export(admin_client, city):
    html = admin_client.get(CHANGELIST).content.decode()
    assert IMPORT_URL in html
    assert reverse("admin:layers_hazardzone_export", args=["geojson"]) in html
    assert reverse("admin:layers_hazardzone_export", args=["gpkg"]) in html


def test_upload_shows_the_dry_run_then_imports_on_confirm(admin_client, city):
    # given the upload form, prefilled with this admin's layer
    page = admin_client.get(IMPORT_URL)
    assert page.context["form"].initial["layer"] == "hazard"
    # when a file is uploaded, a dry-run summary is shown and nothing is written
    response = admin_client.post(IMPORT_URL, {"file": _upload(_zones()), "layer": "hazard"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Dry run: nothing was written." in html
    assert "2 created, 0 updated, 0 deleted (would be)." in html
    assert HazardZone.objects.count() == 0
    assert len(_staged()) == 1
    # when the import is confirmed
    response = admin_client.post(IMPORT_URL, {"token": response.context["token"],
                                              "confirm": "1"}, follow=True)
    # then the zones exist, the staged file is gone and the change list says so
    assert response.redirect_chain[-1][0] == CHANGELIST
    assert sorted(HazardZone.objects.values_list("name", flat=True)) == ["Поле A", "Поле B"]
    assert "Imported." in response.content.decode()
    assert _staged() == []


def test_field_map_and_kind_from_the_form(admin_client, city):
    features = [feature(square(0, 0, 100), NAZVA="Z")]
    response = admin_client.post(IMPORT_URL, {
        "file": _upload(features), "layer": "hazard", "kind": "CHA",
        "field_map": "name=NAZVA"})
    admin_client.post(IMPORT_URL, {"token": response.context["token"]})
    zone = HazardZone.objects.get()
    assert (zone.name, zone.kind) == ("Z", "CHA")


def test_cancel_writes_nothing(admin_client, city):
    response = admin_client.post(IMPORT_URL, {"file": _upload(_zones()), "layer": "hazard"})
    admin_client.post(IMPORT_URL, {"token": response.context["token"], "cancel": "1"})
    assert HazardZone.objects.count() == 0
    assert _staged() == []


def test_errors_are_shown_in_the_form(admin_client, city):
    bad = [feature(square(0, 0), name="OK", kind="SHA"),
           feature({"type": "Point", "coordinates": [35.0, 48.4]}, name="Точка", kind="SHA")]
    response = admin_client.post(IMPORT_URL, {"file": _upload(bad), "layer": "hazard"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "1 of 2 features were refused; nothing was imported." in html
    assert "«Точка»: its geometry is a Point; this layer needs polygons." in html
    assert "token" not in response.context or not response.context.get("token")
    assert HazardZone.objects.count() == 0
    assert _staged() == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("zones.zip", b"not a zip at all", "is not a readable zip archive"),
        ("zones.geojson", b"{broken", "cannot be read as a GIS file"),
        ("zones.txt", b"hello", "Upload a .geojson"),
    ],
)
def test_bad_files_are_refused_in_the_form(admin_client, city, name, content, message):
    upload = SimpleUploadedFile(name, content)
    response = admin_client.post(IMPORT_URL, {"file": upload, "layer": "hazard", "kind": "SHA"})
    assert message in response.content.decode()
    assert HazardZone.objects.count() == 0


def test_a_tampered_token_is_refused(admin_client, city):
    response = admin_client.post(IMPORT_URL, {"token": "x" * 40}, follow=True)
    assert "The preview expired" in response.content.decode()
    assert HazardZone.objects.count() == 0


def test_residents_are_sent_to_the_admin_login(client, users):
    client.force_login(users["resident"])
    response = client.get(IMPORT_URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.fixture
def clerk(users):
    """Staff with view and add rights on hazard zones, but not delete."""
    user = users["dsns"]
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_hazardzone", "add_hazardzone"]))
    return user


def test_staff_without_add_permission_get_403(client, users):
    user = users["roads"]
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_hazardzone"))
    client.force_login(user)
    assert client.get(IMPORT_URL).status_code == 403
    assert client.get(CHANGELIST).status_code == 200
    assert IMPORT_URL not in client.get(CHANGELIST).content.decode()


def test_replace_needs_delete_permission(client, city, clerk):
    f.HazardZoneFactory(name="Old")
    client.force_login(clerk)
    response = client.post(IMPORT_URL, {"file": _upload(_zones()), "layer": "hazard",
                                        "replace": "on"})
    assert response.status_code == 403
    response = client.post(IMPORT_URL, {"file": _upload(_zones()), "layer": "hazard"})
    client.post(IMPORT_URL, {"token": response.context["token"]})
    assert HazardZone.objects.count() == 3


def test_export_whole_layer_downloads(admin_client, city):
    f.HazardZoneFactory(name="A")
    f.HazardZoneFactory(name="B", public=False)
    response = admin_client.get(reverse("admin:layers_hazardzone_export", args=["geojson"]))
    assert response["Content-Type"] == "application/geo+json"
    assert 'attachment; filename="hazard.geojson"' in response["Content-Disposition"]
    data = json.loads(b"".join(response.streaming_content))
    assert sorted(ft["properties"]["name"] for ft in data["features"]) == ["A", "B"]
    response = admin_client.get(reverse("admin:layers_hazardzone_export", args=["gpkg"]))
    assert b"".join(response.streaming_content).startswith(b"SQLite format 3")


def test_export_action_downloads_the_selected_rows(admin_client, city):
    a = f.HazardZoneFactory(name="A")
    f.HazardZoneFactory(name="B")
    response = admin_client.post(CHANGELIST, {"action": "export_geojson",
                                              "_selected_action": [a.pk]})
    data = json.loads(b"".join(response.streaming_content))
    assert [ft["properties"]["name"] for ft in data["features"]] == ["A"]


def test_responsibility_changelist_has_no_query_per_row(admin_client, city,
                                                        django_assert_max_num_queries):
    for i in range(10):
        f.ResponsibilityAreaFactory(department=city.roads, categories=[city.pothole],
                                    geometry=f.around_centre(100, dx=100 * i))
    url = reverse("admin:layers_responsibilityarea_changelist")
    admin_client.get(url)  # warm the session and content types
    with django_assert_max_num_queries(12):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert "pothole" in response.content.decode()


def test_address_admin_fills_the_search_text(admin_client, city):
    response = admin_client.post(reverse("admin:layers_addresspoint_add"), {
        "street_uk": "вулиця Тиха", "street_en": "Tykha Street", "house_number": "3",
        "location": json.dumps({"type": "Point", "coordinates": [3900000, 6180000]}),
    })
    assert response.status_code == 302
    assert AddressPoint.objects.get().search_text == "вулиця тиха 3 tykha street 3"


def test_the_admin_speaks_ukrainian_by_default(client, users, city, settings):
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)
    client.force_login(users["admin"])
    response = client.post(IMPORT_URL, {"file": _upload(_zones()), "layer": "hazard"})
    html = response.content.decode()
    assert "Пробний запуск: нічого не записано." in html


# --- Side effects of admin edits ------------------------------------------------------------

def test_editing_a_responsibility_area_reroutes_untouched_reports_and_busts_tiles(
        admin_client, city, django_capture_on_commit_callbacks):
    # given an untouched pothole routed to roads, inside the roads area
    report = f.ReportFactory(location=f.centre(), category=city.pothole,
                             department=city.roads, routing_rule="area")
    area = city.areas["roads"]
    version = layer_version("responsibility")
    url = reverse("admin:layers_responsibilityarea_delete", args=[area.pk])
    # when an administrator deletes the roads area in the admin
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"post": "yes"}, follow=True)
    # then the tiles are re-versioned and the report is re-routed away from roads
    assert response.status_code == 200
    assert b"will be re-routed" in response.content
    assert layer_version("responsibility") > version
    report.refresh_from_db()
    assert report.department != city.roads
    assert report.events.filter(type="rerouted").count() == 1


def test_editing_an_infrastructure_layer_busts_tiles_without_rerouting(
        admin_client, city, django_capture_on_commit_callbacks):
    layer = f.InfrastructureFeatureFactory().layer
    report = f.ReportFactory(location=f.centre(), category=city.pothole,
                             department=city.parks, routing_rule="area")
    version = layer_version("infrastructure")
    url = reverse("admin:layers_infrastructurelayer_change", args=[layer.pk])
    data = {"code": layer.code, "name_uk": "Нова назва", "name_en": "New name",
            "colour": layer.colour, "order": layer.order}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    assert layer_version("infrastructure") > version
    assert not report.events.exists()
