"""Forms of the admin pages; the rules are checked by the services."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField, URLField
from wtforms.validators import Optional

from ..accounts.forms import MultiCheckboxField
from ..i18n import _l
from .models import IntegrationKind, MessageFormat
from .services.webhooks import EVENTS


class IntegrationForm(FlaskForm):
    name = StringField(_l("Name"))
    kind = SelectField(_l("Kind"), choices=[(kind.value, kind.value) for kind in IntegrationKind])
    url = URLField(
        _l("URL"),
        description=_l(
            "A webhook: where steps and events are posted. AWX: its base URL, "
            "e.g. https://awx.example.com (the API under /api/v2)."
        ),
    )
    secret = PasswordField(
        _l("Secret"),
        description=_l(
            "A webhook: the signing secret (empty: one is generated). AWX: an OAuth2 "
            "token of an AWX user who may launch the job templates."
        ),
    )
    timeout_seconds = IntegerField(_l("Timeout (seconds)"), default=10, validators=[Optional()])
    max_attempts = IntegerField(_l("Max attempts"), default=5, validators=[Optional()])
    format = SelectField(
        _l("Message format"), choices=[(item.value, item.value) for item in MessageFormat]
    )


class WebhookForm(FlaskForm):
    integration = SelectField(_l("Integration"), choices=[])
    events = MultiCheckboxField(_l("Events"), choices=[(event, event) for event in EVENTS])
