"""geocity.hooks.send_on_commit and the receivers that wire side effects across apps."""

import logging
import weakref

import pytest
from django.db import transaction
from django.dispatch import Signal

from basemap.signals import basemap_changed
from dashboard.cache import data_version
from geocity.hooks import send_on_commit
from layers.services import layer_changed
from layers.signals import layer_data_changed
from reports.models import Report
from reports.services import report_transition
from reports.signals import reports_changed
from reports.workflow import Status
from tiles.cache import layer_version

from . import factories as f

pytestmark = pytest.mark.django_db


def test_a_signal_is_sent_after_the_commit_and_not_on_rollback(django_capture_on_commit_callbacks):
    signal, got = Signal(), []
    signal.connect(lambda **kw: got.append(kw["n"]), weak=False)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            send_on_commit(signal, sender=object, n=1)
            assert got == []  # not while the transaction is open
    assert got == [1]
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            send_on_commit(signal, sender=object, n=2)
            raise RuntimeError
    assert got == [1]


def test_a_failing_receiver_is_logged_and_the_others_still_run(
        caplog, django_capture_on_commit_callbacks):
    # given two receivers, the first of which fails
    signal, got = Signal(), []

    def broken(**kwargs):
        raise ValueError("cache down")

    signal.connect(broken, weak=False)
    signal.connect(lambda **kw: got.append("ran"), weak=False)
    # when the signal is sent and the transaction commits
    with caplog.at_level(logging.ERROR, logger="geocity.hooks"):
        with django_capture_on_commit_callbacks(execute=True):
            send_on_commit(signal, sender=object)
    # then the second still ran and the failure is in the log with its traceback
    assert got == ["ran"]
    assert "broken" in caplog.text and "cache down" in caplog.text


def test_a_report_change_bumps_the_tile_and_dashboard_versions(city, users,
                                                               django_capture_on_commit_callbacks):
    report = f.ReportFactory(category=city.pothole, department=city.roads,
                             status=Status.ASSIGNED)
    tiles, dashboard = layer_version("reports"), data_version("reports")
    with django_capture_on_commit_callbacks(execute=True):
        report_transition(report_id=report.pk, actor=users["roads"],
                          to_status=Status.IN_PROGRESS)
    assert layer_version("reports") > tiles
    assert data_version("reports") > dashboard
    assert Report.objects.get(pk=report.pk).status == Status.IN_PROGRESS


def test_a_district_change_bumps_its_tiles_and_the_dashboard(django_capture_on_commit_callbacks):
    tiles, dashboard = layer_version("districts"), data_version("districts")
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            assert layer_changed(layer="districts") is False  # routing does not read it
    assert layer_version("districts") > tiles
    assert data_version("districts") > dashboard


def _receivers(signal) -> list[str]:
    found = []
    for entry in signal.receivers:
        receiver = entry[1]
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        found.append(f"{receiver.__module__}.{receiver.__qualname__}")
    return sorted(found)


def test_each_higher_app_wires_its_receivers_once():
    assert _receivers(reports_changed) == ["dashboard.receivers.reports_changed_bump",
                                           "tiles.receivers.reports_changed_bump"]
    assert _receivers(layer_data_changed) == [
        "dashboard.receivers.districts_changed_bump",
        "reports.receivers.reroute_after_layer_change", "tiles.receivers.layer_changed_bump"]
    assert _receivers(basemap_changed) == ["tiles.receivers.basemap_changed_bump"]
