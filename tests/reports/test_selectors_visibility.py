"""visible_reports: hidden and pre-moderation reports are published to nobody but staff."""

import pytest

from reports.selectors import visible_reports
from reports.workflow import Status

from .. import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("who", "sees_hidden", "sees_moderation"), [
    ("anonymous", False, False),
    ("other_resident", False, False),
    ("resident", False, True),  # the reporter sees their own report awaiting moderation
    ("roads", True, True),  # the report's department
    ("lighting", False, False),  # another department
    ("moderator", True, True),
    ("official", True, True),
    ("admin", True, True),
])
def test_visibility(who, sees_hidden, sees_moderation, city, users):
    user = None if who == "anonymous" else users[who]
    public = f.ReportFactory(category=city.pothole, department=city.roads)
    hidden = f.ReportFactory(category=city.pothole, department=city.roads, is_hidden=True,
                             reporter=users["resident"])
    waiting = f.ReportFactory(category=city.pothole, department=city.roads,
                              status=Status.MODERATION, reporter=users["resident"])
    ids = set(visible_reports(user).values_list("pk", flat=True))
    assert public.pk in ids
    assert (hidden.pk in ids) is sees_hidden
    assert (waiting.pk in ids) is sees_moderation
