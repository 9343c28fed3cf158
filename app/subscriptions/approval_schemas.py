"""Marshmallow schemas of the approvals API: decisions, what waits for the caller, policies."""

from marshmallow import Schema, fields, validate


class DecisionSchema(Schema):
    decision = fields.Str(required=True, validate=validate.OneOf(("approve", "reject")))
    comment = fields.Str(load_default="", validate=validate.Length(max=2000))
    version = fields.Int(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "The step's version you read; refused with 409 if it changed."},
    )


class ApproverSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    email = fields.Str()


class ApprovalDecisionSchema(Schema):
    decision = fields.Str()
    comment = fields.Str()
    decided_at = fields.DateTime()
    decided_by = fields.Nested(ApproverSchema, allow_none=True)
    on_behalf_of = fields.Nested(ApproverSchema, allow_none=True)


class ApprovalStepSchema(Schema):
    id = fields.Int()
    order_id = fields.Int()
    subscription_id = fields.Int()
    offer_code = fields.Str()
    offer_name = fields.Str()
    requested_by = fields.Nested(ApproverSchema, allow_none=True)
    price = fields.Str()
    currency = fields.Str()
    billing_period = fields.Str()
    sequence = fields.Int()
    name = fields.Str()
    status = fields.Str()
    mode = fields.Str(metadata={"description": "one: one approval passes it; all: every asked"})
    note = fields.Str(metadata={"description": "Why it was skipped, auto-approved or routed"})
    asked = fields.List(fields.Nested(ApproverSchema))
    on_behalf_of = fields.Nested(
        ApproverSchema,
        allow_none=True,
        metadata={"description": "The approver the caller stands in for (a delegation)"},
    )
    decisions = fields.List(fields.Nested(ApprovalDecisionSchema))
    started_at = fields.DateTime(allow_none=True)
    version = fields.Int()


class ApprovalListSchema(Schema):
    items = fields.List(fields.Nested(ApprovalStepSchema))


class ApproverEntrySchema(Schema):
    kind = fields.Str(validate=validate.OneOf(("group_managers", "approver_group", "user")))
    group = fields.Str()
    email = fields.Str()


class PolicyStepSchema(Schema):
    name = fields.Str()
    approvers = fields.List(fields.Raw(), metadata={"description": "ApproverEntry objects"})
    require = fields.Str(validate=validate.OneOf(("one", "all")))
    condition = fields.Str(metadata={"description": "e.g. price_monthly > 100"})
    fallback = fields.Raw(metadata={"description": "An ApproverEntry asked when nobody else can"})


class ApprovalPolicySchema(Schema):
    steps = fields.List(
        fields.Raw(), load_default=list, metadata={"description": "PolicyStep objects"}
    )
    auto_approve = fields.Str(load_default="", allow_none=True)
    reminder_hours = fields.Raw(load_default=None, allow_none=True)
    escalation_hours = fields.Raw(load_default=None, allow_none=True)
    on_exceed = fields.Str(load_default="refuse")
    version = fields.Int(strict=True, load_default=None, allow_none=True)
    scope = fields.Str(dump_only=True)
    offer_code = fields.Str(dump_only=True, allow_none=True)
    inherited = fields.Bool(
        dump_only=True,
        metadata={"description": "The policy in force comes from a category or the default"},
    )
