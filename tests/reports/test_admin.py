"""The admin: every model's pages render; status changes go through the workflow."""

import re

import pytest
from django.apps import apps
from django.urls import reverse

from reports.models import Report, ReportEvent
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["admin"])
    return client


# Every model of the apps built on reports (each app's own tests cover its other pages).
ADMIN_MODELS = [m for app in ("reports", "open311", "dashboard")
                for m in apps.get_app_config(app).get_models()]


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_changelist_and_add_pages_render(admin_client, model, city):
    f.ReportFactory(category=city.pothole, department=city.roads)
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
    response = admin_client.get(reverse(name))
    assert response.status_code == 200


def test_report_change_page_uses_the_offline_map(admin_client, city):
    report = f.ReportFactory(category=city.pothole, department=city.roads)
    html = admin_client.get(reverse("admin:reports_report_change", args=[report.pk])).content
    assert b"vendor/ol/dist/ol.js" in html
    # every script and stylesheet is served by this site
    assets = re.findall(rb'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert assets and all(a.startswith(b"/static/") for a in assets), assets
    assert b"ol.source.OSM" not in html and b"ol.source.XYZ" not in html


def test_admin_transition_action_uses_the_workflow(admin_client, city):
    ok = f.ReportFactory(category=city.pothole, department=city.roads, status=Status.ASSIGNED)
    done = f.ReportFactory(category=city.pothole, department=city.roads, status=Status.CLOSED)
    response = admin_client.post(reverse("admin:reports_report_changelist"), {
        "action": "transition_action", "_selected_action": [ok.pk, done.pk],
        "apply": "1", "status": "in_progress", "note": "", "reason": "",
    }, follow=True)
    assert response.status_code == 200
    assert Report.objects.get(pk=ok.pk).status == Status.IN_PROGRESS
    assert Report.objects.get(pk=done.pk).status == Status.CLOSED
    assert ReportEvent.objects.filter(report=ok, type="status").count() == 1
    assert f"#{done.pk}".encode() in response.content  # the refusal is reported
