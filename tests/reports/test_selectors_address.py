"""public_address: the one rule for the street address of a report on pages, API and Open311."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from reports.selectors import public_address

from .. import factories as f

pytestmark = pytest.mark.django_db

ADDRESS = "вулиця Тестова, 7"


@pytest.mark.parametrize(("who", "hazard", "expected"), [
    (None, False, ADDRESS),
    (None, True, ""),
    ("resident", False, ADDRESS),
    ("resident", True, ""),  # the reporter too: residents never see exact ordnance places
    ("roads", True, ADDRESS),  # staff of any department see exact locations
    ("dsns", True, ADDRESS),
    ("moderator", True, ADDRESS),
    ("official", True, ADDRESS),
    ("admin", True, ADDRESS),
])
def test_public_address_per_user_and_kind_of_report(city, users, who, hazard, expected):
    # given a report with an address, ordinary or explosive ordnance
    category, department = (city.explosive, city.dsns) if hazard else (city.pothole, city.roads)
    report = f.ReportFactory(category=category, department=department, is_hazard=hazard,
                             address=ADDRESS, reporter=users["resident"])
    user = users[who] if who else AnonymousUser()
    # then the user reads the address only where they may see the exact place
    assert public_address(report, user) == expected


def test_public_address_of_a_report_without_one_is_empty(city):
    report = f.ReportFactory(category=city.pothole, department=city.roads, address="")
    assert public_address(report, AnonymousUser()) == ""
