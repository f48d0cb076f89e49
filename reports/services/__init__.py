"""Writes on reports. Every change locks the row, checks the rules, saves with
`update_fields`, writes a `ReportEvent`, and schedules side effects with `on_commit`
(mail and photo tasks; `reports.signals.reports_changed` for the apps above).

Preconditions are checked here, not in views: every caller (REST, Open311, pages, admin
actions, jobs) gets the same rules and the same domain errors. One module per kind of
change; this package re-exports them all, so callers import from `reports.services`.
"""

from .common import Contact
from .create import report_create, report_create_idempotent, request_fingerprint
from .moderation import photo_add, report_moderate
from .residents import (
    comment_create,
    report_support,
    subscription_cancel,
    subscription_confirm,
    subscription_create,
)
from .system import (
    REROUTE_DECIDE_SQL,
    RerouteResult,
    reports_auto_close,
    reports_mark_escalated,
    reports_reroute,
)
from .transitions import (
    report_accept,
    report_assign,
    report_extend_sla,
    report_note_add,
    report_reassign,
    report_transition,
)

__all__ = [
    "REROUTE_DECIDE_SQL", "Contact", "RerouteResult", "comment_create", "photo_add",
    "report_accept", "report_assign", "report_create", "report_create_idempotent",
    "report_extend_sla", "report_moderate", "report_note_add", "report_reassign",
    "report_support", "report_transition", "reports_auto_close", "reports_mark_escalated",
    "reports_reroute", "request_fingerprint", "subscription_cancel", "subscription_confirm",
    "subscription_create",
]
