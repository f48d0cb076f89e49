"""Open311 clients and what links them to reports.

The reports app knows nothing of Open311: a report or an event that came through a client
is linked to it here, one row per report (`ClientRequest`) and per pushed update
(`ClientUpdate`), written in the same transaction as the report service that made them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiClient(models.Model):
    """A client application allowed to POST through Open311; its key is stored hashed."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    key_prefix = models.CharField(max_length=8, db_index=True, editable=False)
    key_hash = models.CharField(max_length=128, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A back-office client acts on reports of these departments (servicerequestupdates POST).
    departments = models.ManyToManyField("layers.Department", blank=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return self.name


class ClientRequest(models.Model):
    """A report that an Open311 client submitted (POST requests)."""

    report = models.OneToOneField("reports.Report", on_delete=models.CASCADE, primary_key=True,
                                  related_name="open311_request")
    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="requests")

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")

    def __str__(self) -> str:
        return f"#{self.report_id} ← {self.client}"


class ClientUpdate(models.Model):
    """A back-office's pushed update (servicerequestupdates POST) and the event it made.

    `update_id` is the client's own id: the unique constraint refuses a repeat, even from two
    requests racing each other.
    """

    event = models.OneToOneField("reports.ReportEvent", on_delete=models.CASCADE,
                                 primary_key=True, related_name="open311_update")
    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="updates")
    update_id = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "update_id"], name="open311_update_once")
        ]
        verbose_name = _("Open311 update")
        verbose_name_plural = _("Open311 updates")

    def __str__(self) -> str:
        return f"{self.client}: {self.update_id}"
