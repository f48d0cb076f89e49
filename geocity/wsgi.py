"""WSGI entry point: Django, with anonymous vector tiles answered by `tiles.fastpath`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geocity.settings.production")
django_application = get_wsgi_application()

from tiles.fastpath import TileFastPath  # noqa: E402 - needs the apps loaded above

application = TileFastPath(django_application)
