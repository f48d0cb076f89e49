"""The dashboard's rollup of report counts per day (read by `dashboard.kpis`)."""

from __future__ import annotations

from django.db import models


class DailyStat(models.Model):
    """Report counts per local day, department, district and category.

    Maintained by `dashboard.services` from the reports themselves (never edited by hand): a
    statement-level trigger on `reports_report` (dashboard/migrations/0001) marks the days a
    write touches in `DailyStatDirty`, and `dailystats_refresh` recomputes those days before
    a dashboard reads them. Each counter is keyed by the day of the instant it is about (see
    `dashboard.services.ROLLUP_COLUMNS`).
    """

    day = models.DateField()
    department_id = models.IntegerField(null=True)
    district_id = models.IntegerField(null=True)
    category_id = models.IntegerField(null=True)
    # by the day the report was created (its cohort)
    received = models.IntegerField(default=0)
    supporters = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    ever_resolved = models.IntegerField(default=0)
    received_resolved = models.IntegerField(default=0)
    received_within_sla = models.IntegerField(default=0)
    # by the day it was resolved
    resolved = models.IntegerField(default=0)
    resolved_within_sla = models.IntegerField(default=0)
    resolved_with_due = models.IntegerField(default=0)
    # by the day it was done (resolved, closed, rejected, merged), for reports done now
    done = models.IntegerField(default=0)
    late_done = models.IntegerField(default=0)  # ... and done on a later day than due
    # by the day it was due, for reports done on a later day
    late_due = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="dailystat_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.received} received, {self.resolved} resolved"


class DailyStatDirty(models.Model):
    """Days whose `DailyStat` rows may be out of date (written by the database trigger)."""

    day = models.DateField(primary_key=True)

    def __str__(self) -> str:
        return str(self.day)
