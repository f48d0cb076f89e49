"""What residents do on a report: support it ("me too"), comment, follow it by e-mail."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from geocity.errors import Conflict, Forbidden, NotFound, ValidationFailed
from geocity.hooks import enqueue

from ..models import Comment, Report, Subscription, Supporter
from ..roles import is_moderator, is_read_only, roles_for
from ..tasks import send_subscription_confirmation
from ..workflow import OPEN_STATUSES, Role
from .common import Event, event_write, lock_report


def _refuse_read_only(user) -> None:
    """Officials read everything and change nothing, residents' actions included."""
    if user is not None and is_read_only(user):
        raise Forbidden("Officials have read-only access.", code="read_only_role")


# --- Residents' actions -------------------------------------------------------------------

def report_support(*, report_id: int, user=None, email: str = "") -> tuple[Report, bool]:
    """"Me too", once per person: an account, or an e-mail for visitors. Subscribes them."""
    email = (email or "").strip().lower()
    user = user if user is not None and user.is_authenticated else None
    _refuse_read_only(user)
    if user is None and not email:
        raise ValidationFailed("Sign in or give an e-mail to support a report.",
                               code="email_required", fields={"email": ["Required."]})
    with transaction.atomic():
        report = lock_report(report_id)
        if report.is_hidden:
            raise NotFound(f"Report {report_id} does not exist.", code="report_not_found")
        if report.status not in OPEN_STATUSES:
            raise Conflict("Only open reports can be supported.", code="report_closed")
        if user is not None and report.reporter_id == user.pk:
            raise Conflict("You reported this problem yourself.", code="own_report")
        lookup = {"user": user} if user else {"email": email}
        _, created = Supporter.objects.get_or_create(report=report, **lookup)
        if created:
            Report.objects.filter(pk=report.pk).update(supporters_count=F("supporters_count") + 1)
            report.refresh_from_db(fields=["supporters_count"])
            event_write(report, Event.SUPPORTED, actor=user, data={"public": False})
            address = (user.email if user else email)
            if address:
                _subscribe(report, address, user=user, lang=report.lang)
    return report, created


def comment_create(*, report_id: int, author=None, text: str, author_name: str = "") -> Comment:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("The comment is empty.", code="comment_required",
                               fields={"text": ["Write a comment."]})
    if len(text) > 2000:
        raise ValidationFailed("Comments are limited to 2000 characters.", code="comment_too_long",
                               fields={"text": ["At most 2000 characters."]})
    author = author if author is not None and author.is_authenticated else None
    if author is None:
        raise Forbidden("Sign in to comment.", code="not_authenticated")
    _refuse_read_only(author)
    with transaction.atomic():
        report = lock_report(report_id)
        if report.is_hidden and not is_moderator(author):
            raise NotFound(f"Report {report_id} does not exist.", code="report_not_found")
        roles = roles_for(author, report)
        comment = Comment.objects.create(
            report=report,
            author=author,
            author_name=(author_name or author.get_full_name() or author.get_username())[:200],
            text=text,
            is_staff_reply=bool(roles & {Role.STAFF, Role.MODERATOR, Role.ADMIN}),
        )
        Report.objects.filter(pk=report.pk).update(updated=timezone.now())
    return comment


def _subscribe(report: Report, email: str, *, user=None, lang: str = "uk") -> Subscription:
    """Subscribe `email`; an address that is not the signed-in user's own must be confirmed
    from a mailed link first (double opt-in)."""
    email = email.strip().lower()
    own = user is not None and user.is_authenticated and (user.email or "").lower() == email
    sub, created = Subscription.objects.get_or_create(
        report=report, email=email,
        defaults={"user": user if own else None, "lang": lang,
                  "confirmed_at": timezone.now() if own else None},
    )
    if not created and not sub.is_active:
        sub.is_active = True
        sub.save(update_fields=["is_active"])
    if sub.confirmed_at is None and (created or not sub.is_active):
        transaction.on_commit(lambda: enqueue(send_subscription_confirmation, sub.pk))
    return sub


def subscription_create(*, report_id: int, email: str, user=None, lang: str = "uk") -> Subscription:
    """Follow a report by e-mail. Visitors confirm their address from the mailed link."""
    _refuse_read_only(user)
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        raise ValidationFailed("A valid e-mail is required.", code="email_required",
                               fields={"email": ["A valid e-mail is required."]})
    report = Report.objects.filter(pk=report_id, is_hidden=False).first()
    if report is None:
        raise NotFound(f"Report {report_id} does not exist.", code="report_not_found")
    return _subscribe(report, email, user=user, lang=lang)


def subscription_confirm(*, token) -> Subscription:
    sub = Subscription.objects.filter(token=token).first()
    if sub is None:
        raise NotFound("Unknown confirmation link.", code="subscription_not_found")
    if sub.confirmed_at is None or not sub.is_active:
        sub.confirmed_at = sub.confirmed_at or timezone.now()
        sub.is_active = True
        sub.save(update_fields=["confirmed_at", "is_active"])
    return sub


def subscription_cancel(*, token) -> Subscription:
    sub = Subscription.objects.filter(token=token).first()
    if sub is None:
        raise NotFound("Unknown unsubscribe link.", code="subscription_not_found")
    if sub.is_active:
        sub.is_active = False
        sub.save(update_fields=["is_active"])
    return sub

