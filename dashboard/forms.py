"""The dashboard's filters: period (presets or dates), district, department, category."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from layers.models import Department, District
from reports.models import Category

from . import kpis

# --- Filters ------------------------------------------------------------------------------

PERIOD_CHOICES = [
    ("7d", gettext_lazy("Last 7 days")),
    ("30d", gettext_lazy("Last 30 days")),
    ("90d", gettext_lazy("Last 90 days")),
    ("365d", gettext_lazy("Last 12 months")),
    ("month", gettext_lazy("This month")),
    ("quarter", gettext_lazy("This quarter")),
    ("year", gettext_lazy("This year")),
    ("custom", gettext_lazy("Dates…")),
]
MAX_PERIOD_DAYS = 3 * 366


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PERIOD_CHOICES,
                               required=False)
    date_from = forms.DateField(label=gettext_lazy("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    district = forms.ModelChoiceField(
        label=gettext_lazy("District"), queryset=District.objects.order_by("name_uk"),
        to_field_name="code", required=False, empty_label=gettext_lazy("All districts"))
    department = forms.ModelChoiceField(
        label=gettext_lazy("Department"),
        queryset=Department.objects.filter(is_active=True).order_by("name_uk"),
        to_field_name="code", required=False, empty_label=gettext_lazy("All departments"))
    category = forms.ModelChoiceField(
        label=gettext_lazy("Category"),
        queryset=Category.objects.select_related("group").order_by("group__order", "order",
                                                                   "service_code"),
        to_field_name="service_code", required=False,
        empty_label=gettext_lazy("All categories"))

    def __init__(self, data, *args, **kwargs):
        data = data.copy()
        # short GET names: ?from=&to= for custom dates
        for short, name in (("from", "date_from"), ("to", "date_to")):
            if short in data and name not in data:
                data[name] = data[short]
        if not data.get("period"):
            data["period"] = "custom" if data.get("date_from") else "30d"
        super().__init__(data, *args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("period") == "custom":
            first, last = cleaned.get("date_from"), cleaned.get("date_to")
            if not first:
                self.add_error("date_from", _("Choose the first day."))
            elif (last or timezone.localdate()) - first > timedelta(days=MAX_PERIOD_DAYS):
                self.add_error("date_from", _("At most three years at a time."))
        return cleaned


def parse_filters(request: HttpRequest) -> tuple[kpis.DashboardFilters, DashboardFilterForm]:
    """Valid filters from the query string; invalid parts fall back to the defaults and the
    form carries the error messages."""
    form = DashboardFilterForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    now = timezone.now()
    period = data.get("period") or "30d"
    if period == "custom" and data.get("date_from") and not form.has_error("date_from"):
        start, end = kpis.custom_bounds(data["date_from"],
                                        data.get("date_to") or timezone.localdate(now))
    else:
        period = period if period in kpis.PERIOD_PRESETS else "30d"
        start, end = kpis.period_bounds(period, now)
    filters = kpis.DashboardFilters(
        start=start, end=end, period=period,
        district=data.get("district"), department=data.get("department"),
        category=data.get("category"),
    )
    return filters, form


