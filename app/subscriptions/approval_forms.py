"""WTForms of the approval pages. They carry input only: the services check every rule, and the
views place their field errors next to these fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import Optional

from ..i18n import _l


class DecisionForm(FlaskForm):
    """Approve or reject a step: the pressed button's value is `decision`."""

    decision = HiddenField()
    comment = TextAreaField(_l("Comment (required to reject)"))
    version = HiddenField()
    next = HiddenField()


class WithdrawForm(FlaskForm):
    """Withdraw an order that awaits approval (a confirmed POST)."""


class DelegationForm(FlaskForm):
    to = StringField(_l("Delegate to (e-mail)"))
    starts_on = DateField(_l("First day"), validators=[Optional()])
    ends_on = DateField(_l("Last day"), validators=[Optional()])


class PolicyForm(FlaskForm):
    scope = SelectField(
        _l("Applies to"),
        choices=[
            ("offer", _l("An offer")),
            ("category", _l("A category")),
            ("default", _l("The whole catalog")),
        ],
    )
    target = StringField(_l("Offer code or category"))
    steps = TextAreaField(_l("Steps (YAML)"))
    auto_approve = StringField(_l("Auto-approve when"))
    reminder_hours = StringField(_l("Remind approvers after (hours)"))
    escalation_hours = StringField(_l("Escalate after (hours)"))
    on_exceed = SelectField(
        _l("An order past its group's quota"),
        choices=[
            ("refuse", _l("is refused")),
            ("approve", _l("gets an extra approval by the group's managers")),
        ],
    )
    version = HiddenField()
