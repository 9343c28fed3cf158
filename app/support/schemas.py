"""Marshmallow schemas for the support API. What a consumer sees is what the services hand over:
messages are filtered (no internal notes) before they are dumped."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..inputs import IdField


class SupportRequestCreateSchema(Schema):
    subscription_id = IdField(required=True)
    request_type = fields.Str(required=True, metadata={"description": "question or issue"})
    priority = fields.Str(required=True, metadata={"description": "critical, high, medium or low"})
    subject = fields.Str(required=True)
    description = fields.Str(required=True)


class SupportMessageCreateSchema(Schema):
    body = fields.Str(required=True)
    internal = fields.Bool(load_default=False, metadata={"description": "agents only"})


class SupportTransitionSchema(Schema):
    to = fields.Str(
        required=True,
        metadata={"description": "new, in_progress, waiting_on_consumer, resolved or closed"},
    )
    reason = fields.Str(load_default="", metadata={"description": "a public message"})
    version = IdField(
        load_default=None,
        allow_none=True,
        metadata={"description": "the version you saw; a stale one is refused with 409"},
    )


class SupportPersonSchema(Schema):
    id = fields.Int()
    name = fields.Str()


class SupportSlaSchema(Schema):
    paused = fields.Bool()
    response_left = fields.Int(
        allow_none=True, metadata={"description": "seconds; negative when late"}
    )
    resolution_left = fields.Int(allow_none=True)
    response_breached = fields.Bool()
    resolution_breached = fields.Bool()


class SupportRequestSchema(Schema):
    id = fields.Int()
    subscription_id = fields.Int()
    group_id = fields.Int()
    request_type = fields.Str()
    priority = fields.Str()
    subject = fields.Str()
    description = fields.Str()
    status = fields.Str()
    tier = fields.Int()
    version = fields.Int()
    assignee = fields.Nested(SupportPersonSchema, allow_none=True)
    requester = fields.Nested(SupportPersonSchema, allow_none=True)
    incident_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()
    first_response_due = fields.DateTime(allow_none=True)
    resolution_due = fields.DateTime(allow_none=True)
    first_response_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    satisfaction = fields.Int(allow_none=True)
    sla = fields.Nested(SupportSlaSchema)


class SupportMessageSchema(Schema):
    id = fields.Int()
    author = fields.Nested(SupportPersonSchema, allow_none=True)
    body = fields.Str()
    internal = fields.Bool()
    created_at = fields.DateTime()


class SupportAttachmentSchema(Schema):
    id = fields.Int()
    message_id = fields.Int(allow_none=True)
    filename = fields.Str()
    content_type = fields.Str()
    size = fields.Int()
    url = fields.Str()


class SupportIncidentSummarySchema(Schema):
    id = fields.Int()
    status = fields.Str()
    severity = fields.Int()
    progress = fields.List(fields.Dict())


class SupportRequestDetailSchema(SupportRequestSchema):
    messages = fields.List(fields.Nested(SupportMessageSchema))
    attachments = fields.List(fields.Nested(SupportAttachmentSchema))
    incident = fields.Nested(SupportIncidentSummarySchema, allow_none=True)


class SupportRequestPageSchema(Schema):
    items = fields.List(fields.Nested(SupportRequestSchema))
    page = fields.Int()
    per_page = fields.Int()
    total = fields.Int()
    pages = fields.Int()
