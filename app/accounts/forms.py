from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..i18n import LANGUAGE_NAMES, TIMEZONES, _, _l
from ..labels import lazy_capital_label
from .models import Role


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=500)])
    remember = BooleanField(_l("Remember me"))
    next = HiddenField()


class UserForm(FlaskForm):
    # The service checks these fields, so every problem is reported in one pass.
    email = EmailField(_l("E-mail"), validators=[Length(max=254)])
    name = StringField(_l("Name"), validators=[Length(max=120)])
    password = PasswordField(
        _l("Password"),
        validators=[Optional(), Length(max=500)],
        description=_l("At least 8 characters. Leave empty to keep the current password."),
    )
    roles = MultiCheckboxField(
        _l("Roles"), choices=[(role.value, lazy_capital_label(role.value)) for role in Role]
    )
    support_tier = IntegerField(
        _l("Support tier"),
        validators=[Optional(), NumberRange(min=1, max=3)],
        description=_l("For support agents: 1 help desk, 2 technical support, 3 development."),
    )
    groups = MultiCheckboxField(_l("Consumer groups"), coerce=int)


class GroupForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])


class GroupMembersForm(FlaskForm):
    members = MultiCheckboxField(_l("Members"), coerce=int)


class GroupManagersForm(FlaskForm):
    managers = MultiCheckboxField(
        _l("Managers"),
        coerce=int,
        description=_l(
            "Managers see the group's subscriptions and requests and may order for its members."
        ),
    )


class TokenForm(FlaskForm):
    label = StringField(
        _l("Label"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("What the token is for, e.g. 'usage feed'."),
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=8, max=500)]
    )


class PreferencesForm(FlaskForm):
    # The service checks the values, so an unknown one gets the service's message.
    locale = SelectField(
        _l("Language"),
        validate_choice=False,
        description=_l("The portal's language. Unset: your browser's language."),
    )
    timezone = SelectField(
        _l("Time zone"),
        validate_choice=False,
        description=_l("Times are shown in this zone. Unset: UTC."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = [("", _("Your browser's language"))] + list(LANGUAGE_NAMES.items())
        self.timezone.choices = [("", "UTC")] + [(name, name) for name in TIMEZONES]


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with its CSRF token."""
