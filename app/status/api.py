"""JSON routes of Publish Service Status under /api/v1: the usage feed, a subscription's status,
KPIs and service notices. Each calls the same service as the HTML pages."""

from __future__ import annotations

from flask import current_app, jsonify, request

from ..api.core import api_user, endpoint, int_arg, json_body, load
from ..errors import ValidationFailed
from ..i18n import _
from .schemas import (
    KpiSchema,
    NoticeChangeSchema,
    NoticeInputSchema,
    NoticeSchema,
    SubscriptionStatusSchema,
    UsageBatchSchema,
    UsageResultSchema,
)
from .services.dashboards import kpi_report
from .services.notices import list_notices, post_notice, require_notice_author, update_notice
from .services.periods import parse_period
from .services.service_status import subscription_status
from .services.usage import record_usage

RANGE = {
    "from": "First day (YYYY-MM-DD or ISO time); default 30 days before `to`.",
    "to": "Last day, included; default now.",
}


def _usage_payload() -> tuple[list, bool]:
    """One row object, or {"records": [...], "atomic": bool}."""
    payload = json_body()
    if not isinstance(payload, dict):
        raise ValidationFailed(
            _("The request body must be a JSON object."),
            fields={"body": [_('Send a usage row or {"records": [...]}.')]},
        )
    if "records" not in payload:
        return [payload], False
    unknown = sorted(set(payload) - {"records", "atomic"})
    if unknown:
        raise ValidationFailed(
            _("Unknown fields in the batch."), fields={name: ["Unknown field."] for name in unknown}
        )
    return payload["records"], payload.get("atomic", False)


@endpoint(
    "/usage",
    "POST",
    summary="Feed usage: one row, or a batch of up to 1,000 (200 all stored, 207 some rejected)",
    tag="status",
    body=UsageBatchSchema,
    response=UsageResultSchema,
)
def status_record_usage():
    rows, atomic = _usage_payload()
    result = record_usage(api_user(), rows, atomic=atomic)
    return jsonify(UsageResultSchema().dump(result)), (207 if result["rejected"] else 200)


@endpoint(
    "/subscriptions/<int:subscription_id>/status",
    summary="A subscription's status page as JSON: usage, KPIs against its contract, notices, warnings",
    tag="status",
    response=SubscriptionStatusSchema,
    query=RANGE,
)
def status_subscription(subscription_id: int):
    period = parse_period(request.args.get("from"), request.args.get("to"))
    result = subscription_status(api_user(), subscription_id, period)
    return jsonify(SubscriptionStatusSchema().dump(result))


@endpoint(
    "/kpis",
    summary="KPIs and flow metrics per product or offer over a date range (consumers: their groups only)",
    tag="status",
    response=KpiSchema,
    query={
        "product": "Digital product id",
        "offer": "Offer code",
        **RANGE,
        "page": "Managers: the page of per-offer figures, from 1 (past the end: the last).",
        "per_page": "Managers: offers per page, 1–100.",
    },
)
def status_kpis():
    user = api_user()
    period = parse_period(request.args.get("from"), request.args.get("to"))
    product, offer = request.args.get("product") or None, request.args.get("offer") or ""
    data = kpi_report(
        user,
        period,
        product_id=product,
        offer_code=offer,
        page=int_arg("page", 1, maximum=100_000),
        per_page=int_arg("per_page", current_app.config["ITEMS_PER_PAGE"], maximum=100),
    )
    return jsonify(KpiSchema().dump(data))


@endpoint(
    "/notices",
    summary="Current and upcoming service notices the caller may see (all=true: past ones too)",
    tag="status",
    response=NoticeSchema(many=True),
    query={"all": "true to include resolved and ended notices (latest 200)"},
)
def status_notices():
    show_all = request.args.get("all", "").lower() in ("1", "true", "yes")
    notices = list_notices(api_user(), current_only=not show_all)
    return jsonify(NoticeSchema(many=True).dump(notices))


@endpoint(
    "/notices",
    "POST",
    summary="Post a service notice (product managers, support agents of tier 2+); subscribers are notified",
    tag="status",
    body=NoticeInputSchema,
    response=NoticeSchema,
    status=201,
)
def status_post_notice():
    require_notice_author(api_user())  # before the body: a refused caller learns no fields
    data = load(NoticeInputSchema())
    notice = post_notice(api_user(), **data)
    return jsonify(NoticeSchema().dump(notice)), 201


@endpoint(
    "/notices/<int:notice_id>/updates",
    "POST",
    summary="Post an update to a notice, or resolve it (resolve=true); subscribers are notified",
    tag="status",
    body=NoticeChangeSchema,
    response=NoticeSchema,
)
def status_update_notice(notice_id: int):
    require_notice_author(api_user())  # before the body: a refused caller learns no fields
    data = load(NoticeChangeSchema())
    notice = update_notice(api_user(), notice_id, **data)
    return jsonify(NoticeSchema().dump(notice))
