"""Admin views of the dashboard's rollup: read-only, computed from the reports."""

from django.contrib import admin

from reports.admin import ViewOnlyAdmin

from .models import DailyStat, DailyStatDirty


@admin.register(DailyStat)
class DailyStatAdmin(ViewOnlyAdmin):
    """The dashboard's rollup is computed from the reports (dashboard.services);
    `manage.py rebuild_dashboard_rollup` recomputes it."""

    list_display = ("day", "department_id", "district_id", "category_id", "received",
                    "resolved", "done")
    list_filter = ("day",)
    date_hierarchy = "day"


@admin.register(DailyStatDirty)
class DailyStatDirtyAdmin(ViewOnlyAdmin):
    list_display = ("day",)
