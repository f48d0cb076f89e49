"""Shared pieces of the reliability suite: a seeded world that every role can act on, and
the figures each module adds to (see `tally`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from rest_framework.authtoken.models import Token

from open311.services import api_key_create
from reports.services import Contact, report_create
from reports.workflow import Status

from .. import factories as f

# The roles the REST fuzzing runs as: anonymous plus three signed-in kinds (token auth).
FUZZ_ROLES = {"anonymous": None, "resident": "resident", "clerk": "roads",
              "moderator": "moderator"}

SECRET_NAME = "Роксолана Секретенко"
SECRET_EMAIL = "roksolana.secret@example.org"
SECRET_PHONE = "+380671112233"


@dataclass
class Seeded:
    """Reports every role can reach: a resident's, a hazard one (exact point private), a
    hidden one; tokens per user; an Open311 client key."""

    reports: dict
    tokens: dict
    open311_key: str
    numbers: list = field(default_factory=list)


@pytest.fixture
def in_process_wsgi():
    """Requests sent to the WSGI application in this thread share the test's transaction,
    as Django's test client does: the connection is not closed at each request's end."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(in_process_wsgi, city, users, settings) -> Seeded:
    # Fuzzing posts hundreds of reports: the throttles would answer most of them 429.
    settings.REPORT_RATE_IP = ["100000/min"]
    settings.REPORT_RATE_USER = ["100000/min"]
    settings.OPEN311_RATE = ["100000/min"]
    resident = users["resident"]
    mine = report_create(category=city.pothole, location=city.centre,
                         description="A pothole by the school", reporter=resident,
                         contact=Contact(name=SECRET_NAME, email=SECRET_EMAIL,
                                         phone=SECRET_PHONE))
    hazard = report_create(category=city.explosive, location=f.offset(city.centre, 137, 211),
                           description="A shell in the grass",
                           contact=Contact(name=SECRET_NAME, email=SECRET_EMAIL,
                                           phone=SECRET_PHONE))
    waiting = f.ReportFactory(category=city.pothole, department=city.roads, reporter=resident,
                              status=Status.NEEDS_INFO)
    hidden = f.ReportFactory(category=city.pothole, department=city.roads, is_hidden=True)
    tokens = {name: Token.objects.create(user=user).key for name, user in users.items()}
    client, key = api_key_create(name="Fuzz client", contact="fuzz@example.org")
    client.departments.set([city.roads])
    reports = {"mine": mine, "hazard": hazard, "waiting": waiting, "hidden": hidden}
    return Seeded(reports, tokens, key, [r.pk for r in reports.values()])
