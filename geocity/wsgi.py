"""WSGI entry point (gunicorn): Django's own application; every request, tiles included,
goes through Django's request cycle."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geocity.settings.production")
application = get_wsgi_application()
