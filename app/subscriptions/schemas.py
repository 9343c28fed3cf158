"""Marshmallow schemas of the Consume API: what a request may carry and what a response holds."""

from marshmallow import Schema, fields, validate

from ..inputs import ExactBoolean, IdField

TASK_TARGETS = ("in_progress", "done", "failed", "queued")


# --- requests --------------------------------------------------------------------------------


class SubscribeSchema(Schema):
    offer_id = IdField(required=True)
    options = fields.Dict(keys=fields.Str(), load_default=None, allow_none=True)
    accept_terms = ExactBoolean(required=True)
    group_id = IdField(load_default=None, allow_none=True)
    requested_for = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=254),
        metadata={
            "description": "Order on behalf of a colleague: their e-mail address. They own the "
            "subscription (and its group's approvals and quotas apply); you are its requested_by. "
            "Allowed to a group's managers and to members an admin gave the orders_for_others "
            "permission for the group. 404: nobody by that address in your groups; 403: you may "
            "not order for them. Nothing is written in either case."
        },
    )
    lease_ends_on = fields.Raw(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "For an offer with lease_end_chosen: the day (YYYY-MM-DD) the lease"
            " ends, at 23:59 UTC, from tomorrow to lease_max_days (or lease_days) after today;"
            " absent: lease_days after today. 422 with errors.lease_ends_on for a day in the"
            " past, beyond the maximum or not a date. Ignored for other offers."
        },
    )


class ModifySchema(Schema):
    options = fields.Dict(keys=fields.Str(), load_default=None, allow_none=True)
    target_offer_id = IdField(load_default=None, allow_none=True)
    accept_terms = ExactBoolean(required=True)


class LeaseExtensionSchema(Schema):
    lease_ends_at = fields.Str(
        required=True,
        validate=validate.Length(max=40),
        metadata={
            "description": "ISO date or date-time the lease ends on instead, within its limit."
        },
    )


class TerminateSchema(Schema):
    at = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "ISO date or date-time to end on; empty ends now."},
    )


class TaskTransitionSchema(Schema):
    to = fields.Str(required=True, validate=validate.OneOf(TASK_TARGETS))
    reason = fields.Str(load_default="", validate=validate.Length(max=2000))
    version = fields.Int(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "The task's version you read; refused with 409 if it changed."},
    )


# --- responses -------------------------------------------------------------------------------


class SubscribedOfferSchema(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    revision = fields.Int()


class SubscriptionGroupSchema(Schema):
    id = fields.Int()
    name = fields.Str()


class SubscriptionPersonSchema(Schema):
    email = fields.Str()
    name = fields.Str()


class FulfillmentTaskSchema(Schema):
    id = fields.Int()
    order_id = fields.Int()
    subscription_id = fields.Int()
    sequence = fields.Int()
    name = fields.Str()
    mode = fields.Str()
    group = fields.Nested(SubscriptionGroupSchema, allow_none=True)
    status = fields.Str()
    expected_hours = fields.Float()
    assignee_id = fields.Int(allow_none=True)
    failure_reason = fields.Str()
    created_at = fields.DateTime()
    queued_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    version = fields.Int()


class TaskCallbackSchema(Schema):
    """What a step's receiver reports (documented; the service checks it)."""

    status = fields.Str(required=True, metadata={"enum": ["running", "done", "failed"]})
    message = fields.Str()
    outputs = fields.Dict(keys=fields.Str(), values=fields.Str())


class QueuedFulfillmentTaskSchema(FulfillmentTaskSchema):
    order_type = fields.Str(attribute="order.order_type")
    offer = fields.Nested(SubscribedOfferSchema, attribute="order.subscription.offer")
    consumer_group = fields.Nested(SubscriptionGroupSchema, attribute="order.subscription.group")


class OrderProgressSchema(Schema):
    done = fields.Int()
    total = fields.Int()
    percent = fields.Int()
    current_step = fields.Str(allow_none=True)


class OrderApprovalStepSchema(Schema):
    id = fields.Int()
    sequence = fields.Int()
    name = fields.Str()
    status = fields.Str(
        metadata={
            "enum": [
                "waiting",
                "pending",
                "approved",
                "rejected",
                "skipped",
                "auto_approved",
                "cancelled",
            ]
        }
    )
    note = fields.Str(
        metadata={"description": "Why it was skipped or auto-approved, or how it was routed"}
    )
    asked = fields.List(fields.Str(), metadata={"description": "Who can approve it now"})
    decided_by = fields.List(fields.Str())


class ServiceOrderSchema(Schema):
    id = fields.Int()
    subscription_id = fields.Int()
    order_type = fields.Str()
    status = fields.Str()
    target_offer_id = fields.Int(allow_none=True)
    options = fields.Dict()
    created_at = fields.DateTime()
    scheduled_for = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    failure_reason = fields.Str()
    progress = fields.Nested(OrderProgressSchema)
    tasks = fields.List(fields.Nested(FulfillmentTaskSchema))
    approval_steps = fields.List(fields.Nested(OrderApprovalStepSchema))


class ServiceContractSchema(Schema):
    id = fields.Int()
    subscription_id = fields.Int()
    version = fields.Int()
    status = fields.Str()
    offer_id = fields.Int()
    offer_code = fields.Str()
    offer_revision = fields.Int()
    price = fields.Decimal(as_string=True)
    currency = fields.Str()
    billing_period = fields.Str()
    snapshot = fields.Dict(metadata={"description": "What was agreed, frozen."})
    agreed_by = fields.Str(allow_none=True, attribute="agreed_by.email")
    agreed_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)


class PendingLeaseExtensionSchema(Schema):
    order_id = fields.Int()
    status = fields.Str(metadata={"enum": ["awaiting_approval"]})
    lease_ends_at = fields.DateTime(metadata={"description": "The end asked for."})


class SubscriptionSchema(Schema):
    id = fields.Int()
    offer = fields.Nested(SubscribedOfferSchema)
    group = fields.Nested(SubscriptionGroupSchema)
    owner = fields.Nested(
        SubscriptionPersonSchema,
        allow_none=True,
        metadata={"description": "Who the subscription is for (the beneficiary)."},
    )
    requested_by = fields.Nested(
        SubscriptionPersonSchema,
        allow_none=True,
        metadata={"description": "Who ordered it: the owner, or someone ordering for them."},
    )
    parent_id = fields.Int(allow_none=True)
    status = fields.Str()
    options = fields.Dict()
    failure_reason = fields.Str()
    created_at = fields.DateTime()
    active_since = fields.DateTime(allow_none=True)
    terminated_at = fields.DateTime(allow_none=True)
    terminates_on = fields.DateTime(allow_none=True)
    lease_ends_at = fields.DateTime(allow_none=True)
    lease_latest_end = fields.DateTime(
        allow_none=True, metadata={"description": "The latest end an extension may choose."}
    )
    lease_extension = fields.Nested(
        PendingLeaseExtensionSchema,
        allow_none=True,
        metadata={
            "description": "The lease extension waiting for approval (one subscription's"
            " answers only; absent in lists)."
        },
    )
    contract_id = fields.Int(allow_none=True)
    current_order = fields.Nested(ServiceOrderSchema, allow_none=True)
    next_actions = fields.List(fields.Str())


class OrderedSubscriptionSchema(SubscriptionSchema):
    """The answer to an order: the subscription and the order this request made."""

    order = fields.Nested(ServiceOrderSchema)


class SubscriptionDetailSchema(SubscriptionSchema):
    contracts = fields.List(fields.Nested(ServiceContractSchema))
    orders = fields.List(fields.Nested(ServiceOrderSchema))
    members = fields.List(fields.Nested(SubscriptionSchema))


class SubscriptionPageSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema))
    page = fields.Int()
    pages = fields.Int()
    per_page = fields.Int()
    total = fields.Int()


class FulfillmentTaskPageSchema(Schema):
    items = fields.List(fields.Nested(QueuedFulfillmentTaskSchema))
    page = fields.Int()
    pages = fields.Int()
    per_page = fields.Int()
    total = fields.Int()


class QuotaUsageSchema(Schema):
    id = fields.Int()
    kind = fields.Str(metadata={"enum": ["offer", "category", "budget"]})
    offer_code = fields.Str(allow_none=True)
    category_id = fields.Int(allow_none=True)
    name = fields.Str(metadata={"description": "The offer's or category's name; '' for a budget."})
    limit = fields.Raw(
        metadata={
            "description": "Most active subscriptions, or the monthly budget (a decimal string)."
        }
    )
    used = fields.Raw(
        metadata={
            "description": "Held subscriptions counted (requested to terminating), or the sum of "
            "their monthly-equivalent prices (monthly; yearly ÷ 12; one-time not counted)."
        }
    )
    left = fields.Raw()
    currency = fields.Str(allow_none=True, metadata={"description": "A budget's one currency."})
    text = fields.Str(metadata={"example": "2 of 5 left for Engineering"})


class GroupQuotasSchema(Schema):
    group = fields.Nested(SubscriptionGroupSchema)
    items = fields.List(fields.Nested(QuotaUsageSchema))
