"""manage.py run_periodic_tasks: cron runs the beat schedule's jobs, all or some by name."""

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


def test_with_no_job_named_every_job_of_the_schedule_runs():
    # (argparse refused the empty list on Python 3.11 before; tests/test_readme.py found it)
    out = io.StringIO()
    call_command("run_periodic_tasks", stdout=out)
    ran = [line.split(":")[0] for line in out.getvalue().splitlines()]
    assert ran == list(settings.CELERY_BEAT_SCHEDULE)


def test_a_job_named_runs_alone_and_an_unknown_one_is_refused():
    out = io.StringIO()
    call_command("run_periodic_tasks", "digest", stdout=out)
    assert out.getvalue().splitlines() == ["digest: 0"]
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("run_periodic_tasks", "bogus")
