"""Publish Service Status: usage records, service notices (and their updates)."""

from __future__ import annotations

import enum
from datetime import datetime
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
