"""open311.services: a back-office's update is linked to its id, accepted once."""

import pytest

from geocity.errors import Conflict
from open311.models import ClientUpdate
from open311.services import api_key_create, update_push
from reports.models import ReportEvent

from .. import factories as f

pytestmark = pytest.mark.django_db


def test_back_office_update_id_is_accepted_once(city):
    report = f.ReportFactory(category=city.pothole, department=city.roads)
    client, _ = api_key_create(name="Back office")
    client.departments.add(city.roads)
    event = update_push(client=client, report_id=report.pk, update_id="u-1",
                        pushed="ACTION_SCHEDULED", description="Scheduled")
    assert ClientUpdate.objects.get(client=client, update_id="u-1").event == event
    with pytest.raises(Conflict) as err:
        update_push(client=client, report_id=report.pk, update_id="u-1",
                    pushed="ACTION_SCHEDULED", description="Scheduled")
    assert err.value.code == "duplicate_update_id"
    assert ReportEvent.objects.filter(report=report, public_note="Scheduled").count() == 1


def test_another_client_may_reuse_the_id(city):
    report = f.ReportFactory(category=city.pothole, department=city.roads)
    first, _ = api_key_create(name="Back office")
    second, _ = api_key_create(name="Contractor")
    for client in (first, second):
        client.departments.add(city.roads)
        update_push(client=client, report_id=report.pk, update_id="u-1",
                    pushed="ACTION_SCHEDULED", description=f"From {client.name}")
    assert ClientUpdate.objects.filter(update_id="u-1").count() == 2
