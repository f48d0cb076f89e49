"""E-mail to reporters, subscribers and department heads, in the recipient's language.

Called from Celery tasks (reports.tasks), which the services schedule with on_commit. Every
resident mail carries a one-click opt-out link for its subscription.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage, send_mass_mail
from django.template.loader import render_to_string
from django.utils import translation

from .models import Report, ReportEvent, Subscription

logger = logging.getLogger(__name__)


def render_mail(template: str, lang: str, context: dict) -> tuple[str, str]:
    """(subject, body) of a mail template: its first line is the subject. `template` is a
    template path such as "reports/email/received.txt"."""
    with translation.override(lang if lang in ("uk", "en") else "uk"):
        body = render_to_string(template, {
            **context, "SITE_URL": settings.SITE_URL, "SITE_NAME": settings.SITE_NAME})
    subject, _, text = body.strip().partition("\n")
    return subject.strip(), text.strip() + "\n"


def _send(messages: list[tuple[str, str, str, list[str]]]) -> int:
    if not messages:
        return 0
    return send_mass_mail(messages, fail_silently=False)


def notify_event(event: ReportEvent) -> int:
    """A public change: tell every active subscriber, each in their language."""
    report = event.report
    if report.is_hidden:
        return 0
    messages = []
    for sub in Subscription.objects.filter(report=report, is_active=True,
                                           confirmed_at__isnull=False):
        subject, body = render_mail("reports/email/status_change.txt", sub.lang, {
            "report": report, "event": event, "subscription": sub,
            "unsubscribe_url": f"{settings.SITE_URL}/unsubscribe/{sub.token}/",
        })
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [sub.email]))
    return _send(messages)


def notify_received(report: Report) -> int:
    """Acknowledge a new report to its reporter; hazard reports alert the department now."""
    messages = []
    sub = Subscription.objects.filter(report=report, email=(report.contact_email or "").lower(),
                                      is_active=True).first()
    if sub:
        subject, body = render_mail("reports/email/received.txt", sub.lang, {
            "report": report, "subscription": sub,
            "unsubscribe_url": f"{settings.SITE_URL}/unsubscribe/{sub.token}/",
        })
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [sub.email]))
    if report.is_hazard and report.department and report.department.email:
        subject, body = render_mail("reports/email/hazard_alert.txt", "uk", {"report": report})
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [report.department.email]))
    return _send(messages)


def notify_merged(duplicate: Report, target: Report) -> int:
    messages = []
    for sub in Subscription.objects.filter(report=duplicate, is_active=True,
                                           confirmed_at__isnull=False):
        subject, body = render_mail("reports/email/merged.txt", sub.lang, {
            "duplicate": duplicate, "target": target, "subscription": sub,
            "unsubscribe_url": f"{settings.SITE_URL}/unsubscribe/{sub.token}/",
        })
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [sub.email]))
    return _send(messages)


def notify_subscription_confirmation(sub: Subscription) -> int:
    """The double opt-in mail: one link confirms, nothing else is sent until then."""
    subject, body = render_mail("reports/email/confirm_subscription.txt", sub.lang, {
        "subscription": sub, "report": sub.report,
        "confirm_url": f"{settings.SITE_URL}/subscriptions/confirm/{sub.token}/",
    })
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [sub.email]).send()
