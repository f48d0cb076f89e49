"""A Celery app for the worker-killed test: geocity's own, but the first run of every task
stops at its start (after the worker took the message) until the test kills the worker.
`celery -A tests.reliability.stall_worker worker`; STALL_DIR names where each stalled
task's id is written, so the test knows the task is running."""

import os
import time
from pathlib import Path

from celery.signals import task_prerun

from geocity.celery import app  # noqa: F401 - the app celery -A finds here


@task_prerun.connect
def stall_first_run(task_id=None, **_kwargs) -> None:
    marker = Path(os.environ["STALL_DIR"]) / task_id
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(3600)  # mid-task: the test kills this worker now
