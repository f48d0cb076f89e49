"""Settings of the application processes the fault tests start (tests/reliability/
processes.py): production's defaults but plain HTTP on 127.0.0.1, and the environment's
DATABASE_URL, CACHE_URL, CELERY_BROKER_URL, MEDIA_ROOT and EMAIL_URL."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "fault-tests-" + "x" * 50)
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1")

from geocity.settings.base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
