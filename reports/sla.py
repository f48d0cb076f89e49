"""SLA maths: due dates from the category, the needs_info pause, the legal extension.

Law of Ukraine «Про звернення громадян», art. 20: 15 days when no extra study is needed,
30 at most, extendable to 45 in total with the reason logged and the applicant told.
Urgent categories count in hours. The clock pauses while a report waits in `needs_info`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

from .workflow import SLA_RUNNING_STATUSES

HAZARD_SLA_HOURS = 24


def sla_duration(category, *, is_hazard: bool = False) -> timedelta:
    if category.sla_hours:
        return timedelta(hours=category.sla_hours)
    if is_hazard:
        return timedelta(hours=HAZARD_SLA_HOURS)
    return timedelta(days=category.sla_days or settings.SLA_DEFAULT_DAYS)


def initial_due_at(category, created: datetime, *, is_hazard: bool = False) -> datetime:
    return created + sla_duration(category, is_hazard=is_hazard)


def resumed_due_at(due_at: datetime, paused_at: datetime, now: datetime) -> tuple[datetime, int]:
    """Shift the deadline by the paused time; returns (new due_at, paused seconds)."""
    paused = max(now - paused_at, timedelta(0))
    return due_at + paused, int(paused.total_seconds())


def max_due_at(created: datetime, paused_seconds: int) -> datetime:
    """The latest legal deadline: SLA_MAX_DAYS after creation, plus time spent paused."""
    return created + timedelta(days=settings.SLA_MAX_DAYS, seconds=paused_seconds)


def is_overdue(report, now: datetime) -> bool:
    return bool(
        report.due_at
        and report.status in SLA_RUNNING_STATUSES
        and report.due_at < now
    )


def is_due_soon(report, now: datetime) -> bool:
    horizon = now + timedelta(hours=settings.DUE_SOON_HOURS)
    return bool(
        report.due_at
        and report.status in SLA_RUNNING_STATUSES
        and now <= report.due_at < horizon
    )


def overdue_q(now: datetime) -> Q:
    """Open, clock running, past due. (needs_info is paused, so never overdue.)"""
    return Q(status__in=list(SLA_RUNNING_STATUSES), due_at__lt=now)


def due_soon_q(now: datetime) -> Q:
    horizon = now + timedelta(hours=settings.DUE_SOON_HOURS)
    return Q(status__in=list(SLA_RUNNING_STATUSES), due_at__gte=now, due_at__lt=horizon)


def resolved_within_sla_q() -> Q:
    return Q(resolved_at__isnull=False, due_at__isnull=False, resolved_at__lte=F("due_at"))
