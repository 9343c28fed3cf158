"""WTForms for the Consume pages. They only carry input: every rule is checked by the services
(subscribe, modify, terminate, transition_task), whose field errors the views place next to the
fields below."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import url_for
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, StopValidation
from wtforms.widgets import DateInput, NumberInput

from ..accounts.forms import MultiCheckboxField
from ..i18n import _, _l, format_day
from .services import lease_terms

OPTION_PREFIX = "option_"


class MarkRequired:
    """Marks a field required (asterisk, `required` attribute) without validating it here:
    the service checks required options and reports them keyed `options.<key>`."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:  # noqa: D401 - a WTForms validator
        return None


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def is_form_key(value: str | None) -> bool:
    """Whether `value` looks like a key `new_idempotency_key` made."""
    return bool(value) and re.fullmatch(r"[0-9a-f]{32}", value) is not None


def _sourced_field(option: dict, default: Any, validators: list, entries) -> Any:
    """A choice field taking a choice list: a select of its entries when the list is short
    (`entries`), else a text input searching the list as one types (a datalist filled from the
    search endpoint; the server checks the value is an entry)."""
    label, help_text = option.get("label") or option["key"], option.get("help") or ""
    if entries is not None:
        choices = [(entry.value, entry.label or entry.value) for entry in entries]
        choices.insert(0, ("", _("— choose —")))
        return SelectField(
            label,
            choices=choices,
            default=default or "",
            description=help_text,
            validators=validators,
            validate_choice=False,
        )
    return StringField(
        label,
        default=default or "",
        description=help_text or _("Type to search the list."),
        validators=validators,
        render_kw={
            "list": f"{OPTION_PREFIX}{option['key']}-list",
            "autocomplete": "off",
            "data-search-url": url_for("catalog.choice_list_search", name=option["choice_list"]),
        },
    )


def _option_field(option: dict, current: Any, sourced: dict | None = None) -> Any:
    """One WTForms field for an option definition of the offer's order form; `sourced` holds
    the entries of the short choice lists it takes (None for a long one)."""
    label = option.get("label") or option["key"]
    help_text = option.get("help") or ""
    validators = [MarkRequired()] if option.get("required") and option["type"] != "boolean" else []
    default = current if current is not None else option.get("default")
    kind = option["type"]
    if kind == "choice" and option.get("choice_list"):
        return _sourced_field(
            option, default, validators, (sourced or {}).get(option["choice_list"])
        )
    if kind == "boolean":
        return BooleanField(label, default=bool(default), description=help_text)
    if kind == "number":
        attrs: dict[str, Any] = {"step": "any"}
        if option.get("min") is not None:
            attrs["min"] = f"{option['min']:g}"
        if option.get("max") is not None:
            attrs["max"] = f"{option['max']:g}"
        if isinstance(default, float) and default.is_integer():
            default = int(default)
        return StringField(
            label,
            default="" if default is None else str(default),
            description=help_text,
            validators=validators,
            widget=NumberInput(),
            render_kw=attrs,
        )
    if kind == "choice":
        choices = [(choice, choice) for choice in option.get("choices") or []]
        if not option.get("required") or default in (None, ""):
            choices.insert(0, ("", "— choose —"))
        return SelectField(
            label,
            choices=choices,
            default=default or "",
            description=help_text,
            validators=validators,
            validate_choice=False,
        )
    max_length = int(option.get("max_length") or 2000)
    return StringField(
        label,
        default=default or "",
        description=help_text,
        validators=validators,
        render_kw={"maxlength": max_length},
    )


class OptionsMixin:
    """Helpers for forms whose fields include the offer's generated option fields."""

    option_keys: list[str] = []

    def option_fields(self) -> list:
        return [self[OPTION_PREFIX + key] for key in self.option_keys]

    def options_data(self) -> dict:
        """The chosen options as the service expects them (booleans as bools, the rest as text)."""
        data = {}
        for key in self.option_keys:
            value = self[OPTION_PREFIX + key].data
            data[key] = value.strip() if isinstance(value, str) else value
        return data

    def field_name_for(self, error_key: str) -> str:
        """Map the service's `options.<key>` error keys to this form's field names."""
        if error_key.startswith("options."):
            key = error_key.split(".", 1)[1]
            if key in self.option_keys:
                return OPTION_PREFIX + key
        return error_key


class OrderForm(OptionsMixin, FlaskForm):
    group_id = SelectField(_l("Order for group"), choices=[], validate_choice=False)
    # shown to those who may order for colleagues: "self" and the colleagues' ids
    requested_for = MultiCheckboxField(
        _l("Order for"),
        choices=[],
        description=_l(
            "Each person ticked gets their own subscription (up to 20 at once): it is theirs, "
            "and you are told of it as the one who ordered."
        ),
    )
    # asked when the offer's orderer chooses the lease's end (lease_terms.py)
    lease_ends_on = StringField(_l("Ends on"), validators=[Length(max=40)], widget=DateInput())
    accept_terms = BooleanField(_l("I accept the terms and conditions"))
    idempotency_key = HiddenField()


class ModifyForm(OptionsMixin, FlaskForm):
    target_offer_id = HiddenField()
    accept_terms = BooleanField(_l("I accept the terms and conditions"))
    idempotency_key = HiddenField()


def _with_options(
    base: type, definitions: list[dict], current: dict | None, sourced: dict | None = None
) -> type:
    current = current or {}
    attrs: dict[str, Any] = {"option_keys": [option["key"] for option in definitions]}
    for option in definitions:
        attrs[OPTION_PREFIX + option["key"]] = _option_field(
            option, current.get(option["key"]), sourced
        )
    return type(base.__name__, (base,), attrs)


def order_form_for(
    offer,
    groups: list,
    *,
    key: str = "",
    beneficiaries: list | None = None,
    sourced: dict | None = None,
    **kwargs,
) -> OrderForm:
    """The order form generated from the offer's option definitions, carrying `key` (the one
    in the form's address) as its idempotency key. `beneficiaries`, (group, members) pairs,
    are the colleagues the user may order for: "Order for" lists them after "Myself"."""
    form = _with_options(OrderForm, offer.options or [], None, sourced)(**kwargs)
    form.group_id.choices = [(str(group.id), group.name) for group in groups]
    form.requested_for.choices = [("self", _("Myself"))] + [
        (str(member.id), f"{member.name} ({group.name})")
        for group, members in beneficiaries or []
        for member in members
    ]
    if not form.is_submitted():
        form.requested_for.data = ["self"]
    if not form.is_submitted():
        form.idempotency_key.data = key if is_form_key(key) else new_idempotency_key()
    if lease_terms.asks_end(offer):
        earliest, default, latest = lease_terms.choice_bounds(offer)
        form.lease_ends_on.render_kw = {"min": earliest.isoformat(), "max": latest.isoformat()}
        form.lease_ends_on.description = _(
            "The subscription ends at 23:59 UTC that day: from %(earliest)s to %(latest)s.",
            earliest=format_day(earliest),
            latest=format_day(latest),
        )
        if not form.lease_ends_on.data:
            form.lease_ends_on.data = default.isoformat()
    return form


class PreviewForm(OptionsMixin, Form):
    """The order form's fields alone, as the offer editor previews them."""


def preview_form_for(definitions: list[dict], sourced: dict | None = None) -> PreviewForm:
    return _with_options(PreviewForm, definitions, None, sourced)(formdata=None)


def modify_form_for(target, current_options: dict, **kwargs) -> ModifyForm:
    """The change form for a target offer, filled with the subscription's current options."""
    keys = {option["key"] for option in target.options or []}
    current = {key: value for key, value in (current_options or {}).items() if key in keys}
    form = _with_options(ModifyForm, target.options or [], current)(**kwargs)
    form.target_offer_id.data = str(target.id)
    if not form.is_submitted():
        form.idempotency_key.data = new_idempotency_key()
    return form


class TerminateForm(FlaskForm):
    at = StringField(
        _l("End on"),
        validators=[Length(max=40)],
        widget=DateInput(),
        description=_l("A future date (the subscription ends at 00:00 UTC that day)."),
    )
    idempotency_key = HiddenField()
    end_now = SubmitField(_l("End now"))
    end_at = SubmitField(_l("End on this date"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.idempotency_key.data = new_idempotency_key()

    def validate_at(self, field) -> None:
        if self.end_at.data and not (field.data or "").strip():
            raise StopValidation(_("Choose the date the subscription should end."))


class CheckoutForm(FlaskForm):
    """The Cart page's checkout: a key made when the page renders (a second click sends the
    same one) and the cart version the page shows. The terms checkboxes are read by name."""

    idempotency_key = HiddenField()
    cart_version = HiddenField()


class ConfirmForm(FlaskForm):
    """A POST button with its CSRF token."""


class TaskActionForm(FlaskForm):
    """start / complete / release / retry a fulfillment task: the pressed button's value is `to`."""

    to = HiddenField()
    version = HiddenField()  # the task's version the agent saw


class TaskFailForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])
    version = HiddenField()


class QuotaForm(FlaskForm):
    """One quota of a group: a count of an offer or a category, or the monthly budget. The
    service checks the values, so every problem is reported next to its field."""

    group_id = SelectField(_l("Group"), choices=[], validate_choice=False)
    kind = SelectField(
        _l("Kind"),
        choices=[
            ("offer", _l("Subscriptions of an offer")),
            ("category", _l("Subscriptions of a category")),
            ("budget", _l("Monthly budget")),
        ],
        validate_choice=False,
    )
    offer_code = StringField(
        _l("Offer code"), validators=[Length(max=40)], description=_l("For an offer's quota.")
    )
    category_id = SelectField(_l("Category"), choices=[], validate_choice=False)
    max_active = StringField(
        _l("Most active subscriptions"),
        validators=[Length(max=12)],
        description=_l("For an offer's or a category's quota: 0 or more."),
    )
    monthly_budget = StringField(
        _l("Monthly budget"),
        validators=[Length(max=20)],
        description=_l("The most the group's subscriptions may cost a month, e.g. 1000.00."),
    )
    currency = SelectField(_l("Currency"), choices=[], validate_choice=False, default="EUR")


class LeaseExtensionForm(FlaskForm):
    lease_ends_at = StringField(
        _l("New end date"),
        validators=[Length(max=40)],
        widget=DateInput(),
        description=_l("A later date, up to the latest end shown (the lease ends at 23:59 UTC)."),
    )
    submit = SubmitField(_l("Extend the lease"))
