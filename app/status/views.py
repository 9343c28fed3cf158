"""HTML pages of Publish Service Status: service notices, a subscription's status page, and the
dashboards. Each route parses its form, calls one service, and renders; CSV exports render the
same tables the page shows."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import clock
from ..accounts.models import Role
from ..catalog import services as catalog
from ..errors import ValidationFailed
from ..web import apply_field_errors, csv_response, page_number, paginate
from . import charts, services
from .forms import KIND_LABELS, DashboardForm, NoticeForm, NoticeUpdateForm, RangeForm

bp = Blueprint("status", __name__, url_prefix="/status")

KIND_CLASSES = {"outage": "danger", "degradation": "warn", "maintenance": ""}
TABLES = ("summary", "months", "usage", "velocity", "distribution", "offers")


@bp.app_template_filter("nodata")
def no_data(value, suffix: str = "") -> str:
    """A figure, or “no data” when there is none (never a made-up 0 or 100)."""
    if value is None:
        return "no data"
    if isinstance(value, float):
        value = f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{value}{suffix}"


def _period(form):
    """The range from the form, or the default one with field errors (never a 500)."""
    try:
        return services.parse_period(form["from"].data, form["to"].data), True
    except ValidationFailed as error:
        apply_field_errors(form, error)
        return services.parse_period(), False


def _show_range(form, period) -> None:
    """Fill an empty range form with the range shown (the end day is included)."""
    if not form["from"].data and not form["to"].data:
        form["from"].data = period.start.date().isoformat()
        form["to"].data = (period.end - timedelta(microseconds=1)).date().isoformat()


# --- notices --------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index():
    return redirect(url_for("status.notices"))


def _notices_page(notice_form=None, update_forms=None, code: int = 200):
    show_all = request.args.get("all") == "1"
    pagination = paginate(services.notices_for_user(current_user, current_only=not show_all))
    author = services.may_post_notices(current_user)
    if author and notice_form is None:
        notice_form = NoticeForm()
    if notice_form is not None:
        notice_form.product_id.choices = [("", "— choose —")] + [
            (str(product.id), product.name) for product in catalog.list_products()
        ]
    update_forms = dict(update_forms or {})
    if author:
        for notice in pagination.items:
            if notice.resolved_at is None and notice.id not in update_forms:
                update_forms[notice.id] = NoticeUpdateForm(prefix=f"n{notice.id}", formdata=None)
    mine = (
        services.group_subscriptions(current_user)
        if current_user.has_role(Role.CONSUMER) and current_user.group_ids
        else []
    )
    return render_template(
        "status/notices.html",
        pagination=pagination,
        show_all=show_all,
        author=author,
        notice_form=notice_form,
        update_forms=update_forms,
        kind_labels=KIND_LABELS,
        kind_classes=KIND_CLASSES,
        now=clock.now(),
        mine=mine,
    ), code


@bp.route("/notices", methods=["GET", "POST"])
@login_required
def notices():
    if request.method == "GET":
        return _notices_page()
    form = NoticeForm()
    if not services.may_post_notices(current_user):
        abort(
            403,
            "Service notices are posted by product managers and support agents of tier 2 and up.",
        )
    if form.validate_on_submit():
        try:
            notice = services.post_notice(
                current_user,
                product_id=form.product_id.data,
                kind=form.kind.data,
                title=form.title.data,
                message=form.message.data,
                starts_at=form.starts_at.data,
                ends_at=form.ends_at.data or None,
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(f"Notice “{notice.title}” posted; its subscribers are notified.", "success")
            return redirect(url_for("status.notices"))
    return _notices_page(notice_form=form, code=422)


@bp.route("/notices/<int:notice_id>/update", methods=["POST"])
@login_required
def update_notice(notice_id: int):
    form = NoticeUpdateForm(prefix=f"n{notice_id}")
    if not services.may_post_notices(current_user):
        abort(
            403,
            "Service notices are updated by product managers and support agents of tier 2 and up.",
        )
    if form.validate_on_submit():
        resolve = bool(form.resolve.data)
        try:
            notice = services.update_notice(
                current_user,
                notice_id,
                message=form.message.data,
                ends_at=form.ends_at.data or None,
                resolve=resolve,
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(f"Notice “{notice.title}” {'resolved' if resolve else 'updated'}.", "success")
            return redirect(url_for("status.notices") + f"#notice-{notice.id}")
    return _notices_page(update_forms={notice_id: form}, code=422)


# --- a subscription's status page -------------------------------------------------------------


@bp.route("/subscriptions/<int:subscription_id>")
@login_required
def subscription(subscription_id: int):
    form = RangeForm(formdata=request.args)
    period, valid = _period(form)
    result = services.subscription_status(current_user, subscription_id, period)
    _show_range(form, period)
    usage = _usage_view(result, period)
    return render_template(
        "status/subscription.html",
        form=form,
        status=result,
        subscription=result["subscription"],
        usage=usage,
        last_day=period.end - timedelta(microseconds=1),
        kind_labels=KIND_LABELS,
        kind_classes=KIND_CLASSES,
        now=clock.now(),
    ), (200 if valid else 422)


def _usage_view(result: dict, period) -> list[dict]:
    """Per metric: the chart and the table rows behind it."""
    start, end = period.start.date(), (period.end - timedelta(microseconds=1)).date()
    views = []
    labels = result["metrics"]
    for metric in sorted(set(result["usage"]) | set(result["quotas"])):
        daily = charts.daily_usage(result["usage"].get(metric, []), start, end + timedelta(days=1))
        quota = result["quotas"].get(metric)
        known = labels.get(metric)
        name = known.label if known else metric
        unit = known.unit if known else ""
        chart_id = f"usage-{metric.replace('_', '-')}"
        if quota is not None:
            cumulative = charts.month_to_date(daily)
            chart = charts.line_chart(
                chart_id,
                f"{name}: month-to-date use against the quota",
                f"Running total of {name} ({unit}) within each month from {start} to {end}, "
                f"against a monthly quota of {quota:g}.",
                [("Month to date", cumulative)],
                reference=quota,
                reference_label=f"Quota {quota:g}",
            )
        else:
            cumulative = charts.month_to_date(daily)
            chart = charts.bar_chart(
                chart_id,
                f"{name} per day",
                f"Daily {name} ({unit}) from {start} to {end}.",
                [day for day, _ in daily],
                [(name, [value for _, value in daily])],
            )
        views.append(
            {
                "metric": metric,
                "name": name,
                "unit": unit,
                "quota": quota,
                "chart": chart,
                "total": sum(value for _, value in daily),
                "rows": [
                    (day, value, running)
                    for (day, value), (_, running) in zip(daily, cumulative, strict=True)
                    if value
                ],
            }
        )
    return views


@bp.route("/subscriptions/<int:subscription_id>/usage.csv")
@login_required
def subscription_usage_csv(subscription_id: int):
    form = RangeForm(formdata=request.args)
    period = services.parse_period(form["from"].data, form["to"].data)
    result = services.subscription_status(current_user, subscription_id, period)
    rows = [
        (metric, day, value)
        for metric, points in sorted(result["usage"].items())
        for day, value in points
    ]
    return csv_response(
        f"subscription-{subscription_id}-usage.csv", ["Metric", "Day", "Quantity"], rows
    )


# --- dashboards -------------------------------------------------------------------------------


def _figures(period, product, offer):
    data = services.dashboard(current_user, period, product_id=product, offer_code=offer)
    tables = services.dashboard_tables(data)
    offers = None
    if services.sees_offer_figures(current_user):
        offers = services.offer_table_page(
            current_user, period, product_id=product, page=page_number()
        )
        tables["offers"] = services.offers_table(offers.items)
    return data, tables, offers


def _dashboard_data(form):
    """The figures for the form's filters; bad filters become field errors over the defaults."""
    period, valid = _period(form)
    try:
        figures = _figures(period, form.product.data or None, form.offer.data or "")
    except ValidationFailed as error:  # a product or offer that is not in the list
        apply_field_errors(form, error)
        valid = False
        figures = _figures(period, None, "")
    return period, valid, figures


def _dashboard_form():
    form = DashboardForm(formdata=request.args)
    choices = services.filter_choices(current_user, form.product.data, form.offer.data or "")
    form.product.choices = [("", "All products")] + [
        (str(pid), name) for pid, name in choices["products"]
    ]
    form.offer.choices = [("", "All offers")] + [
        (code, f"{name} ({code})") for code, name in choices["offers"]
    ]
    if choices["offers_narrowed"]:
        form.offer.description = "Choose a product and press Show to list its offers."
    return form


@bp.route("/dashboard")
@login_required
def dashboard():
    form = _dashboard_form()
    period, valid, (data, tables, offers) = _dashboard_data(form)
    _show_range(form, period)
    filters = {
        key: value
        for key, value in request.args.items()
        if key in ("product", "offer", "from", "to") and value
    }
    per_month = data["subscriptions"]["per_month"]
    velocity = data["flow"]["velocity_per_week"]
    chart_views = {
        "active": charts.line_chart(
            "chart-active",
            "Active subscriptions at each month's end",
            f"Active subscriptions at the end of each month from {per_month[0]['month'] if per_month else ''} "
            f"to {per_month[-1]['month'] if per_month else ''}.",
            [("Active", [(row["month"], row["active"]) for row in per_month])],
        ),
        "months": charts.bar_chart(
            "chart-months",
            "New and terminated subscriptions per month",
            "Subscriptions created and terminated in each month of the range.",
            [row["month"] for row in per_month],
            [
                ("New", [row["new"] for row in per_month]),
                ("Terminated", [row["terminated"] for row in per_month]),
            ],
        ),
        "velocity": charts.bar_chart(
            "chart-velocity",
            "Velocity: items done per week",
            "Orders, modifications, terminations and support requests completed in each week.",
            [row["week"] for row in velocity],
            [("Done", [row["done"] for row in velocity])],
        )
        if velocity
        else charts.no_data("Nothing was completed in this range."),
    }
    return render_template(
        "status/dashboard.html",
        form=form,
        data=data,
        tables=tables,
        offers=offers,
        charts=chart_views,
        filters=filters,
        period=period,
        last_day=period.end - timedelta(microseconds=1),
        mine=services.group_subscriptions(current_user)
        if current_user.has_role(Role.CONSUMER) and current_user.group_ids
        else [],
    ), (200 if valid else 422)


@bp.route("/dashboard/<table>.csv")
@login_required
def export(table: str):
    """One dashboard table as CSV, for the same filters; bad filters are flashed, no file."""
    if table not in TABLES:
        abort(404)
    form = _dashboard_form()
    period = services.parse_period(form["from"].data, form["to"].data)
    product, offer = form.product.data or None, form.offer.data or ""
    if table == "offers":
        if not services.sees_offer_figures(current_user):
            abort(404)
        chosen = services.offers_table(
            services.offer_table(current_user, period, product_id=product)
        )
    else:
        data = services.dashboard(current_user, period, product_id=product, offer_code=offer)
        chosen = services.dashboard_tables(data)[table]
    parts = (
        "dashboard",
        table,
        form.offer.data or "",
        f"{period.start:%Y%m%d}-{period.end:%Y%m%d}",
    )
    return csv_response(
        "-".join(part for part in parts if part) + ".csv", chosen["header"], chosen["rows"]
    )
