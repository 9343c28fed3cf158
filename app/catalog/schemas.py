"""Marshmallow schemas of the catalog: what API requests carry, what responses hold (one view
for consumers, a fuller one for catalog managers) and the field types the catalog file's
schemas (file_schemas.py) share.

Schemas check shapes and types only; the rules (negative prices, unknown currencies, choice
fields without choices...) live in the services, so the API, the HTML pages and the catalog
import give the same messages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields

from ..i18n import _
from ..inputs import IdField
from ..validation import moment as check_moment

OFFER_STATUSES = ("draft", "planned", "ready", "published", "retired")
RELATIVE_RE = re.compile(r"^\s*([+-])\s*(\d{1,5})\s*([dw])\s*$")


# --- field types -------------------------------------------------------------------------


class Money(fields.String):
    """Money as a string with two decimals ("7.50"); numbers are accepted on input."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return f"{Decimal(value):.2f}"

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise ValidationError(_("Enter an amount such as 12.50."))
        return value if isinstance(value, str) else str(value)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Moment(fields.DateTime):
    """An ISO 8601 date-time in UTC on output; a date or date-time string on input."""

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError(_("Enter a date as YYYY-MM-DD or an ISO 8601 date-time."))
        errors: dict = {}
        result = check_moment(errors, "value", value)
        if errors:
            raise ValidationError(_("Enter a date as YYYY-MM-DD or an ISO 8601 date-time."))
        return result


class Relative:
    """A date written relative to the moment of import, such as +30d or -2w (midnight UTC)."""

    def __init__(self, text: str, days: int):
        self.text, self.days = text, days

    def resolve(self, now: datetime) -> datetime:
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight + timedelta(days=self.days)

    def __eq__(self, other) -> bool:
        return isinstance(other, Relative) and other.days == self.days

    def __hash__(self) -> int:
        return hash(self.days)

    def __repr__(self) -> str:
        return f"Relative({self.text!r})"


def parse_relative(value: str) -> Relative | None:
    match = RELATIVE_RE.match(value)
    if match is None:
        return None
    sign, amount, unit = match.groups()
    days = int(amount) * (7 if unit == "w" else 1)
    return Relative(value.strip(), -days if sign == "-" else days)


class FileMoment(fields.String):
    """A date in the catalog file: an ISO date or date-time, a YAML date, or +30d / -2w."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime | date):
            return check_moment({}, "value", value)
        if not isinstance(value, str):
            raise ValidationError(_("Enter a date as YYYY-MM-DD, an ISO 8601 date-time or +30d."))
        relative = parse_relative(value)
        if relative is not None:
            return relative
        errors: dict = {}
        result = check_moment(errors, "value", value)
        if errors:
            raise ValidationError(_("Enter a date as YYYY-MM-DD, an ISO 8601 date-time or +30d."))
        return result


class Label(fields.String):
    """Text that YAML may have read as a number (a version such as 4.2)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


# --- API requests ------------------------------------------------------------------------

LEASE_META = {
    "description": "Days a subscription runs before it ends (none: no lease); lease_max_days:"
    " the most an extension may reach; lease_warn_days: the owner's warning before the end."
}
CHOSEN_META = {
    "description": "The orderer chooses the end date when ordering (lease_ends_on), from"
    " tomorrow to lease_max_days (or lease_days) after the order."
}
APPROVAL_META = {
    "description": "A lease extension waits for approval (the offer's policy, else the group's"
    " managers) instead of moving the end at once."
}
LIMIT_META = {
    "description": "How many active subscriptions of this offer one person (or one group) may "
    "hold; null: any number.",
    "example": 1,
}
UPGRADES_META = {"description": "Offer codes a subscription may change to as an upgrade."}
DOWNGRADES_META = {"description": "Offer codes a subscription may change to as a downgrade."}


class OfferWriteSchema(Schema):
    """The fields of an offer revision. On PATCH every field is optional and missing ones keep
    their value."""

    code = fields.Str(
        required=True, metadata={"description": "2–40 capitals, digits, hyphens; set once."}
    )
    name = fields.Str(required=True)
    summary = fields.Str()
    description = fields.Str(metadata={"description": "Markdown, sanitised when shown."})
    kind = fields.Str(
        metadata={"enum": ["new_instance", "modification", "termination", "support", "bundle"]}
    )
    category_id = IdField(allow_none=True)
    release_id = IdField(allow_none=True)
    product_id = IdField(allow_none=True)
    valid_from = Moment(allow_none=True)
    valid_to = Moment(allow_none=True)
    cost = Money(allow_none=True, metadata={"example": "3.00"})
    price = Money(allow_none=True, metadata={"example": "7.50"})
    currency = fields.Str(metadata={"example": "EUR"})
    billing_period = fields.Str(metadata={"enum": ["one_time", "monthly", "yearly"]})
    terms = fields.Str()
    service_levels = fields.Dict(keys=fields.Str(), allow_none=True)
    options = fields.List(fields.Dict(), allow_none=True)
    fulfillment_plan = fields.List(fields.Dict(), allow_none=True)
    support_plan = fields.Dict(keys=fields.Str(), allow_none=True)
    planned_release_date = Moment(allow_none=True)
    max_per_person = fields.Raw(allow_none=True, metadata=LIMIT_META)
    max_per_group = fields.Raw(allow_none=True, metadata=LIMIT_META)
    lease_days = fields.Raw(allow_none=True, metadata=LEASE_META)
    lease_max_days = fields.Raw(allow_none=True)
    lease_warn_days = fields.Raw(allow_none=True)
    lease_end_chosen = fields.Bool(metadata=CHOSEN_META)
    lease_extension_needs_approval = fields.Bool(metadata=APPROVAL_META)
    upgrade_codes = fields.List(fields.Raw(), allow_none=True, metadata=UPGRADES_META)
    downgrade_codes = fields.List(fields.Raw(), allow_none=True, metadata=DOWNGRADES_META)


class OfferPatchSchema(OfferWriteSchema):
    class Meta:
        exclude = ("code",)


class OfferTransitionSchema(Schema):
    to = fields.Str(required=True, metadata={"enum": list(OFFER_STATUSES)})
    end_date = Moment(allow_none=True, metadata={"description": "When retiring: the last day."})
    replacement_code = fields.Str(
        allow_none=True, metadata={"description": "When retiring: the offer that replaces it."}
    )


class PriceChangeWriteSchema(Schema):
    price = Money(required=True)
    cost = Money(allow_none=True)
    effective_from = Moment(required=True)
    reason = fields.Str(load_default="")
    confirm_backdated = fields.Bool(
        load_default=False,
        metadata={
            "description": "Needed for an effective_from before today: the change is then "
            "recorded, marked back-dated, and nobody is notified."
        },
    )


class AudienceWriteSchema(Schema):
    group_ids = fields.List(
        IdField(),
        required=True,
        metadata={"description": "Audience groups; an empty list means everyone."},
    )
    pilot_group_ids = fields.List(IdField(), load_default=list)
    canary = fields.Bool(load_default=False)


class MembersWriteSchema(Schema):
    members = fields.List(
        fields.Str(), required=True, metadata={"description": "Offer codes in bundle order."}
    )


class CategoryWriteSchema(Schema):
    name = fields.Str(required=True)
    parent_id = IdField(allow_none=True, load_default=None)
    description = fields.Str(load_default="")


class ProductWriteSchema(Schema):
    name = fields.Str(required=True)
    description = fields.Str(load_default="")
    owner_id = IdField(allow_none=True, load_default=None)


class ReleaseWriteSchema(Schema):
    version = Label(required=True)
    planned_date = Moment(allow_none=True, load_default=None)
    notes = fields.Str(load_default="")
    status = fields.Str(
        load_default="planned", metadata={"enum": ["planned", "accepted", "deployed", "retired"]}
    )


class ReleaseTransitionSchema(Schema):
    to = fields.Str(
        required=True, metadata={"enum": ["planned", "accepted", "deployed", "retired"]}
    )


# --- API responses -----------------------------------------------------------------------


class OfferView:
    """An offer with what a response adds to it (price in force, audience, settings), loaded
    in batches by the caller so lists stay at a fixed number of queries."""

    def __init__(self, offer, **extra):
        self.offer = offer
        self.__dict__.update(extra)

    def __getattr__(self, name):
        return getattr(self.offer, name)


class CategoryRefSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    slug = fields.Str()


class ProductRefSchema(Schema):
    id = fields.Int()
    name = fields.Str()


class ReleaseRefSchema(Schema):
    id = fields.Int()
    version = fields.Str()
    status = fields.Str()


class BundleMemberSchema(Schema):
    code = fields.Str(attribute="member_code")
    position = fields.Int()


class ConsumerOfferSchema(Schema):
    """What anyone in the audience sees: no cost, margin, internal plans or audit data."""

    id = fields.Int()
    code = fields.Str()
    revision = fields.Int()
    name = fields.Str()
    summary = fields.Str()
    description = fields.Str()
    kind = fields.Str()
    status = fields.Function(
        lambda offer: offer.display_status(),
        metadata={"description": "published, scheduled, retiring, retired or expired."},
    )
    orderable = fields.Function(lambda offer: offer.is_orderable())
    category = fields.Nested(CategoryRefSchema, allow_none=True)
    product = fields.Nested(ProductRefSchema, allow_none=True)
    price = Money(
        attribute="current_price",
        allow_none=True,
        metadata={"description": "The price in force now (latest effective price change)."},
    )
    currency = fields.Str()
    billing_period = fields.Str()
    terms = fields.Str()
    service_levels = fields.Dict()
    options = fields.List(fields.Dict())
    support_channels = fields.Function(lambda offer: (offer.support_plan or {}).get("channels", []))
    valid_from = Moment(allow_none=True)
    valid_to = Moment(allow_none=True)
    replacement_code = fields.Str(allow_none=True)
    members = fields.List(fields.Nested(BundleMemberSchema))
    featured = fields.Bool()
    max_per_person = fields.Int(allow_none=True, metadata=LIMIT_META)
    max_per_group = fields.Int(allow_none=True, metadata=LIMIT_META)
    lease_days = fields.Int(allow_none=True, metadata=LEASE_META)
    lease_max_days = fields.Int(allow_none=True)
    lease_warn_days = fields.Int(allow_none=True)
    lease_end_chosen = fields.Bool(metadata=CHOSEN_META)
    lease_extension_needs_approval = fields.Bool(metadata=APPROVAL_META)
    upgrade_codes = fields.List(fields.Str(), metadata=UPGRADES_META)
    downgrade_codes = fields.List(fields.Str(), metadata=DOWNGRADES_META)


class ManagerOfferSchema(ConsumerOfferSchema):
    """Everything, for catalog managers."""

    status = fields.Str(metadata={"enum": [*OFFER_STATUSES, "superseded"]})
    display_status = fields.Function(lambda offer: offer.display_status())
    price = Money(allow_none=True, metadata={"description": "The offer's own (base) price."})
    current_price = Money(allow_none=True)
    cost = Money()
    current_cost = Money(allow_none=True)
    margin = Money(allow_none=True)
    margin_pct = fields.Function(
        lambda offer: None if offer.margin_pct is None else str(offer.margin_pct)
    )
    category_id = fields.Int(allow_none=True)
    release_id = fields.Int(allow_none=True)
    product_id = fields.Int(allow_none=True)
    release = fields.Nested(ReleaseRefSchema, allow_none=True)
    fulfillment_plan = fields.List(fields.Dict())
    support_plan = fields.Dict()
    planned_release_date = Moment(allow_none=True)
    audience = fields.List(fields.Str(), metadata={"description": "Group names; empty: everyone."})
    pilot_groups = fields.List(fields.Str())
    canary = fields.Bool()
    allowed_transitions = fields.List(fields.Str())
    version = fields.Int(metadata={"description": "Optimistic lock; also the ETag."})
    created_by_id = fields.Int(allow_none=True)
    created_at = Moment()
    updated_at = Moment()
    published_at = Moment(allow_none=True)
    retired_at = Moment(allow_none=True)


SUMMARY_FIELDS = (
    "id",
    "code",
    "revision",
    "name",
    "summary",
    "kind",
    "status",
    "orderable",
    "category",
    "price",
    "currency",
    "billing_period",
    "valid_from",
    "valid_to",
    "replacement_code",
    "featured",
)
MANAGER_SUMMARY_FIELDS = SUMMARY_FIELDS + (
    "display_status",
    "current_price",
    "cost",
    "margin",
    "audience",
    "pilot_groups",
    "canary",
    "version",
    "updated_at",
)


class OfferSummarySchema(ManagerOfferSchema):
    """An offer in a list (catalog managers' fields; others get SUMMARY_FIELDS)."""

    class Meta:
        fields = MANAGER_SUMMARY_FIELDS


class OfferPageSchema(Schema):
    items = fields.List(
        fields.Nested(OfferSummarySchema),
        metadata={
            "description": "Catalog managers get these fields; others get no cost, "
            "margin, audience or version."
        },
    )
    page = fields.Int()
    per_page = fields.Int()
    pages = fields.Int()
    total = fields.Int()
    query = fields.Str(metadata={"description": "With ?q=: the search words as understood."})
    suggestion = fields.Str(
        allow_none=True,
        metadata={"description": "With ?q=: a corrected query that finds offers (did you mean)."},
    )


class PriceChangeListSchema(Schema):
    items = fields.List(fields.Nested(lambda: PriceChangeSchema()))


class CategoryListSchema(Schema):
    items = fields.List(fields.Nested(lambda: CategorySchema()))


class ProductListSchema(Schema):
    items = fields.List(fields.Nested(lambda: ProductSchema()))


class ReadinessItemSchema(Schema):
    key = fields.Str()
    label = fields.Str()
    ok = fields.Bool()
    hint = fields.Str()


class ReadinessSchema(Schema):
    offer_id = fields.Int()
    status = fields.Str()
    version = fields.Int()
    ready = fields.Bool()
    items = fields.List(fields.Nested(ReadinessItemSchema))
    allowed_transitions = fields.List(fields.Str())


class PriceChangeSchema(Schema):
    id = fields.Int()
    offer_code = fields.Str()
    price = Money()
    cost = Money(allow_none=True)
    effective_from = Moment()
    reason = fields.Str()
    created_at = Moment()


class GroupRefSchema(Schema):
    id = fields.Int()
    name = fields.Str()


class AudienceSchema(Schema):
    offer_code = fields.Str()
    groups = fields.List(fields.Nested(GroupRefSchema))
    pilot_groups = fields.List(fields.Nested(GroupRefSchema))
    canary = fields.Bool()


class CategorySchema(Schema):
    id = fields.Int()
    name = fields.Str()
    slug = fields.Str()
    description = fields.Str()
    parent_id = fields.Int(allow_none=True)
    position = fields.Int()
    depth = fields.Int()
    archived = fields.Function(lambda category: category.archived_at is not None)


class ReleaseSchema(Schema):
    id = fields.Int()
    product_id = fields.Int()
    version = fields.Str()
    status = fields.Str()
    notes = fields.Str()
    planned_date = Moment(allow_none=True)
    deployed_at = Moment(allow_none=True)
    created_at = Moment()


class ProductSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    description = fields.Str()
    owner_id = fields.Int(allow_none=True)
    releases = fields.List(fields.Nested(ReleaseSchema))
    created_at = Moment()


class ChoiceListEntrySchema(Schema):
    value = fields.Str(required=True)
    label = fields.Str(load_default="")


class ChoiceListWriteSchema(Schema):
    name = fields.Str(
        metadata={"description": "Lower-case letters, digits and hyphens; given on create only."}
    )
    label = fields.Str(required=True)
    description = fields.Str(load_default="")
    entries = fields.List(fields.Nested(ChoiceListEntrySchema), load_default=list)


class ChoiceListSummarySchema(Schema):
    name = fields.Str()
    label = fields.Str()
    description = fields.Str()
    entry_count = fields.Int()
    updated_at = fields.DateTime()


class ChoiceListSchema(ChoiceListSummarySchema):
    entries = fields.List(fields.Nested(ChoiceListEntrySchema))


class ChoiceListListSchema(Schema):
    items = fields.List(fields.Nested(ChoiceListSummarySchema))
