"""WTForms for the Release-stream pages (products, categories, the offer editor).

The services check every value, so these forms carry few validators: each problem is
reported once, by the service, next to its field (see `offer_form.place_errors`)."""

from __future__ import annotations

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
from wtforms.validators import DataRequired, Length
from wtforms.widgets import DateInput, NumberInput

from ..accounts.forms import MultiCheckboxField
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


class ChoiceListForm(FlaskForm):
    name = StringField(
        _l("Name"), description=_l("Lower-case letters, digits and hyphens, e.g. cost-centres.")
    )
    label = StringField(_l("Title"))
    description = TextAreaField(_l("Description"))
    entries = TextAreaField(
        _l("Entries"),
        description=_l("One a line: the value, then optionally | and what people read."),
        render_kw={"rows": 12, "spellcheck": "false"},
    )


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
    visible_when = TextAreaField(
        _l("Shown when"),
        description=_l('JSON, e.g. {"field": "gpu", "equals": true}. Empty: always shown.'),
        render_kw={"rows": 2, "spellcheck": "false"},
    )
    required_when = TextAreaField(
        _l("Must be filled in when"),
        description=_l('JSON, e.g. {"all": [{"field": "gpu", "equals": true}]}.'),
        render_kw={"rows": 2, "spellcheck": "false"},
    )
    depends_on = StringField(
        _l("Follows field"), description=_l("The key of another choice field, e.g. region.")
    )
    choice_map = TextAreaField(
        _l("Per value of that field"),
        description=_l('JSON, e.g. {"eu-west": ["Dublin 1", "Dublin 2"]}.'),
        render_kw={"rows": 2, "spellcheck": "false"},
    )
    choice_list = StringField(
        _l("Choice list"), description=_l("The name of a choice list; its entries are the choices.")
    )
    prices = TextAreaField(
        _l("Extra charge per value"),
        description=_l('JSON, e.g. {"32": {"monthly": "10.00"}}; a yes/no toggle prices "true".'),
        render_kw={"rows": 2, "spellcheck": "false"},
    )


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
    lease_days = StringField(
        _l("Lease (days)"),
        widget=_number(step="1", min="1"),
        description=_l("Empty: no lease. Else subscriptions end this many days after they start."),
    )
    lease_max_days = StringField(
        _l("Longest lease with extensions (days)"),
        widget=_number(step="1", min="1"),
        description=_l("Empty: the lease cannot be extended."),
    )
    lease_warn_days = StringField(
        _l("Warn the owner (days before the end)"),
        widget=_number(step="1", min="1"),
        description=_l("In the app and by e-mail, once. Empty: no warning."),
    )
    lease_end_chosen = BooleanField(
        _l("The orderer chooses the end date"),
        description=_l("Within the longest lease; proposed: the lease's days from the order."),
    )
    lease_extension_needs_approval = BooleanField(
        _l("An extension needs approval"),
        description=_l("By the offer's approval policy, else by the group's managers."),
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
