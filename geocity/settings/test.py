"""Test settings: a real PostGIS (DATABASE_URL), in-memory mail, eager tasks, fast hashing."""

import os
import tempfile

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ["CELERY_BROKER_URL"] = ""
_tmp = tempfile.mkdtemp(prefix="geocity-test-")
os.environ.setdefault("MEDIA_ROOT", os.path.join(_tmp, "media"))
os.environ.setdefault("PRIVATE_MEDIA_ROOT", os.path.join(_tmp, "private"))
os.environ.setdefault("STATIC_ROOT", os.path.join(_tmp, "static"))
os.makedirs(os.environ["STATIC_ROOT"], exist_ok=True)
os.environ.setdefault("CACHE_URL", "locmemcache://geocity-test")
os.environ.setdefault("SERVE_MEDIA", "true")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

from .base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Connections are reused inside one test process anyway; closing them keeps pytest-django's
# database teardown simple.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
