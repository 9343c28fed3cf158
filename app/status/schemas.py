"""Marshmallow schemas of the status API: usage feeds, notices, a subscription's status, KPIs."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, fields


def _plain(value):
    """Decimals as strings (money keeps its cents), everything else as it is, recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


# --- usage ---------------------------------------------------------------------------------------


class UsageRowSchema(Schema):
    subscription_id = fields.Int(required=True)
    metric = fields.Str(
        required=True, metadata={"description": "A known metric key, e.g. gb_transferred."}
    )
    quantity = fields.Float(required=True, metadata={"description": "Zero or more."})
    period_start = fields.DateTime(required=True)
    period_end = fields.DateTime(required=True, metadata={"description": "After period_start."})


class UsageBatchSchema(Schema):
    """Either one row (the fields of UsageRow at the top level) or a batch of up to 1,000 rows."""

    records = fields.List(
        fields.Nested(UsageRowSchema), metadata={"description": "1 to 1,000 rows."}
    )
    atomic = fields.Bool(
        load_default=False,
        metadata={"description": "true: refuse the whole batch (422) when any row is bad."},
    )


class UsageResultSchema(Schema):
    stored = fields.Int()
    rejected = fields.Int()
    errors = fields.Dict(
        keys=fields.Str(),
        values=fields.List(fields.Str()),
        metadata={"description": "Messages per index of a rejected row."},
    )


# --- notices ---------------------------------------------------------------------------------


class NoticeUpdateSchema(Schema):
    id = fields.Int()
    message = fields.Str()
    created_at = fields.DateTime()


class NoticeSchema(Schema):
    id = fields.Int()
    product_id = fields.Int()
    product = fields.Function(lambda notice: notice.product.name)
    kind = fields.Str(metadata={"description": "outage, degradation or maintenance"})
    title = fields.Str()
    message = fields.Str()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime(
        allow_none=True, metadata={"description": "Expected, or actual once resolved."}
    )
    resolved_at = fields.DateTime(allow_none=True)
    critical = fields.Bool(
        metadata={"description": "Told to every subscriber in-app and by e-mail at once."}
    )
    created_at = fields.DateTime()
    updates = fields.List(fields.Nested(NoticeUpdateSchema))


class NoticeInputSchema(Schema):
    """Checked by the service, which names every bad field at once."""

    product_id = fields.Raw(required=True, metadata={"type": "integer"})
    kind = fields.Raw(
        required=True, metadata={"type": "string", "enum": ["outage", "degradation", "maintenance"]}
    )
    title = fields.Raw(required=True, metadata={"type": "string", "maxLength": 200})
    message = fields.Raw(load_default="", metadata={"type": "string"})
    starts_at = fields.Raw(required=True, metadata={"type": "string", "format": "date-time"})
    ends_at = fields.Raw(
        load_default=None, allow_none=True, metadata={"type": "string", "format": "date-time"}
    )
    critical = fields.Raw(
        load_default=False,
        metadata={
            "type": "boolean",
            "description": "Told to every subscriber in-app and by e-mail at once, whatever "
            "they chose for service notices.",
        },
    )


class NoticeChangeSchema(Schema):
    message = fields.Raw(required=True, metadata={"type": "string"})
    ends_at = fields.Raw(
        load_default=None, allow_none=True, metadata={"type": "string", "format": "date-time"}
    )
    resolve = fields.Bool(load_default=False)


# --- a subscription's status -------------------------------------------------------------------


class TaskSchema(Schema):
    sequence = fields.Int()
    name = fields.Str()
    mode = fields.Str()
    status = fields.Str()
    queued_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)


class OrderSchema(Schema):
    id = fields.Int()
    order_type = fields.Str()
    status = fields.Str()
    created_at = fields.DateTime()
    scheduled_for = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    tasks = fields.List(fields.Nested(TaskSchema))


class ContractSchema(Schema):
    id = fields.Int()
    version = fields.Int()
    status = fields.Str()
    offer_code = fields.Str()
    offer_revision = fields.Int()
    price = fields.Decimal(as_string=True)
    currency = fields.Str()
    billing_period = fields.Str()
    agreed_at = fields.DateTime()
    service_levels = fields.Function(
        lambda contract: (contract.snapshot or {}).get("service_levels") or {}
    )


class StatusSubscriptionSchema(Schema):
    id = fields.Int()
    offer_id = fields.Int()
    offer_code = fields.Str()
    offer_name = fields.Function(lambda subscription: subscription.offer.name)
    group = fields.Function(lambda subscription: subscription.group.name)
    status = fields.Str()
    options = fields.Dict()
    created_at = fields.DateTime()
    active_since = fields.DateTime(allow_none=True)
    terminated_at = fields.DateTime(allow_none=True)


class OpenRequestSchema(Schema):
    id = fields.Int()
    subject = fields.Str()
    request_type = fields.Str()
    priority = fields.Str()
    status = fields.Str()
    created_at = fields.DateTime()


class SubscriptionStatusSchema(Schema):
    subscription = fields.Nested(StatusSubscriptionSchema)
    contract = fields.Nested(ContractSchema, allow_none=True)
    period = fields.Function(
        lambda status: {
            "from": status["period"].start.isoformat(),
            "to": status["period"].end.isoformat(),
        }
    )
    orders = fields.List(fields.Nested(OrderSchema))
    usage = fields.Function(
        lambda status: {
            metric: [{"day": day, "quantity": value} for day, value in points]
            for metric, points in status["usage"].items()
        },
        metadata={"description": "Daily totals per metric: {metric: [{day, quantity}]}"},
    )
    quotas = fields.Dict(keys=fields.Str(), values=fields.Float())
    kpis = fields.Function(
        lambda status: _plain(status["kpis"]),
        metadata={"description": "null where there is no data"},
    )
    notices = fields.List(fields.Nested(NoticeSchema))
    open_requests = fields.List(fields.Nested(OpenRequestSchema))
    warnings = fields.List(fields.Dict())


# --- KPIs -------------------------------------------------------------------------------------


class KpiSchema(Schema):
    """The dashboard's figures; a null figure means there was nothing to measure."""

    period = fields.Dict()
    subscriptions = fields.Dict(
        metadata={"description": "active_now and per_month [{month, new, terminated, active}]"}
    )
    revenue = fields.Function(
        lambda data: _plain(data["revenue"]),
        allow_none=True,
        metadata={"description": "mrr, margin, currency, by_currency; null for consumers"},
    )
    usage = fields.Dict(keys=fields.Str(), values=fields.Float())
    fulfillment = fields.Dict()
    support = fields.Dict()
    deflection_pct = fields.Float(allow_none=True)
    availability_pct = fields.Float(allow_none=True)
    flow = fields.Dict()
    offers = fields.List(
        fields.Dict(),
        metadata={"description": "One page of the figures per offer, busiest first (managers)."},
    )
    page = fields.Int(metadata={"description": "Managers: the page of offers shown."})
    per_page = fields.Int(metadata={"description": "Managers: offers per page."})
    pages = fields.Int(metadata={"description": "Managers: pages of offers."})
    total = fields.Int(metadata={"description": "Managers: live offers in all."})
