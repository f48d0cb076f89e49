"""Development defaults (`make run`): DEBUG on, mail to the console, tasks in-process."""

import os

os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: E402,F403
from .base import STATIC_ROOT  # noqa: E402

# WhiteNoise serves from the finders in DEBUG but warns when STATIC_ROOT is missing.
os.makedirs(STATIC_ROOT, exist_ok=True)
