"""Marshmallow schemas of the catalog file (catalog as code): what `flask catalog export`
writes and `flask catalog import` and `PUT /api/v1/catalog` read, and the import's report.
Like the API's schemas they check shapes and types only; the rules live in the services."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .schemas import (
    DOWNGRADES_META,
    LEASE_META,
    LIMIT_META,
    OFFER_STATUSES,
    UPGRADES_META,
    FileMoment,
    Label,
    Money,
)


class CategoryFileSchema(Schema):
    name = fields.Str(required=True)
    slug = fields.Str(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]*$")
    )
    description = fields.Str(load_default="")
    children = fields.List(fields.Nested(lambda: CategoryFileSchema()), load_default=list)


class ReleaseFileSchema(Schema):
    version = Label(required=True)
    status = fields.Str(
        load_default="planned",
        validate=validate.OneOf(["planned", "accepted", "deployed", "retired"]),
    )
    planned_date = FileMoment(load_default=None, allow_none=True)
    notes = fields.Str(load_default="")


class ProductFileSchema(Schema):
    name = fields.Str(required=True)
    description = fields.Str(load_default="")
    owner = fields.Str(
        load_default=None, allow_none=True, metadata={"description": "A product manager's e-mail."}
    )
    releases = fields.List(fields.Nested(ReleaseFileSchema), load_default=list)


class ArticleFileSchema(Schema):
    title = fields.Str(required=True)
    body = fields.Str(required=True)
    status = fields.Str(load_default="published", validate=validate.OneOf(["draft", "published"]))
    product = fields.Str(load_default=None, allow_none=True)


class PriceHistoryFileSchema(Schema):
    effective_from = FileMoment(required=True)
    price = Money(required=True)
    cost = Money(load_default=None, allow_none=True)
    reason = fields.Str(load_default="")


class ChoiceListFileSchema(Schema):
    name = fields.Str(required=True)
    label = fields.Str(required=True)
    description = fields.Str(load_default="")
    entries = fields.List(
        fields.Raw(),
        load_default=list,
        metadata={"description": "Values, or {value, label} where people read another text."},
    )


class OfferFileSchema(Schema):
    """One offer, by code: the fields of its live (else latest) revision, its status, and what
    belongs to the code across revisions. Missing keys mean empty / default."""

    code = fields.Str(required=True)
    name = fields.Str(required=True)
    status = fields.Str(load_default="draft", validate=validate.OneOf(OFFER_STATUSES))
    summary = fields.Str(load_default="")
    description = fields.Str(load_default="")
    kind = fields.Str(load_default="new_instance")
    category = fields.Str(
        load_default=None, allow_none=True, metadata={"description": "Category slug."}
    )
    product = fields.Str(
        load_default=None, allow_none=True, metadata={"description": "Digital product name."}
    )
    release = Label(
        load_default=None, allow_none=True, metadata={"description": "Release version."}
    )
    valid_from = FileMoment(load_default=None, allow_none=True)
    valid_to = FileMoment(load_default=None, allow_none=True)
    planned_release_date = FileMoment(load_default=None, allow_none=True)
    cost = Money(load_default=None, allow_none=True)
    price = Money(load_default=None, allow_none=True)
    currency = fields.Str(load_default="EUR")
    billing_period = fields.Str(load_default="monthly")
    terms = fields.Str(load_default="")
    service_levels = fields.Dict(keys=fields.Str(), load_default=dict)
    options = fields.List(fields.Dict(), load_default=list)
    fulfillment_plan = fields.List(fields.Dict(), load_default=list)
    support_plan = fields.Dict(keys=fields.Str(), load_default=dict)
    audience = fields.List(
        fields.Str(), load_default=list, metadata={"description": "Group names; none: everyone."}
    )
    pilot_groups = fields.List(fields.Str(), load_default=list)
    canary = fields.Bool(load_default=False)
    featured = fields.Bool(load_default=False)
    replacement = fields.Str(load_default=None, allow_none=True)
    max_per_person = fields.Raw(load_default=None, allow_none=True, metadata=LIMIT_META)
    max_per_group = fields.Raw(load_default=None, allow_none=True, metadata=LIMIT_META)
    lease_days = fields.Raw(load_default=None, allow_none=True, metadata=LEASE_META)
    lease_max_days = fields.Raw(load_default=None, allow_none=True)
    lease_warn_days = fields.Raw(load_default=None, allow_none=True)
    lease_end_chosen = fields.Bool(load_default=False)
    lease_extension_needs_approval = fields.Bool(load_default=False)
    upgrades = fields.List(fields.Raw(), load_default=list, metadata=UPGRADES_META)
    downgrades = fields.List(fields.Raw(), load_default=list, metadata=DOWNGRADES_META)
    members = fields.List(fields.Str(), load_default=list)
    articles = fields.List(
        fields.Str(), load_default=list, metadata={"description": "Knowledge article titles."}
    )
    price_history = fields.List(fields.Nested(PriceHistoryFileSchema), load_default=list)


class CatalogFileSchema(Schema):
    """The whole catalog as one document (YAML or JSON)."""

    format = fields.Str(
        load_default="offerdesk-catalog", validate=validate.Equal("offerdesk-catalog")
    )
    version = fields.Int(load_default=1, validate=validate.Equal(1))
    exported_at = fields.Raw(load_default=None, allow_none=True)
    categories = fields.List(fields.Nested(CategoryFileSchema), load_default=list)
    products = fields.List(fields.Nested(ProductFileSchema), load_default=list)
    articles = fields.List(fields.Nested(ArticleFileSchema), load_default=list)
    choice_lists = fields.List(fields.Nested(ChoiceListFileSchema), load_default=list)
    offers = fields.List(fields.Nested(OfferFileSchema), load_default=list)
    approval_policies = fields.List(
        fields.Dict(),
        load_default=list,
        metadata={"description": "offer: CODE | category: slug | default: true, with the policy"},
    )


class OfferImportLineSchema(Schema):
    code = fields.Str()
    action = fields.Str(metadata={"enum": ["create", "update", "unchanged"]})
    changes = fields.Dict(
        metadata={"description": "Field → {before, after} for each field that changes."}
    )
    revision = fields.Str(
        metadata={"description": "The revision written: new offer, new revision, or a draft."}
    )
    transitions = fields.List(
        fields.Str(),
        metadata={"description": "Each lifecycle step, e.g. revision 2: ready → published."},
    )
    notifications = fields.List(
        fields.Dict(),
        metadata={"description": "{subject, recipients}: in-app and e-mail messages sent."},
    )


class ImportCountsSchema(Schema):
    created = fields.Int()
    updated = fields.Int()
    unchanged = fields.Int()


class ImportReportSchema(Schema):
    dry_run = fields.Bool()
    offers = fields.List(fields.Nested(OfferImportLineSchema))
    summary = fields.Nested(ImportCountsSchema)
    categories = fields.Nested(ImportCountsSchema)
    products = fields.Nested(ImportCountsSchema)
    releases = fields.Nested(ImportCountsSchema)
    articles = fields.Nested(ImportCountsSchema)
    choice_lists = fields.Nested(ImportCountsSchema)
    lines = fields.List(fields.Str())
    fingerprint = fields.Str(
        metadata={
            "description": "Digest of what the import does; pass a dry run's as ?expected= "
            "to refuse an import that would do anything else."
        }
    )
