"""Development defaults (`make run`): DEBUG on, mail to the console, tasks in-process, and
without DATABASE_URL the private PostGIS cluster under var/ (found, or initialised and
started, exactly as `make` does: geocity/bootstrap.py), so `.venv/bin/python manage.py ...`
works as the README shows."""

import os

os.environ.setdefault("DEBUG", "true")
if not os.environ.get("DATABASE_URL", "").strip():
    from geocity.bootstrap import private_database_url

    os.environ["DATABASE_URL"] = private_database_url()

from .base import *  # noqa: E402,F403
from .base import STATIC_ROOT  # noqa: E402

# WhiteNoise serves from the finders in DEBUG but warns when STATIC_ROOT is missing.
os.makedirs(STATIC_ROOT, exist_ok=True)
