"""The report workflow as data: statuses, roles and the one transition table.

`reports.services.report_transition` is the only code that changes a report's status; it asks
`allowed_roles()` and `TRANSITIONS` what is permitted. Reading this file tells you the whole
life cycle of a report.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    NEW = "new", _("New")  # received, not yet routed (the moderators' triage queue)
    MODERATION = "moderation", _("Awaiting moderation")  # optional pre-moderation (e-DEM)
    ASSIGNED = "assigned", _("Assigned")  # routed to a department, waiting for work
    IN_PROGRESS = "in_progress", _("In progress")  # the department is working on it
    NEEDS_INFO = "needs_info", _("Needs information")  # waiting for the reporter; SLA paused
    RESOLVED = "resolved", _("Resolved")  # the department says it is fixed
    CLOSED = "closed", _("Closed")  # confirmed by the reporter, or after AUTO_CLOSE_DAYS
    REJECTED = "rejected", _("Rejected")  # will not be done; a reason is required
    DUPLICATE = "duplicate", _("Duplicate")  # merged into `duplicate_of`


OPEN_STATUSES = frozenset(
    {Status.NEW, Status.MODERATION, Status.ASSIGNED, Status.IN_PROGRESS, Status.NEEDS_INFO}
)
# Statuses whose SLA clock runs (needs_info pauses it; new/moderation are the city's queue).
SLA_RUNNING_STATUSES = frozenset(
    {Status.NEW, Status.MODERATION, Status.ASSIGNED, Status.IN_PROGRESS}
)
DONE_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED, Status.REJECTED, Status.DUPLICATE})


class Role(models.TextChoices):
    REPORTER = "reporter", _("Reporter")  # the report's own author
    STAFF = "staff", _("Department staff")  # a member of the report's department
    MODERATOR = "moderator", _("Moderator")
    OFFICIAL = "official", _("Official")  # reads everything, changes nothing
    ADMIN = "admin", _("Administrator")
    SYSTEM = "system", _("System")  # routing, periodic tasks, Open311 back-office pushes


R, S, M, A, SYS = Role.REPORTER, Role.STAFF, Role.MODERATOR, Role.ADMIN, Role.SYSTEM


@dataclass(frozen=True)
class Transition:
    roles: frozenset[Role]
    requires: tuple[str, ...] = ()  # fields the caller must supply: "reason", "duplicate_of"
    public: bool = True  # whether the change is announced to the reporter and subscribers


def _t(*roles: Role, requires: tuple[str, ...] = (), public: bool = True) -> Transition:
    return Transition(frozenset(roles), requires, public)


# (from, to) -> who may take it. Anything not listed is forbidden for everyone.
TRANSITIONS: dict[tuple[Status, Status], Transition] = {
    # Triage and moderation
    (Status.NEW, Status.ASSIGNED): _t(M, A, SYS),
    (Status.NEW, Status.MODERATION): _t(SYS, public=False),
    (Status.NEW, Status.REJECTED): _t(M, A, requires=("reason",)),
    (Status.NEW, Status.DUPLICATE): _t(M, A, requires=("duplicate_of",)),
    (Status.MODERATION, Status.ASSIGNED): _t(M, A, SYS),
    (Status.MODERATION, Status.NEW): _t(M, A, SYS, public=False),
    (Status.MODERATION, Status.REJECTED): _t(M, A, requires=("reason",)),
    (Status.MODERATION, Status.DUPLICATE): _t(M, A, requires=("duplicate_of",)),
    # Department work
    (Status.ASSIGNED, Status.IN_PROGRESS): _t(S, M, A, SYS),
    (Status.ASSIGNED, Status.NEEDS_INFO): _t(S, M, A, requires=("note",)),
    (Status.ASSIGNED, Status.RESOLVED): _t(S, A, SYS),
    (Status.ASSIGNED, Status.REJECTED): _t(S, M, A, SYS, requires=("reason",)),
    (Status.ASSIGNED, Status.DUPLICATE): _t(S, M, A, SYS, requires=("duplicate_of",)),
    (Status.ASSIGNED, Status.NEW): _t(M, A, public=False),  # back to triage
    (Status.IN_PROGRESS, Status.NEEDS_INFO): _t(S, M, A, requires=("note",)),
    (Status.IN_PROGRESS, Status.RESOLVED): _t(S, A, SYS),
    (Status.IN_PROGRESS, Status.REJECTED): _t(S, M, A, SYS, requires=("reason",)),
    (Status.IN_PROGRESS, Status.DUPLICATE): _t(S, M, A, SYS, requires=("duplicate_of",)),
    (Status.IN_PROGRESS, Status.ASSIGNED): _t(S, A, SYS, public=False),  # work paused
    (Status.NEEDS_INFO, Status.IN_PROGRESS): _t(S, M, A, SYS),
    (Status.NEEDS_INFO, Status.ASSIGNED): _t(R, S, M, A, SYS),  # the reporter answered
    (Status.NEEDS_INFO, Status.RESOLVED): _t(S, A, SYS),
    (Status.NEEDS_INFO, Status.REJECTED): _t(S, M, A, SYS, requires=("reason",)),
    (Status.NEEDS_INFO, Status.DUPLICATE): _t(S, M, A, SYS, requires=("duplicate_of",)),
    # After the work
    (Status.RESOLVED, Status.CLOSED): _t(R, M, A, SYS),
    (Status.RESOLVED, Status.ASSIGNED): _t(R, M, A, SYS, requires=("reason",)),  # reopen
    (Status.CLOSED, Status.ASSIGNED): _t(R, M, A, requires=("reason",)),  # reopen
    (Status.REJECTED, Status.ASSIGNED): _t(M, A, requires=("reason",)),  # moderator overrides
    (Status.DUPLICATE, Status.ASSIGNED): _t(M, A, requires=("reason",)),  # unmerge
}

# Reopening is a reporter's right only for REOPEN_DAYS after resolution.
REOPEN_TRANSITIONS = frozenset(
    {(Status.RESOLVED, Status.ASSIGNED), (Status.CLOSED, Status.ASSIGNED)}
)


def allowed_roles(from_status: str, to_status: str) -> frozenset[Role]:
    transition = TRANSITIONS.get((Status(from_status), Status(to_status)))
    return transition.roles if transition else frozenset()


def next_statuses(from_status: str, roles: set[Role]) -> list[Status]:
    """Statuses reachable from `from_status` by someone holding any of `roles` (for the UI)."""
    return [
        to for (frm, to), t in TRANSITIONS.items() if frm == from_status and t.roles & roles
    ]
