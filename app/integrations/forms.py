"""Forms of the admin pages; the rules are checked by the services."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField, URLField
from wtforms.validators import Optional

from ..accounts.forms import MultiCheckboxField
from .models import IntegrationKind, MessageFormat
from .services.webhooks import EVENTS


class IntegrationForm(FlaskForm):
    name = StringField("Name")
    kind = SelectField("Kind", choices=[(kind.value, kind.value) for kind in IntegrationKind])
    url = URLField(
        "URL",
        description="A webhook: where steps and events are posted. AWX: its base URL, "
        "e.g. https://awx.example.com (the API under /api/v2).",
    )
    secret = PasswordField(
        "Secret",
        description="A webhook: the signing secret (empty: one is generated). AWX: an OAuth2 "
        "token of an AWX user who may launch the job templates.",
    )
    timeout_seconds = IntegerField("Timeout (seconds)", default=10, validators=[Optional()])
    max_attempts = IntegerField("Max attempts", default=5, validators=[Optional()])
    format = SelectField(
        "Message format", choices=[(item.value, item.value) for item in MessageFormat]
    )


class WebhookForm(FlaskForm):
    integration = SelectField("Integration", choices=[])
    events = MultiCheckboxField("Events", choices=[(event, event) for event in EVENTS])
