"""The city's calendar date, for hot paths."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone


def city_today() -> date:
    """Today in the city's time zone (TIME_ZONE), whatever zone a request may have activated.

    Why not `timezone.localdate()`: that asks for the active zone (a context-local lookup)
    and converts from UTC, ~20 us of a cold map tile or routing decision here; this is one
    call. Tiles are shared by everyone and routing follows the city's calendar, so the
    city's zone is the one that matters.
    """
    return datetime.now(timezone.get_default_timezone()).date()
