"""Release stream: digital products, releases, categories, service offers, bundles, prices.

A ServiceOffer row is one *revision* of an offer; rows of the same offer share a `code`.
At most one revision of a code is live (published or retired) at a time; a newer revision
is edited as a draft and, once published, supersedes the live one. Audience, canary and
price history belong to the code, so they carry across revisions.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..accounts.models import User
from ..extensions import db
from ..i18n import _l
from ..models_base import UTCDateTime
from .states import OFFER, RELEASE, OfferStatus, ReleaseStatus

__all__ = [
    "EDITABLE_STATUSES",
    "LIVE_STATUSES",
    "MONEY",
    "BillingPeriod",
    "BundleMember",
    "Category",
    "ChoiceList",
    "ChoiceListEntry",
    "DigitalProduct",
    "OfferKind",
    "OfferSettings",
    "OfferStatus",
    "PriceChange",
    "ProductRelease",
    "ReleaseStatus",
    "ServiceOffer",
    "offer_audience",
]

MONEY = sa.Numeric(12, 2)


LIVE_STATUSES = (OfferStatus.PUBLISHED.value, OfferStatus.RETIRED.value)
EDITABLE_STATUSES = (OfferStatus.DRAFT.value, OfferStatus.PLANNED.value, OfferStatus.READY.value)


class OfferKind(enum.StrEnum):
    NEW_INSTANCE = "new_instance"
    MODIFICATION = "modification"
    TERMINATION = "termination"
    SUPPORT = "support"
    BUNDLE = "bundle"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.value])


KIND_LABELS = {
    "new_instance": _l("New instance"),
    "modification": _l("Modification"),
    "termination": _l("Termination"),
    "support": _l("Support"),
    "bundle": _l("Bundle"),
}
BILLING_LABELS = {"one_time": _l("One-time"), "monthly": _l("Monthly"), "yearly": _l("Yearly")}


class BillingPeriod(enum.StrEnum):
    ONE_TIME = "one_time"
    MONTHLY = "monthly"
    YEARLY = "yearly"

    @property
    def label(self) -> str:
        return str(BILLING_LABELS[self.value])


class DigitalProduct(db.Model):
    __tablename__ = "digital_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    owner: Mapped[User | None] = relationship()
    releases: Mapped[list[ProductRelease]] = relationship(
        back_populates="product", order_by="ProductRelease.id", cascade="all, delete-orphan"
    )


class ProductRelease(db.Model):
    __tablename__ = "product_releases"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "version", name="uq_release_version"),
        RELEASE.check_constraint(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        sa.ForeignKey("digital_products.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(16), default=ReleaseStatus.PLANNED.value)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    planned_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    product: Mapped[DigitalProduct] = relationship(back_populates="releases")

    @property
    def label(self) -> str:
        return f"{self.product.name} {self.version}"


RELEASE.watch(ProductRelease.status)


class Category(db.Model):
    __tablename__ = "categories"
    __table_args__ = (sa.UniqueConstraint("parent_id", "name", name="uq_category_sibling_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    slug: Mapped[str] = mapped_column(sa.String(140), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(
        back_populates="parent", order_by="Category.position"
    )


class CatalogVersion(db.Model):
    """A marker per part of the catalog that pages keep per process ("categories": the tree;
    "offers": the count of visible offers): every write to that part's tables sets a new
    random marker in the same transaction (services/catalog_versions.py), so any host that
    reads the marker knows whether what it kept still holds."""

    __tablename__ = "catalog_versions"

    part: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    marker: Mapped[str] = mapped_column(sa.String(32))


offer_audience = sa.Table(
    "offer_audience",
    db.metadata,
    sa.Column("offer_code", sa.String(40), primary_key=True),
    sa.Column(
        "group_id", sa.ForeignKey("consumer_groups.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("is_pilot", sa.Boolean, nullable=False, default=False),
)


class OfferSettings(db.Model):
    """What belongs to an offer across all its revisions: audience mode and featured flag."""

    __tablename__ = "offer_settings"

    offer_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    canary: Mapped[bool] = mapped_column(default=False)  # visible to pilot groups only
    featured: Mapped[bool] = mapped_column(default=False)


# an offer's lease: a subscription ends `lease_days` after it became active (or on the date its
# orderer chose, when `lease_end_chosen`); it may be extended up to `lease_max_days` after it
# began; its owner is warned `lease_warn_days` before the end
LEASE_MAX_CHECK = (
    "lease_max_days IS NULL OR (lease_days IS NOT NULL AND lease_max_days >= lease_days)"
)
LEASE_WARN_CHECK = (
    "lease_warn_days IS NULL OR (lease_days IS NOT NULL AND lease_warn_days >= 1"
    " AND lease_warn_days < lease_days)"
)


class ServiceOffer(db.Model):
    __tablename__ = "service_offers"
    __table_args__ = (
        sa.UniqueConstraint("code", "revision", name="uq_offer_code_revision"),
        # the dashboards join every offer for its code and cost: read from this index alone
        sa.Index("ix_service_offers_id_code_cost", "id", "code", "cost"),
        # One live revision per offer, and one revision being edited.
        sa.Index(
            "uq_offer_one_live",
            "code",
            unique=True,
            sqlite_where=sa.text("status IN ('published', 'retired')"),
            postgresql_where=sa.text("status IN ('published', 'retired')"),
        ),
        sa.Index(
            "uq_offer_one_draft",
            "code",
            unique=True,
            sqlite_where=sa.text("status IN ('draft', 'planned', 'ready')"),
            postgresql_where=sa.text("status IN ('draft', 'planned', 'ready')"),
        ),
        sa.CheckConstraint("price >= 0", name="price_not_negative"),
        sa.CheckConstraint("cost >= 0", name="cost_not_negative"),
        sa.CheckConstraint(
            "max_per_person IS NULL OR max_per_person >= 1", name="max_per_person_positive"
        ),
        sa.CheckConstraint(
            "max_per_group IS NULL OR max_per_group >= 1", name="max_per_group_positive"
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from", name="validity_order"
        ),
        sa.CheckConstraint("lease_days IS NULL OR lease_days >= 1", name="lease_days_positive"),
        sa.CheckConstraint(LEASE_MAX_CHECK, name="lease_max_days_at_least_lease"),
        sa.CheckConstraint(LEASE_WARN_CHECK, name="lease_warn_days_before_end"),
        sa.Index("ix_service_offers_status_validity", "status", "valid_from", "valid_to"),
        # The catalog lists by name and "new offers" by publication: with these the database
        # walks the index and stops at a page instead of sorting every visible offer.
        sa.Index("ix_service_offers_name", "name", "id"),
        sa.Index("ix_service_offers_published", "published_at", "id"),  # newest first
        OFFER.check_constraint(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), index=True)
    revision: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(sa.String(160))
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[str] = mapped_column(sa.String(20), default=OfferKind.NEW_INSTANCE.value)
    status: Mapped[str] = mapped_column(sa.String(16), default=OfferStatus.DRAFT.value, index=True)
    category_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    release_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("product_releases.id", ondelete="SET NULL")
    )
    product_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("digital_products.id", ondelete="SET NULL"), index=True
    )
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cost: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    price: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    billing_period: Mapped[str] = mapped_column(sa.String(10), default=BillingPeriod.MONTHLY.value)
    terms: Mapped[str] = mapped_column(sa.Text, default="")
    # {"availability_pct": 99.9, "fulfillment_target_hours": 24, "support_hours": "business",
    #  "response_hours": {"critical": 1, "high": 4, "medium": 8, "low": 24}, "resolution_hours": {...}}
    service_levels: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # [{"key", "label", "type": text|number|choice|boolean, "required", "default", "min", "max", "choices", "help"}]
    options: Mapped[list] = mapped_column(sa.JSON, default=list)
    # [{"name", "mode": manual|automatic, "group": "<consumer group name>", "expected_hours"}]
    fulfillment_plan: Mapped[list] = mapped_column(sa.JSON, default=list)
    # {"tier1_group": "<group name>", "escalation_path": ["tier 2 ...", ...], "channels": ["portal", "phone"]}
    support_plan: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    planned_release_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replacement_code: Mapped[str | None] = mapped_column(sa.String(40))
    # how many active subscriptions of this offer one person / one group may hold (None: any)
    max_per_person: Mapped[int | None] = mapped_column()
    max_per_group: Mapped[int | None] = mapped_column()
    # the lease (see LEASE_MAX_CHECK): None, no lease
    lease_days: Mapped[int | None] = mapped_column()
    lease_max_days: Mapped[int | None] = mapped_column()
    lease_warn_days: Mapped[int | None] = mapped_column()
    lease_end_chosen: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # an extension waits for the approvals engine instead of moving the end at once
    lease_extension_needs_approval: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false()
    )
    # the offers (by code) a subscription of this one may change to, besides its replacement
    # and the offers of the same product
    upgrade_codes: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    downgrade_codes: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column()  # the optimistic lock (app/versioning.py)

    category: Mapped[Category | None] = relationship(lazy="joined")
    release: Mapped[ProductRelease | None] = relationship(lazy="joined")
    product: Mapped[DigitalProduct | None] = relationship(lazy="joined")
    members: Mapped[list[BundleMember]] = relationship(
        back_populates="bundle",
        order_by="BundleMember.position",
        cascade="all, delete-orphan",
        foreign_keys="BundleMember.bundle_id",
    )

    @property
    def margin(self) -> Decimal | None:
        if self.price is None:
            return None
        return self.price - (self.cost or Decimal("0"))

    @property
    def margin_pct(self) -> Decimal | None:
        if not self.price:
            return None
        return ((self.price - (self.cost or Decimal("0"))) / self.price * 100).quantize(
            Decimal("0.1")
        )

    @property
    def is_bundle(self) -> bool:
        return self.kind == OfferKind.BUNDLE.value

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    def display_status(self, now: datetime | None = None) -> str:
        """What people see: scheduled before valid_from, expired after valid_to."""
        now = now or clock.now()
        if self.status in LIVE_STATUSES:
            if self.valid_to is not None and now >= self.valid_to:
                return "retired" if self.status == OfferStatus.RETIRED.value else "expired"
            if self.status == OfferStatus.RETIRED.value:
                return "retiring"
            if self.valid_from is not None and now < self.valid_from:
                return "scheduled"
        return self.status

    def is_orderable(self, now: datetime | None = None) -> bool:
        return self.display_status(now) in ("published", "retiring")

    __mapper_args__ = {"version_id_col": version}


OFFER.watch(ServiceOffer.status)


class BundleMember(db.Model):
    __tablename__ = "bundle_members"
    __table_args__ = (sa.UniqueConstraint("bundle_id", "member_code", name="uq_bundle_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_offers.id", ondelete="CASCADE"), index=True
    )
    member_code: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int] = mapped_column(default=0)

    bundle: Mapped[ServiceOffer] = relationship(back_populates="members", foreign_keys=[bundle_id])


class PriceChange(db.Model):
    """A price (and cost) that takes effect on a date; the history of an offer's prices."""

    __tablename__ = "price_changes"
    __table_args__ = (
        sa.UniqueConstraint("offer_code", "effective_from", name="uq_price_change_date"),
        sa.CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_code: Mapped[str] = mapped_column(sa.String(40), index=True)
    price: Mapped[Decimal] = mapped_column(MONEY)
    cost: Mapped[Decimal | None] = mapped_column(MONEY)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class ChoiceList(db.Model):
    """A named list of choices catalog managers keep (cost centres, locations); an order-form
    choice field takes its entries with `"choice_list": "<name>"`."""

    __tablename__ = "choice_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    label: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    entries: Mapped[list[ChoiceListEntry]] = relationship(
        back_populates="choice_list",
        order_by="ChoiceListEntry.position",
        cascade="all, delete-orphan",
    )


class ChoiceListEntry(db.Model):
    __tablename__ = "choice_list_entries"
    __table_args__ = (
        sa.UniqueConstraint("list_id", "value", name="uq_choice_list_entry_value"),
        sa.Index("ix_choice_list_entries_list_position", "list_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(sa.ForeignKey("choice_lists.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(sa.String(120))
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    position: Mapped[int] = mapped_column(default=0)

    choice_list: Mapped[ChoiceList] = relationship(back_populates="entries")
