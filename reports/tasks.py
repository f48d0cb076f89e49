"""Background work the report services schedule on commit: photo versions and mail.

Without CELERY_BROKER_URL these run in-process (eager), right after the transaction that
scheduled them commits; with a broker they run on Celery workers. Tasks here never call
services (services import this module); periodic and bulk work that does is in `jobs.py`.
"""

from __future__ import annotations

from celery import shared_task

from . import notifications
from .models import Report, ReportEvent, Subscription
from .photos import photo_process


@shared_task
def process_photo(photo_id: int) -> str:
    """Make the stripped display and thumbnail versions of a stored original."""
    return photo_process(photo_id=photo_id)


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
