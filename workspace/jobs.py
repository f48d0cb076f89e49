"""Periodic jobs of the workspace: overdue escalation to department heads, and the digest
of new assignments. Run by Celery beat (settings.CELERY_BEAT_SCHEDULE) or by cron through
`manage.py run_periodic_tasks`."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from layers.models import Department
from reports import sla
from reports.models import Report
from reports.services import reports_mark_escalated

from . import notifications


@shared_task
def escalate_overdue_reports() -> int:
    """Tell each department head, once per report, which of their reports are overdue."""
    now = timezone.now()
    by_department: dict[int, list[Report]] = defaultdict(list)
    overdue = (
        Report.objects.filter(sla.overdue_q(now), escalated_at__isnull=True,
                              department__isnull=False)
        .select_related("category", "department")
        .order_by("department_id", "due_at")
    )
    for report in overdue[:5000]:
        by_department[report.department_id].append(report)
    sent = 0
    for department_id, reports in by_department.items():
        department = reports[0].department
        with transaction.atomic():
            reports_mark_escalated(report_ids=[r.pk for r in reports],
                                   department_id=department_id, now=now)
            transaction.on_commit(
                lambda d=department, rs=reports: notifications.notify_escalation(d, rs)
            )
        sent += len(reports)
    return sent


@shared_task
def send_assignment_digests() -> int:
    """Each department's new assignments since its last digest, in one mail."""
    now = timezone.now()
    sent = 0
    for department in Department.objects.filter(is_active=True):
        since = department.last_digest_at or now - timedelta(days=1)
        reports = list(
            Report.objects.filter(department=department, assigned_at__gte=since,
                                  assigned_at__lt=now)
            .select_related("category").order_by("due_at")[:200]
        )
        if reports:
            sent += notifications.notify_assignment_digest(department, reports)
        Department.objects.filter(pk=department.pk).update(last_digest_at=now)
    return sent
