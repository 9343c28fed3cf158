"""WTForms for the status pages. The services check every value (dates, products, kinds), so
these forms carry few validators: each problem comes back once, next to its field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField

from ..i18n import _l
from .models import NoticeKind

KIND_LABELS = {
    NoticeKind.OUTAGE.value: "Outage",
    NoticeKind.DEGRADATION.value: "Degraded service",
    NoticeKind.MAINTENANCE.value: "Planned maintenance",
}


class RangeForm(FlaskForm):
    """The date range of a status page (GET, so no CSRF token). Fields `from` and `to` are set
    below because `from` is a Python keyword; read them as form['from'] and form['to']."""

    class Meta:
        csrf = False


setattr(  # noqa: B010 - `from` cannot be written as a class attribute
    RangeForm,
    "from",
    StringField("From", render_kw={"type": "date"}, description="First day (YYYY-MM-DD)."),
)
setattr(  # noqa: B010
    RangeForm,
    "to",
    StringField("To", render_kw={"type": "date"}, description="Last day, included."),
)


class DashboardForm(RangeForm):
    product = SelectField("Digital product", choices=[], validate_choice=False)
    offer = SelectField("Offer", choices=[], validate_choice=False)


class NoticeForm(FlaskForm):
    product_id = SelectField("Digital product", choices=[], validate_choice=False)
    kind = SelectField(
        "Kind", choices=[("", "— choose —"), *KIND_LABELS.items()], validate_choice=False
    )
    title = StringField("Title")
    message = TextAreaField(
        "Message", description="What consumers notice, and what they can do meanwhile."
    )
    starts_at = StringField(
        "Starts (UTC)", render_kw={"type": "datetime-local"}, description="YYYY-MM-DD HH:MM, UTC."
    )
    ends_at = StringField(
        "Expected end (UTC)",
        render_kw={"type": "datetime-local"},
        description="Optional. Leave empty while unknown.",
    )
    critical = BooleanField(
        _l("Critical"),
        description=_l(
            "Every subscriber is told at once in the portal and by e-mail, whatever they chose."
        ),
    )


class NoticeUpdateForm(FlaskForm):
    message = TextAreaField("Update")
    ends_at = StringField(
        "New expected end (UTC)",
        render_kw={"type": "datetime-local"},
        description="Optional. When resolving, the actual end (now if empty).",
    )
    post = SubmitField("Post update")
    resolve = SubmitField("Resolve")
