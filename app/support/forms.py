"""WTForms for the support pages. They carry input only: the services check every rule and the
views place the services' field errors next to these fields (apply_field_errors)."""

from __future__ import annotations

import uuid

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..i18n import _l
from ..labels import lazy_capital_label
from .models import IncidentStatus, Priority, RequestType
from .services.opening import PRIORITY_HINTS


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:  # the service names unknown values
        return None


class ServiceChecked(SelectField):
    """A select whose value the service checks (so an unknown value is a field message, not a
    WTForms 'Not a valid choice')."""

    def pre_validate(self, form) -> None:
        return None


class RequestForm(FlaskForm):
    subscription_id = ServiceChecked(_l("Subscription"), choices=[])
    request_type = RadioField(
        _l("Type"),
        choices=[
            (RequestType.QUESTION.value, _l("A question")),
            (RequestType.ISSUE.value, _l("An issue: something is broken")),
        ],
        default=RequestType.QUESTION.value,
        validate_choice=False,
    )
    priority = RadioField(
        _l("Priority"),
        choices=[(priority.value, lazy_capital_label(priority.value)) for priority in Priority],
        default=Priority.MEDIUM.value,
        validate_choice=False,
    )
    subject = StringField(_l("Subject"), description=_l("In a few words, what do you need?"))
    description = TextAreaField(
        _l("Description"),
        description=_l("What happened, what you expected, and what you already tried."),
    )
    attachments = MultipleFileField(_l("Attachments"))
    idempotency_key = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted():  # one key per form shown: sending it twice opens one request
            self.idempotency_key.data = uuid.uuid4().hex


PRIORITY_HINT_TEXT = {priority.value: hint for priority, hint in PRIORITY_HINTS.items()}


class DeflectionForm(FlaskForm):
    subscription_id = HiddenField()
    article_id = HiddenField()
    q = HiddenField()


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Message"))
    kind = HiddenField()  # the pressed button: "reply" (public) or "note" (internal, agents only)
    attachments = MultipleFileField(_l("Attachments"))


class TakeForm(FlaskForm):
    version = HiddenField()


class TransitionForm(FlaskForm):
    to = HiddenField()
    reason = TextAreaField(_l("Message to the consumer (optional)"))
    version = HiddenField()


class AssignForm(FlaskForm):
    assignee_id = ServiceChecked(_l("Assign to"), choices=[])
    version = HiddenField()


class EscalateForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for escalating"), description=_l("Kept as an internal note for the next tier.")
    )
    version = HiddenField()


class IncidentForm(FlaskForm):
    product_id = ServiceChecked(_l("Affected digital product"), choices=[])
    severity = ServiceChecked(
        _l("Severity"),
        choices=[
            ("1", "1 — critical: many users, no workaround"),
            ("2", "2 — major: a key function down"),
            ("3", "3 — minor: degraded, with a workaround"),
            ("4", "4 — low: cosmetic or single user"),
        ],
        default="3",
    )
    title = StringField(_l("Incident title"))
    description = TextAreaField(_l("What operations should know"))


class BacklogForm(FlaskForm):
    product_id = ServiceChecked(_l("Digital product"), choices=[])
    kind = RadioField(
        _l("Kind"),
        choices=[("defect", _l("Defect")), ("feature", _l("Feature request"))],
        default="defect",
        validate_choice=False,
    )
    title = StringField(_l("Backlog item title"))
    description = TextAreaField(_l("Description for the product team"))


class BacklogLinkForm(FlaskForm):
    item_id = ServiceChecked(_l("Existing backlog item"), choices=[])


class RateForm(FlaskForm):
    satisfaction = RadioField(
        _l("How satisfied are you with the support you received?"),
        choices=[
            ("1", "1 — very unsatisfied"),
            ("2", "2"),
            ("3", "3"),
            ("4", "4"),
            ("5", "5 — very satisfied"),
        ],
        validate_choice=False,
    )
    satisfaction_comment = TextAreaField(_l("Comment (optional)"))


class IncidentTransitionForm(FlaskForm):
    to = ServiceChecked(
        _l("Move to"), choices=[(status.value, status.value) for status in IncidentStatus]
    )
    note = StringField(_l("Note (optional)"))
    version = HiddenField()
