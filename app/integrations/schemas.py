"""Marshmallow schemas of the integrations API. The secret is load-only: no dump has it, except
the one answer to a creation where the portal generated it."""

from marshmallow import Schema, fields, validate

from .models import IntegrationKind, MessageFormat
from .services.webhooks import EVENTS


class IntegrationInputSchema(Schema):
    name = fields.Str(required=True, metadata={"description": "Unique, up to 120 characters."})
    kind = fields.Str(required=True, metadata={"enum": [kind.value for kind in IntegrationKind]})
    url = fields.Str(
        required=True,
        metadata={"description": "http(s), no credentials, host in INTEGRATION_ALLOWED_HOSTS."},
    )
    secret = fields.Str(
        load_only=True,
        metadata={"description": "Write-only. Omitted on creation: one is generated, shown once."},
    )
    timeout_seconds = fields.Int(strict=True, metadata={"description": "1 to 60; default 10."})
    max_attempts = fields.Int(strict=True, metadata={"description": "1 to 10; default 5."})
    format = fields.Str(metadata={"enum": [item.value for item in MessageFormat]})


class IntegrationSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    kind = fields.Str()
    url = fields.Str()
    timeout_seconds = fields.Int()
    max_attempts = fields.Int()
    format = fields.Str()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class IntegrationCreatedSchema(IntegrationSchema):
    secret = fields.Str(
        allow_none=True,
        metadata={"description": "The generated secret, shown this once; null when given."},
    )


class WebhookInputSchema(Schema):
    integration = fields.Str(required=True, metadata={"description": "An integration's name."})
    events = fields.List(
        fields.Str(validate=validate.Length(max=60)),
        required=True,
        metadata={"description": "Any of: " + ", ".join(EVENTS)},
    )


class IntegrationRefSchema(Schema):
    id = fields.Int()
    name = fields.Str()


class WebhookSchema(Schema):
    id = fields.Int()
    integration = fields.Nested(IntegrationRefSchema)
    events = fields.List(fields.Str())
    created_at = fields.DateTime()


class AttemptSchema(Schema):
    attempt = fields.Int()
    attempted_at = fields.DateTime()
    status_code = fields.Int(allow_none=True)
    duration_ms = fields.Int()
    response_excerpt = fields.Str()
    error = fields.Str()


class DeliverySchema(Schema):
    id = fields.Int()
    event = fields.Str()
    status = fields.Str()
    attempts = fields.Int()
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    last_error = fields.Str()
    log = fields.List(fields.Nested(AttemptSchema))
