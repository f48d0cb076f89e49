"""Celery app. With no CELERY_BROKER_URL, tasks run in-process (CELERY_TASK_ALWAYS_EAGER).

Workers for scale: `CELERY_BROKER_URL=redis://... celery -A geocity worker -B`.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geocity.settings.local")

app = Celery("geocity")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's `tasks` (what services schedule) and `jobs` (periodic work that calls services).
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="jobs")
