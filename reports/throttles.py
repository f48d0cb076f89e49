"""Throttles for report creation and other costly writes, backed by the Django cache.

DRF's SimpleRateThrottle knows one rate per scope; the city configures several at once
(`REPORT_RATE_IP = ["10/min", "100/day"]`), so each throttle here keeps one sliding window
per configured rate and lets a request through only when every window has room. A refused
request is not recorded, and `wait()` is the exact time until the fullest window frees a
slot, which DRF sends as `Retry-After`.

Following DRF's own Anon/User throttles, the per-IP limit applies to anonymous clients and
the per-user limit to signed-in ones, so a city office behind one NAT address is limited per
clerk, not as a whole.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rates(rates, *, setting: str, multiplier: int = 1) -> list[tuple[int, int]]:
    """["10/min", "100/day"] -> [(10, 60), (100, 86400)]; a clear error naming the setting."""
    if isinstance(rates, str):
        rates = [r for r in rates.split(",") if r.strip()]
    parsed = []
    for rate in rates or ():
        try:
            count, period = str(rate).strip().split("/")
            parsed.append((int(count) * multiplier, _PERIODS[period.strip()[0].lower()]))
        except (ValueError, KeyError, IndexError) as exc:
            raise ImproperlyConfigured(
                f"{setting}: {rate!r} is not a rate like '10/min' or '100/day'."
            ) from exc
    return parsed


class MultiRateThrottle(BaseThrottle, ABC):
    """Several sliding windows for one scope. Subclasses say who is counted, and by what."""

    scope = "default"
    setting = ""  # the settings name holding the rates, e.g. "REPORT_RATE_IP"
    default_rates: tuple[str, ...] = ()  # when the setting is absent
    cache = default_cache
    timer = staticmethod(time.time)

    def applies(self, request) -> bool:
        return True

    @abstractmethod
    def identity(self, request) -> str:
        """The cache-key part naming who is counted (an IP, a user id, an API key)."""

    def multiplier(self) -> int:
        return 1

    def rates(self) -> list[tuple[int, int]]:
        raw = getattr(settings, self.setting, self.default_rates)
        return parse_rates(raw, setting=self.setting, multiplier=self.multiplier())

    def allow_request(self, request, view) -> bool:
        self._wait = None
        if not self.applies(request):
            return True
        rates = self.rates()
        if not rates:
            return True
        now = self.timer()
        ident = self.identity(request)
        windows = []
        waits = []
        for count, duration in rates:
            key = f"throttle:{self.scope}:{count}/{duration}:{ident}"
            history = [t for t in self.cache.get(key, []) if t > now - duration]
            if len(history) >= count:
                # history is newest first: the oldest entry frees the next slot
                waits.append(duration - (now - history[-1]))
            windows.append((key, history, duration))
        if waits:
            self._wait = max(waits)
            return False
        for key, history, duration in windows:
            history.insert(0, now)
            self.cache.set(key, history, duration)
        return True

    def wait(self) -> float | None:
        return self._wait


class ReportCreateIPThrottle(MultiRateThrottle):
    """REPORT_RATE_IP, per client address, for anonymous clients."""

    scope = "report_create"
    setting = "REPORT_RATE_IP"

    def applies(self, request) -> bool:
        return not request.user.is_authenticated

    def identity(self, request) -> str:
        return f"ip:{self.get_ident(request)}"


class ReportCreateUserThrottle(MultiRateThrottle):
    """REPORT_RATE_USER, per signed-in account."""

    scope = "report_create"
    setting = "REPORT_RATE_USER"

    def applies(self, request) -> bool:
        return request.user.is_authenticated

    def identity(self, request) -> str:
        return f"user:{request.user.pk}"


class PhotoInspectIPThrottle(ReportCreateIPThrottle):
    """Decoding a photo costs CPU: up to PHOTO_MAX_PER_REPORT per allowed report."""

    scope = "photo_inspect"

    def multiplier(self) -> int:
        return settings.PHOTO_MAX_PER_REPORT


class PhotoInspectUserThrottle(ReportCreateUserThrottle):
    scope = "photo_inspect"

    def multiplier(self) -> int:
        return settings.PHOTO_MAX_PER_REPORT


class TokenObtainThrottle(MultiRateThrottle):
    """Password guessing on auth/token/: AUTH_TOKEN_RATE per address when set, else
    10 a minute and 100 a day."""

    scope = "auth_token"
    setting = "AUTH_TOKEN_RATE"
    default_rates = ("10/min", "100/day")

    def identity(self, request) -> str:
        return f"ip:{self.get_ident(request)}"
