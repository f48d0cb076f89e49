"""Writes of the workspace: one action applied to many tickets (bulk), each ticket through
the report services in its own transaction, so one failure does not undo the others."""

from __future__ import annotations

from dataclasses import dataclass, field

from geocity.errors import DomainError, ValidationFailed
from reports.services import report_accept, report_assign, report_transition
from reports.workflow import Status

from .selectors import NOTE_REQUIRED, workspace_scope


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: list[tuple[int, DomainError]] = field(default_factory=list)


def tickets_bulk_apply(*, user, ids: list[int], action: str, to_status: str = "",
                       note: str = "", reason: str = "", duplicate_of: int | None = None,
                       assignee: str = "") -> BulkResult:
    """Apply `action` ("assign", or a status change) to every ticket of `ids`.

    A ticket outside the user's scope fails like any other (without revealing whether it
    exists). `assignee` is "me", "none" or a user id. A public answer is asked for where the
    city owes one (NOTE_REQUIRED); a rejection's note is its reason.
    """
    in_scope = set(workspace_scope(user).filter(pk__in=ids).values_list("pk", flat=True))
    result = BulkResult()
    for number in ids:  # one service call, one transaction per selected ticket
        try:
            if number not in in_scope:
                raise ValidationFailed("Not in your workspace.", code="not_in_scope")
            if action == "assign":
                if assignee == "me":
                    report_accept(report_id=number, actor=user)
                else:
                    report_assign(report_id=number, actor=user,
                                  assignee_id=None if assignee == "none"
                                  else int(assignee) if assignee.isdigit() else -1)
            else:
                if to_status in NOTE_REQUIRED and not note.strip():
                    raise ValidationFailed("note required", code="note_required")
                report_transition(
                    report_id=number, actor=user, to_status=to_status,
                    note=note if to_status != Status.REJECTED else "",
                    reason=reason or (note if to_status == Status.REJECTED else ""),
                    duplicate_of_id=duplicate_of,
                )
            result.done.append(number)
        except DomainError as error:
            result.failed.append((number, error))
    return result
