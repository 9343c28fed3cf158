"""WTForms for the Release-stream pages (products, categories, the offer editor).

The services check every value, so these forms carry few validators: each problem is
reported once, by the service, next to its field (see `place_errors`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.core import Field
from wtforms.validators import DataRequired, Length
from wtforms.widgets import DateInput, NumberInput

from ..accounts.forms import MultiCheckboxField
from ..errors import DomainError
from ..i18n import _l
from ..labels import lazy_capital_label
from ..validation import CHANNELS, CURRENCIES, PRIORITIES
from .models import BILLING_LABELS, KIND_LABELS, BillingPeriod, OfferKind

TRUE_WORDS = {"yes", "true", "on", "1", "y"}
OPTION_TYPE_LABELS = {
    "text": _l("Text"),
    "number": _l("Number"),
    "choice": _l("Choice"),
    "boolean": _l("Yes/no feature toggle"),
}
SUPPORT_HOURS_CHOICES = [("", "— not set —"), ("business", _l("Business hours")), ("24x7", "24x7")]


def _number(**kwargs) -> NumberInput:
    return NumberInput(step=kwargs.pop("step", "any"), **kwargs)


# --- products, releases, categories -------------------------------------------------------


class ProductForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=500)])
    description = TextAreaField(_l("Description"))


class ReleaseForm(FlaskForm):
    version = StringField(_l("Version"), description=_l("e.g. 2.4 or 2025.1"))
    planned_date = StringField(_l("Planned date"), widget=DateInput())
    notes = TextAreaField(_l("Notes"))


class ReleaseTransitionForm(FlaskForm):
    to = HiddenField()


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"))
    parent_id = SelectField(_l("Parent category"), validate_choice=False)
    description = TextAreaField(_l("Description"))


# --- the offer editor ---------------------------------------------------------------------


def _priority_form(what: str) -> type[Form]:
    fields = {
        priority: StringField(
            _l(
                "%(capitalize)s — %(what)s (hours)",
                capitalize=lazy_capital_label(priority),
                what=what,
            ),
            widget=_number(min="0"),
        )
        for priority in PRIORITIES
    }
    return type(f"{what.title().replace(' ', '')}HoursForm", (Form,), fields)


ResponseHoursForm = _priority_form("first response")
ResolutionHoursForm = _priority_form("resolution")


class ServiceLevelsForm(Form):
    availability_pct = StringField(
        _l("Availability (%)"), widget=_number(min="0", max="100"), description="e.g. 99.9"
    )
    fulfillment_target_hours = StringField(
        _l("Fulfillment target (hours)"),
        widget=_number(min="0"),
        description=_l("From order to active."),
    )
    support_hours = SelectField(
        _l("Support hours"), choices=SUPPORT_HOURS_CHOICES, validate_choice=False
    )
    response_hours = FormField(ResponseHoursForm, label=_l("First response"))
    resolution_hours = FormField(ResolutionHoursForm, label=_l("Resolution"))


class OptionForm(Form):
    """One field of the order form. Access subfields as row.form.<name>: a FormField has its
    own `label`, `type` and `default` attributes."""

    key = StringField(_l("Key"), description=_l("Lower-case letters, digits, underscores."))
    label = StringField(_l("Label"))
    type = SelectField(
        _l("Type"),
        choices=list(OPTION_TYPE_LABELS.items()),
        validate_choice=False,
        default="text",
        render_kw={"data-switch": ""},
    )
    required = BooleanField(_l("Required"))
    default = StringField(_l("Default"), description=_l("For a yes/no toggle: yes or no."))
    min = StringField(_l("Minimum"), widget=_number())
    max = StringField(_l("Maximum"), widget=_number())
    max_length = StringField(_l("Maximum length"), widget=_number(min="1"))
    choices = StringField(
        _l("Choices"), description=_l("Comma separated, e.g. small, medium, large.")
    )
    help = StringField(_l("Help text"))


class StepForm(Form):
    name = StringField(_l("Step name"))
    mode = SelectField(
        _l("Mode"),
        choices=[("manual", _l("Manual (a group does it)")), ("automatic", _l("Automatic"))],
        validate_choice=False,
        default="manual",
        render_kw={"data-switch": ""},
    )
    group = SelectField(_l("Group"), validate_choice=False)
    integration = SelectField(
        _l("Integration"),
        validate_choice=False,
        description=_l(
            "The integration that does the step; none: it is done the moment it is queued."
        ),
    )
    job_template = StringField(
        _l("AWX job template id"),
        widget=_number(min="1"),
        description=_l(
            "Only for an AWX integration: the id of the job template the step launches."
        ),
    )
    expected_hours = StringField(_l("Expected duration (hours)"), widget=_number(min="0"))


class SupportPlanForm(Form):
    tier1_group = SelectField(_l("Tier-1 group"), validate_choice=False)
    escalation_path = TextAreaField(
        _l("Escalation path"), description=_l("One level per line, in the order support escalates.")
    )
    channels = MultiCheckboxField(
        _l("Channels"), choices=[(channel, lazy_capital_label(channel)) for channel in CHANNELS]
    )


class OfferForm(FlaskForm):
    version = HiddenField()
    code = StringField(
        _l("Code"),
        description=_l(
            "2–40 capital letters, digits and hyphens, e.g. VPN-ACCESS. It cannot change later."
        ),
    )
    name = StringField(_l("Name"))
    summary = StringField(_l("Summary"), description=_l("One line, shown in lists."))
    description = TextAreaField(
        _l("Description"), description=_l("Markdown. Preview shows it as consumers will see it.")
    )
    kind = SelectField(
        _l("Kind"),
        choices=[(k.value, KIND_LABELS[k.value]) for k in OfferKind],
        validate_choice=False,
    )
    category_id = SelectField(_l("Category"), validate_choice=False)
    release_id = SelectField(
        _l("Release"),
        validate_choice=False,
        description=_l("The offer cannot become ready before this release is deployed."),
    )
    valid_from = StringField(
        _l("Valid from"), widget=DateInput(), description=_l("Empty: orderable once published.")
    )
    valid_to = StringField(
        _l("Valid to"), widget=DateInput(), description=_l("Empty: no end date.")
    )
    planned_release_date = StringField(
        _l("Planned release date"),
        widget=DateInput(),
        description=_l("Catalog managers and support agents hear of it when the offer is planned."),
    )
    cost = StringField(_l("Cost"), widget=_number(step="0.01", min="0"))
    price = StringField(_l("Price"), widget=_number(step="0.01", min="0"))
    currency = SelectField(
        _l("Currency"), choices=[(c, c) for c in CURRENCIES], validate_choice=False, default="EUR"
    )
    billing_period = SelectField(
        _l("Billing period"),
        choices=[(b.value, BILLING_LABELS[b.value]) for b in BillingPeriod],
        validate_choice=False,
        default=BillingPeriod.MONTHLY.value,
    )
    terms = TextAreaField(_l("Terms and conditions"), description=_l("Markdown."))
    max_per_person = StringField(
        _l("Active subscriptions per person"),
        widget=_number(step="1", min="1"),
        description=_l("Empty: any number. 1 for one account per person, e.g. VPN access."),
    )
    max_per_group = StringField(
        _l("Active subscriptions per group"),
        widget=_number(step="1", min="1"),
        description=_l("Empty: any number."),
    )
    upgrade_codes = StringField(
        _l("Upgrades"),
        description=_l(
            "Codes of offers a subscriber may change to as an upgrade, separated by commas."
        ),
    )
    downgrade_codes = StringField(
        _l("Downgrades"),
        description=_l(
            "Codes of offers a subscriber may change to as a downgrade. The replacement and "
            "offers of the same product are always offered."
        ),
    )
    service_levels = FormField(ServiceLevelsForm)
    options = FieldList(FormField(OptionForm))
    fulfillment_plan = FieldList(FormField(StepForm))
    support_plan = FormField(SupportPlanForm)


def fill_offer_choices(
    form: OfferForm,
    *,
    categories,
    releases,
    group_names: list[str],
    integration_names: list[str] = (),
) -> None:
    """Choices from the database: categories (indented tree), releases, consumer groups, the
    integrations a step may call.
    A saved value missing from the list stays selectable, so a save never drops it quietly."""
    form.category_id.choices = [("", "— none —")] + [
        (str(category.id), "— " * depth + category.name) for category, depth in categories
    ]
    form.release_id.choices = [("", "— not tied to a release —")] + [
        (str(release.id), f"{release.product.name} {release.version} ({release.status})")
        for release in releases
    ]
    groups = [("", "— choose a group —")] + [(name, name) for name in group_names]

    def with_current(field) -> list[tuple[str, str]]:
        current = field.data or ""
        if current and current not in group_names:
            return [*groups, (current, f"{current} (unknown group)")]
        return groups

    plan = form.support_plan.form
    plan.tier1_group.choices = with_current(plan.tier1_group)
    integrations = [("", "— none: done at once —")] + [(name, name) for name in integration_names]
    for row in form.fulfillment_plan:
        row.form.group.choices = with_current(row.form.group)
        current = row.form.integration.data or ""
        row.form.integration.choices = (
            [*integrations, (current, f"{current} (unknown integration)")]
            if current and current not in integration_names
            else integrations
        )


# --- between the offer and its form -------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else ""


def _option_row(option: dict) -> dict:
    return {
        "key": option.get("key", ""),
        "label": option.get("label", ""),
        "type": option.get("type", "text"),
        "required": bool(option.get("required")),
        "default": _text(option.get("default")),
        "min": _text(option.get("min")),
        "max": _text(option.get("max")),
        "max_length": _text(option.get("max_length")),
        "choices": ", ".join(str(choice) for choice in option.get("choices") or []),
        "help": option.get("help", ""),
    }


def offer_form_data(offer, in_force: tuple | None = None) -> dict:
    """What the form shows for a saved revision; `in_force` (price, cost) replaces its own
    price and cost (a live revision shows the ones in force, not the ones it started with)."""
    price, cost = in_force if in_force is not None else (offer.price, offer.cost)
    levels = offer.service_levels or {}
    plan = offer.support_plan or {}
    return {
        "version": str(offer.version),
        "code": offer.code,
        "name": offer.name,
        "summary": offer.summary,
        "description": offer.description,
        "kind": offer.kind,
        "category_id": _text(offer.category_id),
        "release_id": _text(offer.release_id),
        "valid_from": _day(offer.valid_from),
        "valid_to": _day(offer.valid_to),
        "planned_release_date": _day(offer.planned_release_date),
        "cost": _text(cost),
        "price": _text(price),
        "currency": offer.currency,
        "billing_period": offer.billing_period,
        "terms": offer.terms,
        "max_per_person": _text(offer.max_per_person),
        "max_per_group": _text(offer.max_per_group),
        "upgrade_codes": ", ".join(offer.upgrade_codes or []),
        "downgrade_codes": ", ".join(offer.downgrade_codes or []),
        "service_levels": {
            "availability_pct": _text(levels.get("availability_pct")),
            "fulfillment_target_hours": _text(levels.get("fulfillment_target_hours")),
            "support_hours": levels.get("support_hours") or "",
            "response_hours": {
                p: _text((levels.get("response_hours") or {}).get(p)) for p in PRIORITIES
            },
            "resolution_hours": {
                p: _text((levels.get("resolution_hours") or {}).get(p)) for p in PRIORITIES
            },
        },
        "options": [_option_row(option) for option in offer.options or []],
        "fulfillment_plan": [
            {
                "name": step.get("name", ""),
                "mode": step.get("mode", "manual"),
                "group": step.get("group", ""),
                "integration": step.get("integration") or "",
                "job_template": _text(step.get("job_template")),
                "expected_hours": _text(step.get("expected_hours")),
            }
            for step in offer.fulfillment_plan or []
        ],
        "support_plan": {
            "tier1_group": plan.get("tier1_group", ""),
            "escalation_path": "\n".join(plan.get("escalation_path") or []),
            "channels": list(plan.get("channels") or []),
        },
    }


def _moment(submitted: str | None, stored: datetime | None):
    """A date input shows the day only: an unchanged day keeps the stored moment."""
    submitted = (submitted or "").strip()
    if stored is not None and submitted == _day(stored):
        return stored
    return submitted


def _option_data(row: Form) -> dict:
    kind = row.type.data or "text"
    default: Any = row.default.data
    if kind == "boolean":
        default = (default or "").strip().lower() in TRUE_WORDS
    data = {
        "key": (row.key.data or "").strip(),
        "label": row.label.data,
        "type": kind,
        "required": bool(row.required.data),
        "default": default,
        "help": row.help.data,
    }
    if kind == "number":
        data.update(min=row.min.data, max=row.max.data)
    elif kind == "choice":
        data["choices"] = row.choices.data or ""
    elif kind == "text":
        data["max_length"] = row.max_length.data
    return data


def offer_data(form: OfferForm, offer=None) -> dict:
    """The form's values as the plain data `create_offer`/`update_offer` take."""
    levels = form.service_levels.form
    plan = form.support_plan.form
    data = {
        "name": form.name.data,
        "summary": form.summary.data,
        "description": form.description.data,
        "kind": form.kind.data,
        "category_id": form.category_id.data or None,
        "release_id": form.release_id.data or None,
        "valid_from": _moment(form.valid_from.data, offer.valid_from if offer else None),
        "valid_to": _moment(form.valid_to.data, offer.valid_to if offer else None),
        "planned_release_date": _moment(
            form.planned_release_date.data, offer.planned_release_date if offer else None
        ),
        "cost": form.cost.data,
        "price": form.price.data,
        "currency": form.currency.data,
        "billing_period": form.billing_period.data,
        "terms": form.terms.data,
        "max_per_person": form.max_per_person.data,
        "max_per_group": form.max_per_group.data,
        "upgrade_codes": form.upgrade_codes.data or "",
        "downgrade_codes": form.downgrade_codes.data or "",
        "service_levels": {
            "availability_pct": levels.availability_pct.data,
            "fulfillment_target_hours": levels.fulfillment_target_hours.data,
            "support_hours": levels.support_hours.data,
            "response_hours": {p: levels.response_hours.form[p].data for p in PRIORITIES},
            "resolution_hours": {p: levels.resolution_hours.form[p].data for p in PRIORITIES},
        },
        "options": [_option_data(row.form) for row in form.options],
        "fulfillment_plan": [
            {
                "name": row.form.name.data,
                "mode": row.form.mode.data,
                "group": row.form.group.data or "",
                "integration": row.form.integration.data or None,
                "job_template": row.form.job_template.data or None,
                "expected_hours": row.form.expected_hours.data,
            }
            for row in form.fulfillment_plan
        ],
        "support_plan": {
            "tier1_group": plan.tier1_group.data or "",
            "escalation_path": plan.escalation_path.data or "",
            "channels": list(plan.channels.data or []),
        },
    }
    if offer is None:
        data["code"] = form.code.data
    return data


# Buttons of the order-form and fulfillment-plan lists: name="op", value="<verb>:<list>[:<row>]".
LISTS = {"options": "options", "steps": "fulfillment_plan"}
LIST_VERBS = ("add", "remove", "up", "down")


def apply_list_op(form: OfferForm, op: str) -> str | None:
    """Add, remove or move a row of a list without saving; returns the section to show."""
    parts = op.split(":")
    if len(parts) < 2 or parts[0] not in LIST_VERBS or parts[1] not in LISTS:
        return None
    verb, name = parts[0], LISTS[parts[1]]
    field_list = form[name]
    rows = [row.data for row in field_list]
    index = None
    if verb != "add":
        try:
            index = int(parts[2])
        except (IndexError, ValueError):
            return parts[1]
        if not 0 <= index < len(rows):
            return parts[1]
    if verb == "add":
        if len(rows) < 50:
            rows.append({})
    elif verb == "remove":
        rows.pop(index)
    else:
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(rows):
            rows[index], rows[other] = rows[other], rows[index]
    while field_list.entries:
        field_list.pop_entry()
    for row in rows:
        field_list.append_entry(row)
    return parts[1]


def _resolve(form, path: list[str]):
    """Walk 'service_levels.response_hours.critical' or 'options.2.choices' to a field."""
    node: Any = form
    for part in path:
        if isinstance(node, FieldList):
            if not part.isdigit() or int(part) >= len(node.entries):
                return None
            node = node.entries[int(part)]
        elif isinstance(node, FormField):
            node = node.form._fields.get(part)
        elif isinstance(node, Form):
            node = node._fields.get(part)
        else:
            return None
        if node is None:
            return None
    return node


def place_errors(form, error: DomainError) -> dict[str, list[str]]:
    """Put a service's dotted field errors next to their (sub)form fields. Errors about a
    whole list or group ('options', 'support_plan') are returned by section; the rest is
    returned under '' for the page to show at the top."""
    leftovers: dict[str, list[str]] = {}
    for key, messages in error.fields.items():
        target = _resolve(form, key.split("."))
        if isinstance(target, Field) and not isinstance(target, FieldList | FormField):
            target.errors = list(target.errors) + list(messages)
        elif target is not None:
            leftovers.setdefault(key.split(".")[0], []).extend(messages)
        else:
            leftovers.setdefault("", []).extend(messages)
    return leftovers


# --- the editor's smaller forms -----------------------------------------------------------


class VersionedForm(FlaskForm):
    version = HiddenField()


class TransitionForm(VersionedForm):
    to = HiddenField()


class RetireForm(VersionedForm):
    end_date = StringField(
        _l("End date"),
        widget=DateInput(),
        description=_l("No new orders from this day. Empty: now."),
    )
    replacement_code = StringField(
        _l("Replacement offer"),
        description=_l("Optional. The code of a published offer; start typing for suggestions."),
        render_kw={"list": "replacement-suggestions", "maxlength": 40, "autocomplete": "off"},
    )


class PriceChangeForm(FlaskForm):
    price = StringField(_l("New price"), widget=_number(step="0.01", min="0"))
    cost = StringField(
        _l("New cost"), widget=_number(step="0.01", min="0"), description=_l("Optional.")
    )
    effective_from = StringField(_l("Effective from"), widget=DateInput())
    reason = StringField(_l("Reason"), description=_l("e.g. Annual fee recalculation 2026."))
    confirm_backdated = BooleanField(
        _l("The date is in the past: record it as a back-dated correction"),
        description=_l(
            "Only for a date before today. A back-dated change is kept in the price history "
            "but nobody is notified of it; contracts keep the price they agreed to."
        ),
    )


class ArticleLinksForm(FlaskForm):
    article_ids = MultiCheckboxField(_l("Linked articles"), coerce=int)


class NewArticleForm(FlaskForm):
    title = StringField(_l("Article title"))
    body = TextAreaField(_l("Article text"), description=_l("Markdown."))


class AudienceForm(FlaskForm):
    group_ids = MultiCheckboxField(
        _l("Audience groups"),
        coerce=int,
        description=_l("None checked: everyone. In a canary, the pilot groups are among them."),
    )
    canary = BooleanField(
        _l("Canary: show it to the pilot groups only, for now"),
        description=_l(
            "Widening later shows it to the rest of the audience, so the audience needs a group "
            "beyond the pilots (or none checked, for everyone)."
        ),
    )
    pilot_group_ids = MultiCheckboxField(
        _l("Pilot groups"),
        coerce=int,
        description=_l(
            "Only with canary. Pilot groups must be among the audience groups (any group when "
            "the audience is everyone); widening shows the offer to the rest of the audience."
        ),
    )


class BundleAddForm(VersionedForm):
    member_code = StringField(
        _l("Offer to add"),
        validators=[DataRequired(_l("Type the code of a published offer."))],
        description=_l("The code of a published offer; start typing for suggestions."),
        render_kw={"list": "member-suggestions", "maxlength": 40, "autocomplete": "off"},
    )


class BundleMoveForm(VersionedForm):
    code = HiddenField(validators=[DataRequired()])
    direction = HiddenField(validators=[DataRequired()])


class CatalogImportForm(FlaskForm):
    """A catalog file to check (dry run) and then import exactly as checked."""

    document = TextAreaField(
        _l("Catalog file (YAML or JSON)"),
        description=_l(
            "Paste a catalog file, or choose one below. Check it first: the import then does "
            "exactly what the check showed, or nothing."
        ),
        render_kw={"rows": 14, "spellcheck": "false"},
    )
    upload = FileField(_l("Or choose a file"))
    # the dry run's fingerprint: the import is refused if it would do anything else
    expected = HiddenField()

    def text(self) -> str:
        """The uploaded file's text, else the pasted one."""
        upload = self.upload.data
        if upload and getattr(upload, "filename", ""):
            return upload.read().decode("utf-8", errors="replace")
        return self.document.data or ""
