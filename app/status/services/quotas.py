"""Quotas: the monthly limits a subscription's options set on its usage, and the warning when
this month's trend reaches one."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ... import clock
from ...i18n import Localized, _, _l, format_number, lazy_day
from ...subscriptions.models import Subscription
from ..models import UsageMetric
from .periods import Period, month_period
from .usage import monthly_usage, usage_series


def quotas(subscription: Subscription) -> dict[str, float]:
    """Quotas come from the subscription's options named `<metric>_quota`."""
    return {
        key[: -len("_quota")]: float(value)
        for key, value in (subscription.options or {}).items()
        if key.endswith("_quota")
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and value > 0
    }


def predict_quota_crossing(
    series: list[tuple[str, float]], quota: float, horizon_days: int = 30, today: date | None = None
) -> date | None:
    """Fit a line to the cumulative usage of the current month and say when it would cross the
    quota, if that is within the horizon and this month (a monthly quota starts again on the
    1st). Works on daily aggregates (a month at most)."""
    today = today or clock.now().date()
    month = today.strftime("%Y-%m")
    points = [(date.fromisoformat(day), value) for day, value in series if day.startswith(month)]
    if len(points) < 2:
        return None
    cumulative, running = [], 0.0
    for day, value in points:
        running += value
        cumulative.append(((day - points[0][0]).days, running))
    n = len(cumulative)
    mean_x = sum(x for x, _ in cumulative) / n
    mean_y = sum(y for _, y in cumulative) / n
    var = sum((x - mean_x) ** 2 for x, _ in cumulative)
    if var == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in cumulative) / var
    if slope <= 0:
        return None
    if running >= quota:
        return points[-1][0]
    days_to_cross = (quota - running) / slope
    crossing = points[-1][0] + timedelta(days=max(1, round(days_to_cross + 0.4999)))
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return crossing if crossing <= min(today + timedelta(days=horizon_days), month_end) else None


def _label(known: dict[str, UsageMetric], metric: str) -> tuple[str, str]:
    name = known[metric].label if metric in known else metric
    unit = f" {known[metric].unit}" if metric in known and known[metric].unit else ""
    return name, unit


def quota_warnings(
    subscription: Subscription,
    limits: dict[str, float],
    known: dict[str, UsageMetric],
    now: datetime,
) -> list[dict]:
    """A warning per quota (of `limits`) that this month's usage has reached or, at its current
    rate, will reach this month; the trend is read from this month's usage, whatever range a
    page shows. A gauge (a level) has reached its quota when this month's peak reading has; its
    levels are not added up into a trend."""
    if not limits:
        return []
    month = month_period(now.year, now.month)
    this_month = usage_series(
        [subscription.id], Period(month.start, min(month.end, now + timedelta(days=1)))
    )
    warnings = []
    for metric, quota in sorted(limits.items()):
        points = this_month.get(metric, [])
        if metric in known and known[metric].is_gauge:
            over = [day for day, value in points if value >= quota]
            crossing = date.fromisoformat(over[0]) if over else None
        else:
            crossing = predict_quota_crossing(points, quota, today=now.date())
        if crossing is None:
            continue
        reached = crossing <= now.date()
        name, unit = _label(known, metric)
        text = (
            _l(
                "%(name)s has reached its monthly quota of %(quota)s%(unit)s (%(day)s).",
                name=name,
                quota=Localized(format_number, quota),
                unit=unit,
                day=lazy_day(crossing),
            )
            if reached
            else _l(
                "At the current rate, %(name)s will reach its monthly quota of %(quota)s%(unit)s "
                "on %(day)s.",
                name=name,
                quota=Localized(format_number, quota),
                unit=unit,
                day=lazy_day(crossing),
            )
        )
        warnings.append(
            {
                "kind": "quota",
                "metric": metric,
                "quota": quota,
                "date": crossing.isoformat(),
                "reached": reached,
                "message": text,
            }
        )
    return warnings


def past_quota_breaches(
    subscription: Subscription,
    limits: dict[str, float],
    known: dict[str, UsageMetric],
    period: Period,
    now: datetime,
) -> list[dict]:
    """A warning per quota and finished month (last month, and every month the page's range
    touches) in which the subscription used more than its quota: a counter's month total, a
    gauge's peak reading. Months are read in one query."""
    if not limits:
        return []
    this_month = month_period(now.year, now.month)
    last_month = month_period(*(this_month.start - timedelta(days=1)).timetuple()[:2])
    start = min(last_month.start, month_period(period.start.year, period.start.month).start)
    figures = monthly_usage([subscription.id], Period(start, this_month.start))
    breaches = []
    for (metric, month), value in sorted(figures.items(), key=lambda item: item[0][1]):
        quota = limits.get(metric)
        if quota is None or value <= quota:
            continue
        name, unit = _label(known, metric)
        shown = f"{value:,.2f}".rstrip("0").rstrip(".")
        label = datetime.strptime(month, "%Y-%m").strftime("%B %Y")
        breaches.append(
            {
                "kind": "quota_exceeded",
                "metric": metric,
                "quota": quota,
                "month": month,
                "used": value,
                "date": f"{month}-01",
                "reached": True,
                "message": _(
                    "In %(month)s, %(name)s was %(used)s%(unit)s, over the monthly quota of "
                    "%(quota)s%(unit)s.",
                    month=label,
                    name=name,
                    used=shown,
                    unit=unit,
                    quota=format_number(quota),
                ),
            }
        )
    return breaches
