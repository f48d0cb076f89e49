"""E-mail to departments: the overdue escalation to the head and the new-assignment digest.

Sent by the workspace's jobs (`workspace.jobs`), in Ukrainian (the working language).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from layers.models import Department, Membership
from reports.models import Report
from reports.notifications import render_mail

logger = logging.getLogger(__name__)


def _head_addresses(department: Department) -> list[str]:
    addresses = {department.head_email} if department.head_email else set()
    addresses |= set(
        Membership.objects.filter(department=department, is_head=True, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted(a for a in addresses if a)


def notify_escalation(department: Department, reports: list[Report]) -> int:
    to = _head_addresses(department) or ([department.email] if department.email else [])
    if not to:
        logger.warning("No head or e-mail for department %s: escalation not sent", department.code)
        return 0
    subject, body = render_mail("workspace/email/escalation.txt", "uk", {
        "department": department, "reports": reports, "now": timezone.now(),
    })
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, to).send()


def notify_assignment_digest(department: Department, reports: list[Report]) -> int:
    staff = Membership.objects.filter(department=department, user__is_active=True).exclude(
        user__email=""
    )
    to = sorted(set(staff.values_list("user__email", flat=True))) or (
        [department.email] if department.email else []
    )
    if not to or not reports:
        return 0
    subject, body = render_mail("workspace/email/digest.txt", "uk",
                                {"department": department, "reports": reports})
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, to).send()
