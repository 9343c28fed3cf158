"""The API's notification preferences: one property per kind, its value a channel."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .services.preferences import CHANNELS, KINDS

_DESCRIPTION = (
    "in_app, email, both, digest (one e-mail a day) or none. Critical service notices ignore "
    "none and digest: they arrive in-app and by e-mail at once."
)

NotificationPreferencesSchema = Schema.from_dict(
    {
        kind: fields.String(
            validate=validate.OneOf(CHANNELS), metadata={"description": _DESCRIPTION}
        )
        for kind in KINDS
    },
    name="NotificationPreferences",
)
