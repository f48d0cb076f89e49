"""Background work. Without CELERY_BROKER_URL these run in-process (eager), right after the
transaction that scheduled them commits; with a broker they run on Celery workers.

Periodic tasks (CELERY_BEAT_SCHEDULE) need `celery beat`, or cron calling
`manage.py run_periodic_tasks` when no broker is configured.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from celery import shared_task
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from layers.models import Department

from . import notifications, sla
from .models import Photo, Report, ReportEvent
from .photos import photo_render

logger = logging.getLogger(__name__)


@shared_task
def process_photo(photo_id: int) -> str:
    """Make the stripped display and thumbnail versions of a stored original."""
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:
        return "missing"
    try:
        with photo.original.open("rb") as fh:
            display, thumb = photo_render(fh.read())
    except Exception:  # noqa: BLE001 - a photo that cannot be rendered must not break others
        logger.exception("Photo %s could not be rendered", photo_id)
        Photo.objects.filter(pk=photo_id).update(state=Photo.State.FAILED)
        return "failed"
    stem = f"{photo.report_id}-{photo.pk}"
    photo.display.save(f"{stem}-display.jpg", ContentFile(display), save=False)
    photo.thumbnail.save(f"{stem}-thumb.jpg", ContentFile(thumb), save=False)
    photo.state = Photo.State.READY
    photo.save(update_fields=["display", "thumbnail", "state"])
    return "ready"


@shared_task
def send_event_notifications(event_id: int) -> int:
    event = ReportEvent.objects.select_related("report", "report__category",
                                               "report__department").filter(pk=event_id).first()
    return notifications.notify_event(event) if event else 0


@shared_task
def send_report_received(report_id: int) -> int:
    report = Report.objects.select_related("category", "department").filter(pk=report_id).first()
    return notifications.notify_received(report) if report else 0


@shared_task
def send_subscription_confirmation(subscription_id: int) -> int:
    from .models import Subscription

    sub = Subscription.objects.select_related("report").filter(pk=subscription_id).first()
    if sub is None or sub.confirmed_at is not None:
        return 0
    return notifications.notify_subscription_confirmation(sub)


@shared_task
def send_merge_notice(duplicate_id: int, target_id: int) -> int:
    reports = Report.objects.in_bulk([duplicate_id, target_id])
    if duplicate_id not in reports or target_id not in reports:
        return 0
    return notifications.notify_merged(reports[duplicate_id], reports[target_id])


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
            ids = [r.pk for r in reports]
            Report.objects.filter(pk__in=ids).update(escalated_at=now)
            ReportEvent.objects.bulk_create(
                ReportEvent(report_id=pk, type=ReportEvent.Type.ESCALATED, actor_role="system",
                            created=now, data={"public": False, "department": department_id})
                for pk in ids
            )
            transaction.on_commit(
                lambda d=department, rs=reports: notifications.notify_escalation(d, rs)
            )
        sent += len(reports)
    return sent


@shared_task
def auto_close_resolved_reports() -> int:
    from .services import reports_auto_close

    return reports_auto_close()


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


@shared_task
def refresh_dashboard_rollup() -> int:
    """Recompute the rollup days that writes have marked dirty (issues.rollups), so that a
    dashboard render rarely has to. Returns the number of days recomputed."""
    from .rollups import dailystats_refresh

    return dailystats_refresh()
