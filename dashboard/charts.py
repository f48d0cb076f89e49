"""KPI cards and server-side SVG charts (they print, and need no script)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import selectors

# --- Presentation helpers -----------------------------------------------------------------

KPI_LABELS = {
    "received": gettext_lazy("Received"),
    "resolved": gettext_lazy("Resolved"),
    "backlog": gettext_lazy("Open backlog"),
    "median_hours": gettext_lazy("Median time to resolve"),
    "p90_hours": gettext_lazy("90th percentile time to resolve"),
    "within_sla": gettext_lazy("Resolved within SLA"),
    "overdue": gettext_lazy("Overdue"),
    "reopen_rate": gettext_lazy("Reopen rate"),
    "supporters": gettext_lazy("Supporters"),
}
KPI_HELP = {
    "received": gettext_lazy("Reports created in the period."),
    "resolved": gettext_lazy("Reports marked resolved in the period."),
    "backlog": gettext_lazy("Open reports at the end of the period."),
    "median_hours": gettext_lazy("Half of the reports resolved in the period took less."),
    "p90_hours": gettext_lazy("Nine in ten reports resolved in the period took less."),
    "within_sla": gettext_lazy(
        "Share resolved by the deadline; time waiting for the reporter does not count."),
    "overdue": gettext_lazy("Open reports past their deadline at the end of the period."),
    "reopen_rate": gettext_lazy(
        "Of the reports received in the period that were resolved, the share reopened."),
    "supporters": gettext_lazy("“Me too” supporters of the reports received in the period."),
}


def fmt_number(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    return formats.number_format(value, decimal_pos=digits, use_l10n=True, force_grouping=True)


def fmt_hours(hours: float | None) -> str:
    if hours is None:
        return "—"
    if abs(hours) < 48:
        return _("%(n)s h") % {"n": fmt_number(hours, 1)}
    return _("%(n)s d") % {"n": fmt_number(hours / 24, 1)}


def fmt_percent(value: float | None) -> str:
    return "—" if value is None else f"{fmt_number(value, 1)} %"


def fmt_value(kind: str, value) -> str:
    if kind == "hours":
        return fmt_hours(value)
    if kind == "percent":
        return fmt_percent(value)
    return fmt_number(value)


def _signed(text: str, value: float) -> str:
    return f"+{text}" if value > 0 else (f"−{text.lstrip('-')}" if value < 0 else text)


def fmt_change(kpi: selectors.Kpi) -> str:
    change = kpi.change
    if change is None:
        return _("no comparison")
    if kpi.kind == "percent":
        return _signed(_("%(n)s pp") % {"n": fmt_number(abs(change), 1)}, change)
    if kpi.kind == "hours":
        text = _signed(fmt_hours(abs(change)), change)
    else:
        text = _signed(fmt_number(abs(change)), change)
    if kpi.change_percent is not None:
        text += f" ({_signed(fmt_number(abs(kpi.change_percent), 0), kpi.change_percent)} %)"
    return text


@dataclass
class KpiCard:
    key: str
    label: str
    help: str
    value: str
    previous: str
    change: str
    trend: str


def kpi_cards(items: list[selectors.Kpi]) -> list[KpiCard]:
    return [
        KpiCard(key=k.key, label=str(KPI_LABELS[k.key]), help=str(KPI_HELP[k.key]),
                value=fmt_value(k.kind, k.value), previous=fmt_value(k.kind, k.previous),
                change=fmt_change(k), trend=k.trend)
        for k in items
    ]


def axis_ticks(value: float, *, max_ticks: int = 5) -> tuple[int, list[int]]:
    """A round axis maximum >= value and whole-number ticks (steps of 1, 2, 5 x 10^n)."""
    value = max(value, 1)
    step = 1
    for exp in range(0, 12):
        for base in (1, 2, 5):
            step = base * 10 ** exp
            if math.ceil(value / step) <= max_ticks - 1:
                top = math.ceil(value / step) * step
                return top, list(range(0, top + 1, step))
    return int(value), [0, int(value)]  # pragma: no cover - beyond 10^12


@dataclass
class Chart:
    width: int
    height: int
    plot: dict
    ticks: list[dict]
    labels: list[dict]
    series: list[dict]
    bars: list[dict]


def trend_chart(points: list[selectors.WeekPoint], *, width: int = 760, height: int = 240) -> Chart:
    """Two lines (received, resolved) per week as SVG coordinates."""
    left, right, top, bottom = 44, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, tick_values = axis_ticks(max([max(p.received, p.resolved) for p in points]
                                            + [1]))
    step = plot_w / max(len(points) - 1, 1)

    def y(v: int) -> float:
        return round(top + plot_h * (1 - v / top_value), 1)

    def x(i: int) -> float:
        return round(left + i * step, 1)

    series = []
    for key, label, css in (("received", _("Received"), "received"),
                            ("resolved", _("Resolved"), "resolved")):
        pts = [{"x": x(i), "y": y(getattr(p, key)), "value": getattr(p, key),
                "title": f"{formats.date_format(p.week, 'SHORT_DATE_FORMAT')}: {label} "
                         f"{getattr(p, key)}"} for i, p in enumerate(points)]
        series.append({"key": key, "label": label, "css": css, "points": pts,
                       "path": " ".join(f"{p['x']},{p['y']}" for p in pts)})
    ticks = [{"y": y(v), "x": left - 6, "label": fmt_number(v)} for v in tick_values]
    every = max(1, math.ceil(len(points) / 10))
    labels = [{"x": x(i), "y": top + plot_h + 18, "label": formats.date_format(p.week, "d.m")}
              for i, p in enumerate(points) if i % every == 0]
    return Chart(width, height, {"left": left, "top": top, "right": width - right,
                                 "bottom": top + plot_h}, ticks, labels, series, [])


def age_chart(buckets: list[selectors.AgeBucket], *, width: int = 760, height: int = 240) -> Chart:
    """Stacked bars: open reports by age, overdue part on top."""
    left, right, top, bottom = 44, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, tick_values = axis_ticks(max([b.total for b in buckets] + [1]))
    slot = plot_w / max(len(buckets), 1)
    bars = []
    for i, b in enumerate(buckets):
        label = (_("%(a)s–%(b)s d") % {"a": b.low, "b": b.high} if b.high is not None
                 else _("%(a)s+ d") % {"a": b.low})
        on_time = b.total - b.overdue
        h_total = plot_h * b.total / top_value
        h_over = plot_h * b.overdue / top_value
        x0 = left + i * slot + slot * 0.15
        bars.append({
            "x": round(x0, 1), "w": round(slot * 0.7, 1), "label": label,
            "cx": round(left + (i + 0.5) * slot, 1),
            "y_total": round(top + plot_h - h_total, 1), "h_ontime": round(h_total - h_over, 1),
            "y_over": round(top + plot_h - h_total, 1), "h_over": round(h_over, 1),
            "y_ontime": round(top + plot_h - h_total + h_over, 1),
            "y_value": round(top + plot_h - h_total - 4, 1), "y_label": top + plot_h + 18,
            "total": b.total, "overdue": b.overdue, "ontime": on_time,
        })
    ticks = [{"y": round(top + plot_h * (1 - v / top_value), 1), "x": left - 6,
              "label": fmt_number(v)} for v in tick_values]
    return Chart(width, height, {"left": left, "top": top, "right": width - right,
                                 "bottom": top + plot_h}, ticks, [], [], bars)


# Resolution rates of real cities sit mostly between 50 and 95 %: finer classes there.
