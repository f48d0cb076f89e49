"""Celery app. With no CELERY_BROKER_URL, tasks run in-process (CELERY_TASK_ALWAYS_EAGER).

Workers for scale: `CELERY_BROKER_URL=redis://... celery -A geocity worker -B`.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geocity.settings.local")

app = Celery("geocity")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
