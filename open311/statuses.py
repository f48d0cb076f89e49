"""How Open City's statuses read in Open311, and what a back-office may push.

GeoReport v2 knows only open/closed. The extended statuses follow FixMyStreet's, which
Open311 back-offices push and read (README, "Open311 status mapping").
"""

from __future__ import annotations

from reports.workflow import Status

OPEN, CLOSED = "open", "closed"

# Our status -> (Open311 status, extended status).
OPEN311_STATUS: dict[Status, tuple[str, str]] = {
    Status.NEW: (OPEN, "FOR_TRIAGE"),
    Status.MODERATION: (OPEN, "FOR_TRIAGE"),
    Status.ASSIGNED: (OPEN, "OPEN"),
    Status.IN_PROGRESS: (OPEN, "IN_PROGRESS"),
    Status.NEEDS_INFO: (OPEN, "INVESTIGATING"),
    Status.RESOLVED: (CLOSED, "FIXED"),
    Status.CLOSED: (CLOSED, "CLOSED"),
    Status.REJECTED: (CLOSED, "NOT_COUNCILS_RESPONSIBILITY"),
    Status.DUPLICATE: (CLOSED, "DUPLICATE"),
}

# Extended statuses a back-office may push (servicerequestupdates POST) -> our status.
OPEN311_INBOUND: dict[str, Status] = {
    "OPEN": Status.ASSIGNED,
    "REOPEN": Status.ASSIGNED,
    "INVESTIGATING": Status.IN_PROGRESS,
    "ACTION_SCHEDULED": Status.IN_PROGRESS,
    "IN_PROGRESS": Status.IN_PROGRESS,
    "FIXED": Status.RESOLVED,
    "CLOSED": Status.RESOLVED,
    "NO_FURTHER_ACTION": Status.REJECTED,
    "NOT_COUNCILS_RESPONSIBILITY": Status.REJECTED,
    "INTERNAL_REFERRAL": Status.REJECTED,
    "DUPLICATE": Status.DUPLICATE,
}

# Public reasons for pushes that need one the back-office did not give.
DEFAULT_REASONS = {
    "NOT_COUNCILS_RESPONSIBILITY": "Питання не належить до компетенції підрозділу.",
    "NO_FURTHER_ACTION": "Подальші дії не плануються.",
    "INTERNAL_REFERRAL": "Звернення передано іншій службі.",
    "REOPEN": "Повторно відкрито службою.",
    "OPEN": "Повторно відкрито службою.",
}
