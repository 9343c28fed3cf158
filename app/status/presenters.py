"""What the status pages and their CSV exports show, shaped from the services' figures: tables
(title, header, rows), chart series and charts, rows for templates, and number formatting.
Presenters call services; services never call presenters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup

from ..accounts.models import User
from ..i18n import _, _l, format_number, gettext
from . import charts
from .services.dashboards import dashboard, offer_table, offer_table_page, sees_offer_figures
from .services.periods import Period
from .services.usage import metrics

TABLES = ("summary", "months", "usage", "velocity", "distribution", "offers")
TYPE_LABELS = {
    "new": _l("Orders"),
    "modify": _l("Modifications"),
    "terminate": _l("Terminations"),
    "support": _l("Support requests"),
}


def no_data(value, suffix: str = "") -> str:
    """A figure, or “no data” when there is none (never a made-up 0 or 100)."""
    if value is None:
        return gettext("no data")
    if isinstance(value, float):
        value = format_number(value) if abs(value) < 1e6 else format_number(value, 0)
    return f"{value}{suffix}"


def last_day(period: Period):
    """The last moment inside the period (its end is excluded): the range's last day."""
    return period.end - timedelta(microseconds=1)


# --- dashboard tables ---------------------------------------------------------------------------


def dashboard_tables(data: dict) -> dict[str, dict]:
    """The dashboard's figures as tables (title, header, rows): the page shows them and each one
    downloads as CSV. None stays None ("no data"), never 0 or 100."""
    flow = data["flow"]
    return {
        "summary": {
            "title": gettext("Key figures"),
            "header": [gettext("Figure"), gettext("Value"), gettext("Unit")],
            "rows": _summary_rows(data),
        },
        "months": {
            "title": gettext("Subscriptions per month"),
            "header": [
                gettext("Month"),
                gettext("New"),
                gettext("Terminated"),
                gettext("Active at month end"),
            ],
            "rows": [
                (row["month"], row["new"], row["terminated"], row["active"])
                for row in data["subscriptions"]["per_month"]
            ],
        },
        "usage": {
            "title": gettext("Usage totals"),
            "header": [
                gettext("Metric"),
                gettext("Label"),
                gettext("Total (for levels: the peak)"),
                gettext("Unit"),
            ],
            "rows": _usage_rows(data["usage"]),
        },
        "velocity": {
            "title": gettext("Velocity per week"),
            "header": [gettext("Week starting"), gettext("Items done")],
            "rows": [(row["week"], row["done"]) for row in flow["velocity_per_week"]],
        },
        "distribution": {
            "title": gettext("Distribution and load by request type"),
            "header": [gettext("Type"), gettext("Share of items done (%)"), gettext("Open now")],
            "rows": _distribution_rows(flow),
        },
    }


def _summary_rows(data: dict) -> list[tuple]:
    support, fulfillment, flow = data["support"], data["fulfillment"], data["flow"]
    summary = [
        (gettext("Active subscriptions now"), data["subscriptions"]["active_now"], ""),
        (gettext("Fulfilled orders"), fulfillment["orders"], ""),
        (
            gettext("Average fulfillment lead time"),
            fulfillment["average_lead_hours"],
            gettext("hours"),
        ),
        (gettext("Fulfillment within target"), fulfillment["within_target_pct"], "%"),
        (gettext("First response within target"), support["response_within_target_pct"], "%"),
        (gettext("Resolution within target"), support["resolution_within_target_pct"], "%"),
        (gettext("Availability"), data["availability_pct"], "%"),
        (gettext("Support requests"), support["requests"], ""),
        (gettext("Average first response"), support["average_response_hours"], gettext("hours")),
        (gettext("Average resolution"), support["average_resolution_hours"], gettext("hours")),
        (
            gettext("Satisfaction (1–5)"),
            support["satisfaction"],
            gettext("%(count)s ratings", count=support["rated"]),
        ),
        (gettext("Deflection rate"), data["deflection_pct"], "%"),
        (gettext("Flow time, median"), flow["flow_time_median_hours"], gettext("hours")),
        (gettext("Flow time, 85th percentile"), flow["flow_time_p85_hours"], gettext("hours")),
        (gettext("Load now (open items)"), flow["load_now"], ""),
        (gettext("Flow efficiency"), flow["efficiency_pct"], "%"),
        (gettext("Items done in range"), flow["done"], ""),
    ]
    if data.get("revenue") is not None:
        money = []
        for item in data["revenue"].get("by_currency") or [data["revenue"]]:
            money += [
                (
                    gettext("Monthly recurring revenue (%(item)s)", item=item["currency"]),
                    item["mrr"],
                    item["currency"],
                ),
                (
                    gettext("Monthly margin (%(item)s)", item=item["currency"]),
                    item["margin"],
                    item["currency"],
                ),
            ]
        summary[1:1] = money
    return summary


def _usage_rows(usage: dict[str, float]) -> list[tuple]:
    known = metrics() if usage else {}
    return [
        (
            metric,
            known[metric].label if metric in known else metric,
            total,
            known[metric].unit if metric in known else "",
        )
        for metric, total in sorted(usage.items())
    ]


def _distribution_rows(flow: dict) -> list[tuple]:
    kinds = sorted(
        set(flow["distribution_pct"]) | set(flow["load_by_type"]),
        key=lambda kind: list(TYPE_LABELS).index(kind) if kind in TYPE_LABELS else 99,
    )
    return [
        (
            TYPE_LABELS.get(kind, kind),
            flow["distribution_pct"].get(kind),
            flow["load_by_type"].get(kind, 0),
        )
        for kind in kinds
    ]


def offers_table(offers: list[dict]) -> dict:
    """`offer_table` rows as a dashboard table (title, header, rows)."""
    return {
        "title": gettext("Orders and active subscriptions per offer"),
        "header": [
            gettext("Offer code"),
            gettext("Name"),
            gettext("New orders in range"),
            gettext("Active subscriptions"),
        ],
        "rows": [(row["code"], row["name"], row["orders"], row["active"]) for row in offers],
    }


def dashboard_figures(
    viewer: User, period: Period, *, product_id: Any, offer_code: str, page: int
) -> tuple[dict, dict, Any]:
    """The dashboard page's figures, its tables, and (managers) one page of offers."""
    data = dashboard(viewer, period, product_id=product_id, offer_code=offer_code)
    tables = dashboard_tables(data)
    offers = None
    if sees_offer_figures(viewer):
        offers = offer_table_page(viewer, period, product_id=product_id, page=page)
        tables["offers"] = offers_table(offers.items)
    return data, tables, offers


def export_table(
    viewer: User, table: str, period: Period, *, product_id: Any, offer_code: str
) -> dict | None:
    """One of TABLES, whole, for a CSV download; None when the viewer may not see it."""
    if table == "offers":
        if not sees_offer_figures(viewer):
            return None
        return offers_table(offer_table(viewer, period, product_id=product_id))
    data = dashboard(viewer, period, product_id=product_id, offer_code=offer_code)
    return dashboard_tables(data)[table]


def dashboard_charts(data: dict) -> dict[str, Markup]:
    """The dashboard's charts: active subscriptions, new and terminated per month, velocity."""
    per_month = data["subscriptions"]["per_month"]
    velocity = data["flow"]["velocity_per_week"]
    first, last = (per_month[0]["month"], per_month[-1]["month"]) if per_month else ("", "")
    return {
        "active": charts.line_chart(
            "chart-active",
            gettext("Active subscriptions at each month's end"),
            gettext(
                "Active subscriptions at the end of each month from %(first)s to %(last)s.",
                first=first,
                last=last,
            ),
            [(gettext("Active"), [(row["month"], row["active"]) for row in per_month])],
        ),
        "months": charts.bar_chart(
            "chart-months",
            gettext("New and terminated subscriptions per month"),
            gettext("Subscriptions created and terminated in each month of the range."),
            [row["month"] for row in per_month],
            [
                (gettext("New"), [row["new"] for row in per_month]),
                (gettext("Terminated"), [row["terminated"] for row in per_month]),
            ],
        ),
        "velocity": charts.bar_chart(
            "chart-velocity",
            gettext("Velocity: items done per week"),
            gettext(
                "Orders, modifications, terminations and support requests completed in each week."
            ),
            [row["week"] for row in velocity],
            [(gettext("Done"), [row["done"] for row in velocity])],
        )
        if velocity
        else charts.no_data(gettext("Nothing was completed in this range.")),
    }


# --- a subscription's usage ----------------------------------------------------------------------


def days_between(start: date, end: date) -> list[date]:
    """Every day in [start, end), at most 3 years' worth."""
    days, cursor = [], start
    while cursor < end and len(days) < 1100:
        days.append(cursor)
        cursor += timedelta(days=1)
    return days


def daily_usage(
    points: Sequence[tuple[str, float]], start: date, end: date
) -> list[tuple[str, float]]:
    """Daily totals over the range, with days that have no record as 0."""
    by_day = dict(points)
    return [
        (day.isoformat(), float(by_day.get(day.isoformat(), 0.0)))
        for day in days_between(start, end)
    ]


def month_to_date(points: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """Running total within each calendar month (what a monthly quota is measured against)."""
    result, running, month = [], 0.0, ""
    for day, value in points:
        if day[:7] != month:
            month, running = day[:7], 0.0
        running += value
        result.append((day, round(running, 4)))
    return result


def usage_views(status: dict, period: Period) -> list[dict]:
    """Per metric of a subscription's status: the chart and the table rows behind it, over the
    days the subscription was running in the range (never a line before it existed)."""
    running = status.get("running", period)
    views = []
    for metric in sorted(set(status["usage"]) | set(status["quotas"])):
        known = status["metrics"].get(metric)
        points = status["usage"].get(metric, [])
        view = {
            "metric": metric,
            "name": known.label if known else metric,
            "unit": known.unit if known else "",
            "quota": status["quotas"].get(metric),
            "gauge": bool(known and known.is_gauge),
            "recorded": bool(points),
        }
        window = _window(running, points)
        if window is None:
            view.update(total=None, rows=[], chart=charts.no_data(_NOT_RUNNING))
        elif view["gauge"]:
            view.update(_gauge_view(view, points, window))
        else:
            view.update(_counter_view(view, points, window))
        views.append(view)
    return views


_NOT_RUNNING = _l("The subscription was not running in this range.")
_NO_USAGE = _l("No usage recorded in this range.")


def _window(running: Period | None, points) -> tuple[date, date] | None:
    """The days a usage chart covers: those the subscription ran in the range, widened to any
    day with records (a feed may report days before the activation); None when neither."""
    days = [date.fromisoformat(day) for day, _ in points]
    if running is not None:
        days += [running.start.date(), last_day(running).date()]
    return (min(days), max(days)) if days else None


def _counter_view(view: dict, points, window: tuple[date, date]) -> dict:
    """A counter: what was used each day (a day without records used nothing), and the running
    total within each month against a monthly quota."""
    start, end = window
    daily = daily_usage(points, start, end + timedelta(days=1))
    cumulative = month_to_date(daily)
    return {
        "total": sum(value for _, value in daily) if points else None,
        "chart": _usage_chart(view, daily, cumulative, start, end)
        if points
        else charts.no_data(_NO_USAGE),
        "rows": [
            (day, value, running_total)
            for (day, value), (_, running_total) in zip(daily, cumulative, strict=True)
            if value
        ],
    }


def _gauge_view(view: dict, points, window: tuple[date, date]) -> dict:
    """A gauge (a level): each day's peak reading, only on days with readings; the range's
    figure is the peak, with the average of the daily peaks beside it, never a sum."""
    if not points:
        return {"total": None, "chart": charts.no_data(_NO_USAGE), "rows": []}
    name, unit, quota = view["name"], view["unit"], view["quota"]
    start, end = points[0][0], points[-1][0]
    values = [value for _, value in points]
    return {
        "total": max(values),
        "average": round(sum(values) / len(values), 2),
        "rows": [(day, value, None) for day, value in points],
        "chart": charts.line_chart(
            f"usage-{view['metric'].replace('_', '-')}",
            gettext("%(name)s: highest reading per day", name=name),
            _(
                "The highest %(name)s (%(unit)s) read on each day with readings from %(start)s "
                "to %(end)s.",
                name=name,
                unit=unit,
                start=start,
                end=end,
            ),
            [(gettext("Daily peak"), points)],
            reference=quota,
            reference_label=gettext("Quota %(quota)s", quota=format_number(quota))
            if quota is not None
            else "",
        ),
    }


def _usage_chart(view: dict, daily, cumulative, start, end) -> Markup:
    """Month-to-date use against the quota when there is one (a new line each month, when the
    quota starts again), else the use per day."""
    metric, name, unit, quota = view["metric"], view["name"], view["unit"], view["quota"]
    chart_id = f"usage-{metric.replace('_', '-')}"
    if quota is not None:
        return charts.line_chart(
            chart_id,
            gettext("%(name)s: month-to-date use against the quota", name=name),
            gettext(
                "Running total of %(name)s (%(unit)s) within each month from %(start)s to %(end)s, "
                "against a monthly quota of %(quota)s. The total starts again on the 1st.",
                name=name,
                unit=unit,
                start=start,
                end=end,
                quota=format_number(quota),
            ),
            [(gettext("Month to date"), cumulative)],
            reference=quota,
            reference_label=gettext("Quota %(quota)s", quota=format_number(quota)),
            breaks={day for day, _ in daily if day.endswith("-01")},
            break_label=gettext("a new month: the quota starts again"),
        )
    return charts.bar_chart(
        chart_id,
        f"{name} per day",
        gettext(
            "Daily %(name)s (%(unit)s) from %(start)s to %(end)s.",
            name=name,
            unit=unit,
            start=start,
            end=end,
        ),
        [day for day, _ in daily],
        [(name, [value for _, value in daily])],
    )


def usage_csv_rows(status: dict) -> list[tuple]:
    """A subscription's daily usage as (metric, day, quantity) rows."""
    return [
        (metric, day, value)
        for metric, points in sorted(status["usage"].items())
        for day, value in points
    ]
