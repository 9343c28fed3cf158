from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from .models import Role


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=500)])
    remember = BooleanField("Remember me")
    next = HiddenField()


class UserForm(FlaskForm):
    # The service checks these fields, so every problem is reported in one pass.
    email = EmailField("E-mail", validators=[Length(max=254)])
    name = StringField("Name", validators=[Length(max=120)])
    password = PasswordField(
        "Password",
        validators=[Optional(), Length(max=500)],
        description="At least 8 characters. Leave empty to keep the current password.",
    )
    roles = MultiCheckboxField("Roles", choices=[(role.value, role.label) for role in Role])
    support_tier = IntegerField(
        "Support tier",
        validators=[Optional(), NumberRange(min=1, max=3)],
        description="For support agents: 1 help desk, 2 technical support, 3 development.",
    )
    groups = MultiCheckboxField("Consumer groups", coerce=int)


class GroupForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])


class GroupMembersForm(FlaskForm):
    members = MultiCheckboxField("Members", coerce=int)


class TokenForm(FlaskForm):
    label = StringField(
        "Label",
        validators=[DataRequired(), Length(max=120)],
        description="What the token is for, e.g. 'usage feed'.",
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(min=8, max=500)]
    )


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with its CSRF token."""
