"""What the system does on its own: closing resolved reports after AUTO_CLOSE_DAYS,
re-routing untouched open reports after the layers changed, marking escalations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from geocity.clock import city_today
from geocity.errors import Conflict, Forbidden, ValidationFailed

from ..models import Report, ReportEvent
from ..workflow import Status
from .common import announce_change
from .transitions import report_transition

# --- System -------------------------------------------------------------------------------

def reports_auto_close(*, now=None) -> int:
    """Close reports resolved more than AUTO_CLOSE_DAYS ago with no reopen."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.AUTO_CLOSE_DAYS)
    ids = list(
        Report.objects.filter(status=Status.RESOLVED, resolved_at__lt=cutoff)
        .values_list("pk", flat=True)[:5000]
    )
    closed = 0
    for pk in ids:
        try:
            report_transition(report_id=pk, to_status=Status.CLOSED, system=True,
                              note="Закрито автоматично: за відведений час не було повторного "
                                   "відкриття.")
            closed += 1
        except (Conflict, Forbidden, ValidationFailed):
            continue
    return closed


# --- Re-routing after the layers changed ----------------------------------------------------------

# The decision for every candidate (also run alone by benchmarks/routing.py).
REROUTE_DECIDE_SQL = """
candidates AS (
    SELECT r.id, r.department_id AS old_department_id, r.status AS old_status,
        c.is_hazard AS hazard_category,
        -- only the facts used below: the planner then skips the district and distance probes
        g.inside_service_area, g.hazard_zone_ids, g.emergency_department_id, g.area_id,
        g.area_department_id, g.border_area_id, g.border_department_id
    FROM reports_report r
    JOIN reports_category c ON c.id = r.category_id
    CROSS JOIN LATERAL geocity_route(r.location, r.category_id, %(today)s,
                                     %(tolerance)s, %(buffer)s) g
    WHERE r.status IN ('new', 'moderation', 'assigned')
      AND r.touched_at IS NULL
      AND r.routing_rule <> 'manual'
),
decided AS (
    SELECT id, old_department_id, old_status,
        CASE
            WHEN hazard_category THEN 'hazard_category'
            WHEN hazard_zone_ids IS NOT NULL THEN 'hazard_zone'
            WHEN area_id IS NOT NULL THEN 'area'
            WHEN border_area_id IS NOT NULL THEN 'border'
            ELSE 'triage'
        END AS rule,
        CASE
            WHEN hazard_category OR hazard_zone_ids IS NOT NULL THEN emergency_department_id
            ELSE coalesce(area_department_id, border_department_id)
        END AS department_id,
        (hazard_category OR hazard_zone_ids IS NOT NULL) AS is_hazard
    FROM candidates
    WHERE inside_service_area
)
"""

REROUTE_SQL = "WITH " + REROUTE_DECIDE_SQL + """,
changed AS (
    UPDATE reports_report r
    SET department_id = d.department_id,
        routing_rule = d.rule,
        routing_explanation_uk = %(explanation_uk)s,
        routing_explanation_en = %(explanation_en)s,
        is_hazard = r.is_hazard OR d.is_hazard,
        priority = CASE WHEN d.is_hazard THEN 4 ELSE r.priority END,
        status = CASE
            WHEN d.department_id IS NULL THEN 'new'
            WHEN r.status = 'new' THEN 'assigned'
            ELSE r.status
        END,
        assigned_at = CASE WHEN d.department_id IS NULL THEN NULL ELSE %(now)s END,
        assignee_id = NULL,
        updated = %(now)s
    FROM decided d
    WHERE r.id = d.id AND r.department_id IS DISTINCT FROM d.department_id
    RETURNING r.id, d.old_department_id, d.department_id, d.rule, d.old_status, r.status
)
INSERT INTO reports_reportevent (report_id, type, actor_role, from_status, to_status,
    from_department_id, to_department_id, public_note, internal_note, data, created)
SELECT id, 'rerouted', 'system', old_status, status, old_department_id, department_id, '', '',
    jsonb_build_object('rule', rule), %(now)s
FROM changed
RETURNING report_id
"""  # noqa: S608 - two constants joined; every value is bound


@dataclass(frozen=True)
class RerouteResult:
    changed: int
    dry_run: bool
    moves: list[tuple[int | None, int | None, int]] = field(default_factory=list)


def reports_reroute(*, dry_run: bool = False) -> RerouteResult:
    """Re-route open reports no person has touched, after the layers changed.

    One statement: decide, update the changed rows and log a `rerouted` event for each.
    With dry_run the work is rolled back and only the counts are reported.
    """
    now = timezone.now()
    params = {
        "today": city_today(),
        "tolerance": float(settings.ROUTING_BORDER_TOLERANCE_M),
        "buffer": float(settings.HAZARD_BUFFER_M),
        "now": now,
        "explanation_uk": "Перерозподілено після зміни шарів відповідальності.",
        "explanation_en": "Re-routed after the responsibility layers changed.",
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(REROUTE_SQL, params)
            ids = [row[0] for row in cursor.fetchall()]
        moves: list[tuple[int | None, int | None, int]] = []
        if ids:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT from_department_id, to_department_id, count(*) "
                    "FROM reports_reportevent WHERE type = 'rerouted' AND created = %s "
                    "GROUP BY 1, 2 ORDER BY 3 DESC",
                    [now],
                )
                moves = [tuple(row) for row in cursor.fetchall()]
        if dry_run:
            transaction.set_rollback(True)  # discards the announcement with the rest
        elif ids:
            announce_change()
    return RerouteResult(changed=len(ids), dry_run=dry_run, moves=moves)


# --- Escalation ---------------------------------------------------------------------------

def reports_mark_escalated(*, report_ids: list[int], department_id: int, now=None) -> None:
    """Note that the head of `department_id` was told these reports are overdue: once per
    report (`escalated_at`), with an `escalated` event each. Precondition: inside the
    transaction that also schedules the mail, so both happen or neither."""
    now = now or timezone.now()
    Report.objects.filter(pk__in=report_ids).update(escalated_at=now)
    ReportEvent.objects.bulk_create(
        ReportEvent(report_id=pk, type=ReportEvent.Type.ESCALATED, actor_role="system",
                    created=now, data={"public": False, "department": department_id})
        for pk in report_ids
    )
