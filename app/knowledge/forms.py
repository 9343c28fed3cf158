"""WTForms for the knowledge pages. They carry input only: the services check every rule and the
views place the services' field errors next to these fields (apply_field_errors)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from ..i18n import _l
from .models import ArticleStatus


class ServiceChecked(SelectField):
    """A select whose value the service checks (so an unknown value is a field message, not a
    WTForms 'Not a valid choice')."""

    def pre_validate(self, form) -> None:
        return None


class ArticleForm(FlaskForm):
    title = StringField(_l("Title"))
    body = TextAreaField(
        _l("Article (Markdown)"),
        description=_l(
            "Headings, lists, links and code blocks are kept; scripts and styles are removed."
        ),
    )
    status = ServiceChecked(
        _l("State"),
        choices=[
            (ArticleStatus.DRAFT.value, _l("Draft")),
            (ArticleStatus.PUBLISHED.value, _l("Published")),
        ],
        description=_l("Drafts are only seen by support agents, catalog and product managers."),
    )
    product_id = ServiceChecked(_l("Digital product"), choices=[])
    offer_codes = StringField(
        _l("Offers this article helps with"),
        description=_l("Offer codes, separated by commas; start typing for suggestions."),
        render_kw={
            "list": "article-offer-codes",
            "autocomplete": "off",
            "data-offer-suggest": "several",
        },
    )
    version = HiddenField()  # the version the writer opened: the optimistic lock


class FeedbackForm(FlaskForm):
    helpful = HiddenField()  # the pressed button ("yes" or "no") carries the value
