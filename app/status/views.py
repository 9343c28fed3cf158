"""HTML pages of Publish Service Status: service notices, a subscription's status page, and the
dashboards. Each route parses its form, calls one service, and renders; CSV exports render the
same tables the page shows."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import clock
from ..catalog import services as catalog
from ..errors import ValidationFailed
from ..i18n import _
from ..web import apply_field_errors, csv_response, page_number, paginate
from . import presenters
from .forms import KIND_LABELS, DashboardForm, NoticeForm, NoticeUpdateForm, RangeForm
from .services import notices as service_notices
from .services.dashboards import filter_choices, group_subscriptions
from .services.periods import parse_period
from .services.service_status import subscription_status

bp = Blueprint("status", __name__, url_prefix="/status")

KIND_CLASSES = {"outage": "danger", "degradation": "warn", "maintenance": ""}

bp.add_app_template_filter(presenters.no_data, "nodata")


def _period(form):
    """The range from the form, or the default one with field errors (never a 500)."""
    try:
        return parse_period(form["from"].data, form["to"].data), True
    except ValidationFailed as error:
        apply_field_errors(form, error)
        return parse_period(), False


def _show_range(form, period) -> None:
    """Fill an empty range form with the range shown (the end day is included)."""
    if not form["from"].data and not form["to"].data:
        form["from"].data = period.start.date().isoformat()
        form["to"].data = presenters.last_day(period).date().isoformat()


# --- notices --------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index():
    return redirect(url_for("status.notices"))


def _notices_page(notice_form=None, update_forms=None, code: int = 200):
    show_all = request.args.get("all") == "1"
    pagination = paginate(service_notices.notices_for_user(current_user, current_only=not show_all))
    author = service_notices.may_post_notices(current_user)
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
    mine = group_subscriptions(current_user)
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
    if not service_notices.may_post_notices(current_user):
        abort(
            403,
            _(
                "Service notices are posted by product managers and support agents of tier 2 and up."
            ),
        )
    if form.validate_on_submit():
        try:
            notice = service_notices.post_notice(
                current_user,
                product_id=form.product_id.data,
                kind=form.kind.data,
                title=form.title.data,
                message=form.message.data,
                starts_at=form.starts_at.data,
                ends_at=form.ends_at.data or None,
                critical=bool(form.critical.data),
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(
                _("Notice “%(title)s” posted; its subscribers are notified.", title=notice.title),
                "success",
            )
            return redirect(url_for("status.notices"))
    return _notices_page(notice_form=form, code=422)


@bp.route("/notices/<int:notice_id>/update", methods=["POST"])
@login_required
def update_notice(notice_id: int):
    form = NoticeUpdateForm(prefix=f"n{notice_id}")
    if not service_notices.may_post_notices(current_user):
        abort(
            403,
            _(
                "Service notices are updated by product managers and support agents of tier 2 and up."
            ),
        )
    if form.validate_on_submit():
        resolve = bool(form.resolve.data)
        try:
            notice = service_notices.update_notice(
                current_user,
                notice_id,
                message=form.message.data,
                ends_at=form.ends_at.data or None,
                resolve=resolve,
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(
                _(
                    "Notice “%(title)s” %(value)s.",
                    title=notice.title,
                    value="resolved" if resolve else "updated",
                ),
                "success",
            )
            return redirect(url_for("status.notices") + f"#notice-{notice.id}")
    return _notices_page(update_forms={notice_id: form}, code=422)


# --- a subscription's status page -------------------------------------------------------------


@bp.route("/subscriptions/<int:subscription_id>")
@login_required
def subscription(subscription_id: int):
    form = RangeForm(formdata=request.args)
    period, valid = _period(form)
    result = subscription_status(current_user, subscription_id, period)
    _show_range(form, period)
    usage = presenters.usage_views(result, period)
    return render_template(
        "status/subscription.html",
        form=form,
        status=result,
        subscription=result["subscription"],
        usage=usage,
        last_day=presenters.last_day(period),
        kind_labels=KIND_LABELS,
        kind_classes=KIND_CLASSES,
        now=clock.now(),
    ), (200 if valid else 422)


@bp.route("/subscriptions/<int:subscription_id>/usage.csv")
@login_required
def subscription_usage_csv(subscription_id: int):
    form = RangeForm(formdata=request.args)
    period = parse_period(form["from"].data, form["to"].data)
    result = subscription_status(current_user, subscription_id, period)
    return csv_response(
        f"subscription-{subscription_id}-usage.csv",
        [_("Metric"), _("Day"), _("Quantity")],
        presenters.usage_csv_rows(result),
    )


# --- dashboards -------------------------------------------------------------------------------


def _figures(period, product, offer):
    return presenters.dashboard_figures(
        current_user, period, product_id=product, offer_code=offer, page=page_number()
    )


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
    choices = filter_choices(current_user, form.product.data, form.offer.data or "")
    form.product.choices = [("", _("All products"))] + [
        (str(pid), name) for pid, name in choices["products"]
    ]
    form.offer.choices = [("", _("All offers"))] + [
        (code, f"{name} ({code})") for code, name in choices["offers"]
    ]
    if choices["offers_narrowed"]:
        form.offer.description = _("Choose a product and press Show to list its offers.")
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
    return render_template(
        "status/dashboard.html",
        form=form,
        data=data,
        tables=tables,
        offers=offers,
        charts=presenters.dashboard_charts(data),
        filters=filters,
        period=period,
        last_day=presenters.last_day(period),
        mine=group_subscriptions(current_user),
    ), (200 if valid else 422)


@bp.route("/dashboard/<table>.csv")
@login_required
def export(table: str):
    """One dashboard table as CSV, for the same filters; bad filters are flashed, no file."""
    if table not in presenters.TABLES:
        abort(404)
    form = _dashboard_form()
    period = parse_period(form["from"].data, form["to"].data)
    chosen = presenters.export_table(
        current_user,
        table,
        period,
        product_id=form.product.data or None,
        offer_code=form.offer.data or "",
    )
    if chosen is None:
        abort(404)
    parts = (
        "dashboard",
        table,
        form.offer.data or "",
        f"{period.start:%Y%m%d}-{period.end:%Y%m%d}",
    )
    return csv_response(
        "-".join(part for part in parts if part) + ".csv", chosen["header"], chosen["rows"]
    )
