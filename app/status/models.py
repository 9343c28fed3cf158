"""Publish Service Status: usage records, service notices (and their updates)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..accounts.models import User
from ..catalog.models import DigitalProduct
from ..extensions import db
from ..models_base import UTCDateTime


class MetricKind(enum.StrEnum):
    """How a metric's records add up. A counter counts what happened in each period (data
    transferred, API calls): periods add up, and a monthly quota is measured against the month's
    total. A gauge is a level read at a moment (active users, storage used): levels never add
    up over time; a day's figure, a range's and a month's are the peak (the highest reading),
    and a quota is measured against that peak."""

    COUNTER = "counter"
    GAUGE = "gauge"


class UsageMetric(db.Model):
    """A metric the usage feed may report; offers set quotas through an option `<key>_quota`."""

    __tablename__ = "usage_metrics"
    __table_args__ = (sa.CheckConstraint("kind IN ('counter', 'gauge')", name="metric_kind"),)

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(120))
    unit: Mapped[str] = mapped_column(sa.String(20), default="")
    kind: Mapped[str] = mapped_column(
        sa.String(10), default=MetricKind.COUNTER.value, server_default=MetricKind.COUNTER.value
    )

    @property
    def is_gauge(self) -> bool:
        return self.kind == MetricKind.GAUGE.value


class UsageRecord(db.Model):
    __tablename__ = "usage_records"
    __table_args__ = (
        sa.UniqueConstraint(
            "subscription_id", "metric", "period_start", "period_end", name="uq_usage_period"
        ),
        sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        sa.CheckConstraint("period_end > period_start", name="period_order"),
        sa.Index("ix_usage_records_metric_period", "metric", "period_start"),
        sa.Index("ix_usage_records_period", "period_start"),  # dashboard totals by period
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    metric: Mapped[str] = mapped_column(sa.ForeignKey("usage_metrics.key", ondelete="RESTRICT"))
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(18, 4))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class NoticeKind(enum.StrEnum):
    OUTAGE = "outage"
    DEGRADATION = "degradation"
    MAINTENANCE = "maintenance"


class ServiceNotice(db.Model):
    __tablename__ = "service_notices"
    __table_args__ = (
        sa.CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="notice_period_order"),
        sa.Index("ix_service_notices_product_period", "product_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        sa.ForeignKey("digital_products.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(sa.String(12))
    title: Mapped[str] = mapped_column(sa.String(200))
    message: Mapped[str] = mapped_column(sa.Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime
    )  # expected, then actual once resolved
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Critical: every subscriber is told in the portal and by e-mail at once, whatever they
    # chose for service notices.
    critical: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    product: Mapped[DigitalProduct] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()
    updates: Mapped[list[NoticeUpdate]] = relationship(
        order_by="NoticeUpdate.created_at", cascade="all, delete-orphan"
    )


class NoticeUpdate(db.Model):
    __tablename__ = "notice_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_notices.id", ondelete="CASCADE"), index=True
    )
    message: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


# --- daily rollups -------------------------------------------------------------------------------
# Kept current in the transaction that writes the facts (services/rollups.py) and rebuilt from
# them by `flask status rebuild-rollups`; the dashboards read them for whole days. They cover
# top-level subscriptions only, as the dashboards do. Money is in whole cents, as revenue sums it.


def _not_negative(*columns: str) -> list[sa.CheckConstraint]:
    return [
        sa.CheckConstraint(f"{column} >= 0", name=f"{column}_not_negative") for column in columns
    ]


def _amount(kind=sa.Integer) -> Mapped:
    """A count or a sum: zero until something adds to it."""
    return mapped_column(kind, default=0, server_default="0")


class UsageRollup(db.Model):
    """Usage per subscription, metric and day: the day's total (what a counter adds up) and its
    highest reading (what a gauge's day is)."""

    __tablename__ = "usage_rollups"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "metric", "day", name="uq_usage_rollup_grain"),
        *_not_negative("records", "quantity", "peak"),
        sa.Index("ix_usage_rollups_offer_day", "offer_id", "day"),
        sa.Index("ix_usage_rollups_group_day", "group_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    metric: Mapped[str] = mapped_column(sa.ForeignKey("usage_metrics.key", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(sa.Date)
    # the subscription's offer and group, so a scope filters without a join (an offer code
    # filter names the offers of that code)
    offer_id: Mapped[int] = mapped_column()
    group_id: Mapped[int] = mapped_column()
    records: Mapped[int] = _amount()
    quantity: Mapped[Decimal] = _amount(sa.Numeric(18, 4))
    peak: Mapped[Decimal] = _amount(sa.Numeric(18, 4))


class UsageGroupRollup(db.Model):
    """Usage per consumer group, metric and day, for scopes wider than an offer or a product:
    the day's total and the sum of each subscription's highest reading (levels add up across
    subscriptions at one time)."""

    __tablename__ = "usage_group_rollups"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "metric", "day", name="uq_usage_group_rollup_grain"),
        *_not_negative("records", "quantity", "peak"),
        sa.Index("ix_usage_group_rollups_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("consumer_groups.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(sa.ForeignKey("usage_metrics.key", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(sa.Date)
    records: Mapped[int] = _amount()
    quantity: Mapped[Decimal] = _amount(sa.Numeric(18, 4))
    peak: Mapped[Decimal] = _amount(sa.Numeric(18, 4))


SUBSCRIPTION_COUNTS = ("created", "started", "terminated", "ended", "running")
SUBSCRIPTION_MONEY = (
    "monthly_contracts",
    "yearly_contracts",
    "monthly_price_cents",
    "yearly_price_cents",
    "options_cents",
)


class SubscriptionRollup(db.Model):
    """Subscriptions per offer, consumer group, currency and day: how many were created, became
    active, were terminated and ended (after being active) that day; and, counted on the day
    they were created, how many run now and the running ones' recurring money (MRR, and the
    contracts a margin takes the offer's cost in force from). Counts carry no currency ('').
    The day of `started`/`ended` is the day up to whose end the moment falls (a midnight ends
    the day before), so the days before a midnight hold exactly the moments at or before it."""

    __tablename__ = "subscription_rollups"
    __table_args__ = (
        sa.UniqueConstraint(
            "offer_id", "group_id", "currency", "day", name="uq_subscription_rollup_grain"
        ),
        *_not_negative(*SUBSCRIPTION_COUNTS, *SUBSCRIPTION_MONEY),
        sa.Index("ix_subscription_rollups_group_day", "group_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("service_offers.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("consumer_groups.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(sa.String(3), default="")
    day: Mapped[date] = mapped_column(sa.Date)
    created: Mapped[int] = _amount()
    started: Mapped[int] = _amount()
    terminated: Mapped[int] = _amount()  # on the day of terminated_at
    ended: Mapped[int] = _amount()  # terminated after being active: up to the day of its end
    running: Mapped[int] = _amount()
    monthly_contracts: Mapped[int] = _amount()
    yearly_contracts: Mapped[int] = _amount()
    monthly_price_cents: Mapped[int] = _amount(sa.BigInteger)
    yearly_price_cents: Mapped[int] = _amount(sa.BigInteger)
    options_cents: Mapped[int] = _amount(sa.BigInteger)


class SubscriptionGroupRollup(db.Model):
    """The counts of subscription_rollups per consumer group and day, for scopes without a
    product or an offer (the all-products dashboard, a consumer's groups)."""

    __tablename__ = "subscription_group_rollups"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "day", name="uq_subscription_group_rollup_grain"),
        *_not_negative(*SUBSCRIPTION_COUNTS),
        # covering: the all-products dashboard sums every day's counts from the index alone
        sa.Index("ix_subscription_group_rollups_day_counts", "day", *SUBSCRIPTION_COUNTS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("consumer_groups.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(sa.Date)
    created: Mapped[int] = _amount()
    started: Mapped[int] = _amount()
    terminated: Mapped[int] = _amount()
    ended: Mapped[int] = _amount()
    running: Mapped[int] = _amount()


SUPPORT_COUNTS = (
    "requests",
    "responded",
    "response_met",
    "response_breached",
    "resolved",
    "resolution_met",
    "resolution_breached",
    "rated",
    "satisfaction_sum",
)


class SupportRollup(db.Model):
    """Support requests per offer, consumer group and the day they were opened: volume, first
    responses and resolutions (met: no breach recorded), breaches, the seconds to respond and
    to resolve (for the averages) and satisfaction (sum and count of ratings)."""

    __tablename__ = "support_rollups"
    __table_args__ = (
        sa.UniqueConstraint("offer_id", "group_id", "day", name="uq_support_rollup_grain"),
        *_not_negative(*SUPPORT_COUNTS, "response_seconds", "resolution_seconds"),
        sa.Index("ix_support_rollups_group_day", "group_id", "day"),
        sa.Index("ix_support_rollups_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("service_offers.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("consumer_groups.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(sa.Date)
    requests: Mapped[int] = _amount()
    responded: Mapped[int] = _amount()
    response_met: Mapped[int] = _amount()
    response_breached: Mapped[int] = _amount()
    resolved: Mapped[int] = _amount()
    resolution_met: Mapped[int] = _amount()
    resolution_breached: Mapped[int] = _amount()
    # whole seconds, summed exactly (the averages divide them by `responded` and `resolved`)
    response_seconds: Mapped[int] = _amount(sa.BigInteger)
    resolution_seconds: Mapped[int] = _amount(sa.BigInteger)
    rated: Mapped[int] = _amount()
    satisfaction_sum: Mapped[int] = _amount()


class OfferRollup(db.Model):
    """subscription_rollups summed over groups and days per offer and currency: the running
    subscriptions (currency '') and their recurring money, so revenue over every offer reads
    one row per offer and currency, not one per group and day."""

    __tablename__ = "offer_rollups"
    __table_args__ = (
        sa.UniqueConstraint("offer_id", "currency", name="uq_offer_rollup_grain"),
        *_not_negative("running", *SUBSCRIPTION_MONEY),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("service_offers.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(sa.String(3), default="")
    running: Mapped[int] = _amount()
    monthly_contracts: Mapped[int] = _amount()
    yearly_contracts: Mapped[int] = _amount()
    monthly_price_cents: Mapped[int] = _amount(sa.BigInteger)
    yearly_price_cents: Mapped[int] = _amount(sa.BigInteger)
    options_cents: Mapped[int] = _amount(sa.BigInteger)


OFFER_AMOUNTS = ("running", *SUBSCRIPTION_MONEY)


ORDER_AMOUNTS = ("done", "lead_seconds", "active_seconds", "with_target", "within_target")


class OrderRollup(db.Model):
    """Completed orders per offer, consumer group, order type, day of completion and flow time
    in hundredths of an hour (the unit the dashboard shows; its percentiles are read from these
    buckets): how many, their whole seconds from order to completion and of active task time,
    and how many had a fulfillment target in their agreement and were done within it."""

    __tablename__ = "order_rollups"
    __table_args__ = (
        sa.UniqueConstraint(
            "offer_id", "group_id", "order_type", "day", "flow_bucket", name="uq_order_rollup_grain"
        ),
        *_not_negative(*ORDER_AMOUNTS),
        # covering: a period's days grouped by type and bucket, read from the index alone
        sa.Index(
            "ix_order_rollups_day_amounts", "day", "order_type", "flow_bucket", *ORDER_AMOUNTS
        ),
        sa.Index("ix_order_rollups_group_day", "group_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("service_offers.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("consumer_groups.id", ondelete="CASCADE"))
    order_type: Mapped[str] = mapped_column(sa.String(12))
    day: Mapped[date] = mapped_column(sa.Date)
    flow_bucket: Mapped[int] = mapped_column()  # round(flow seconds / 36)
    done: Mapped[int] = _amount()
    lead_seconds: Mapped[int] = _amount(sa.BigInteger)
    active_seconds: Mapped[int] = _amount(sa.BigInteger)
    with_target: Mapped[int] = _amount()
    within_target: Mapped[int] = _amount()
