"""WTForms for the status pages. The services check every value (dates, products, kinds), so
these forms carry few validators: each problem comes back once, next to its field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField

from ..i18n import _l
from .models import NoticeKind

KIND_LABELS = {
    NoticeKind.OUTAGE.value: _l("Outage"),
    NoticeKind.DEGRADATION.value: _l("Degraded service"),
    NoticeKind.MAINTENANCE.value: _l("Planned maintenance"),
}


class RangeForm(FlaskForm):
    """The date range of a status page (GET, so no CSRF token). Fields `from` and `to` are set
    below because `from` is a Python keyword; read them as form['from'] and form['to']."""

    class Meta:
        csrf = False


setattr(  # noqa: B010 - `from` cannot be written as a class attribute
    RangeForm,
    "from",
    StringField(_l("From"), render_kw={"type": "date"}, description=_l("First day shown.")),
)
setattr(  # noqa: B010
    RangeForm,
    "to",
    StringField(_l("To"), render_kw={"type": "date"}, description=_l("Last day, included.")),
)


class DashboardForm(RangeForm):
    product = SelectField(_l("Digital product"), choices=[], validate_choice=False)
    offer = SelectField(_l("Offer"), choices=[], validate_choice=False)


class NoticeForm(FlaskForm):
    product_id = SelectField(_l("Digital product"), choices=[], validate_choice=False)
    kind = SelectField(
        _l("Kind"), choices=[("", "— choose —"), *KIND_LABELS.items()], validate_choice=False
    )
    title = StringField(_l("Title"))
    message = TextAreaField(
        _l("Message"), description=_l("What consumers notice, and what they can do meanwhile.")
    )
    starts_at = StringField(
        _l("Starts (UTC)"),
        render_kw={"type": "datetime-local"},
        description=_l("Date and time in UTC."),
    )
    ends_at = StringField(
        _l("Expected end (UTC)"),
        render_kw={"type": "datetime-local"},
        description=_l("Optional. Leave empty while unknown."),
    )
    critical = BooleanField(
        _l("Critical"),
        description=_l(
            "Every subscriber is told at once in the portal and by e-mail, whatever they chose."
        ),
    )


class NoticeUpdateForm(FlaskForm):
    message = TextAreaField(_l("Update"))
    ends_at = StringField(
        _l("New expected end (UTC)"),
        render_kw={"type": "datetime-local"},
        description=_l("Optional. When resolving, the actual end (now if empty)."),
    )
    post = SubmitField(_l("Post update"))
    resolve = SubmitField(_l("Resolve"))
