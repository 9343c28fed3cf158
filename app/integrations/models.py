"""Integrations: named outbound endpoints, the event webhooks that use them, and the log of
every delivery and attempt."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from ..models_base import UTCDateTime
from ..statemachine import StateMachine


class IntegrationKind(enum.StrEnum):
    WEBHOOK = "webhook"
    AWX = "awx"


class MessageFormat(enum.StrEnum):
    JSON = "json"
    SLACK = "slack"
    TEAMS = "teams"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


DELIVERY_STATES = StateMachine(
    "delivery",
    DeliveryStatus,
    {
        (DeliveryStatus.PENDING, DeliveryStatus.DELIVERED): None,
        (DeliveryStatus.PENDING, DeliveryStatus.FAILED): None,
        (DeliveryStatus.FAILED, DeliveryStatus.PENDING): "redeliver",
        (DeliveryStatus.DELIVERED, DeliveryStatus.PENDING): "redeliver",
    },
    initial=[DeliveryStatus.PENDING],
)


def _values(name: str, enum_type: type[enum.Enum]) -> sa.CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum_type)
    return sa.CheckConstraint(f"{name} IN ({values})", name=f"{name}_values")


class Integration(db.Model):
    __tablename__ = "integrations"
    __table_args__ = (
        _values("kind", IntegrationKind),
        _values("format", MessageFormat),
        sa.CheckConstraint("timeout_seconds BETWEEN 1 AND 60", name="timeout_range"),
        sa.CheckConstraint("max_attempts BETWEEN 1 AND 10", name="max_attempts_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    url: Mapped[str] = mapped_column(sa.String(2000))
    secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    timeout_seconds: Mapped[int] = mapped_column(default=10)
    max_attempts: Mapped[int] = mapped_column(default=5)
    format: Mapped[str] = mapped_column(sa.String(10), default=MessageFormat.JSON.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    webhooks: Mapped[list[Webhook]] = relationship(
        back_populates="integration", cascade="all, delete-orphan", passive_deletes=True
    )


class Webhook(db.Model):
    """An integration subscribed to events."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    events: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    integration: Mapped[Integration] = relationship(back_populates="webhooks", lazy="joined")
    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="webhook", cascade="all, delete-orphan", passive_deletes=True
    )


class WebhookDelivery(db.Model):
    """One event for one webhook: its document, and where its delivery stands."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (DELIVERY_STATES.check_constraint(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(sa.String(60))
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(10), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)  # since it was (re)queued
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")

    webhook: Mapped[Webhook] = relationship(back_populates="deliveries")
    log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="DeliveryAttempt.id",
    )


DELIVERY_STATES.watch(WebhookDelivery.status)


class AttemptRecord:
    """The columns of one try at sending to a receiver, shared by the delivery logs of event
    webhooks and of automatic fulfillment steps."""

    attempt: Mapped[int] = mapped_column()
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    status_code: Mapped[int | None] = mapped_column()
    duration_ms: Mapped[int] = mapped_column(default=0)
    response_excerpt: Mapped[str] = mapped_column(sa.String(500), default="")
    error: Mapped[str] = mapped_column(sa.String(500), default="")


class DeliveryAttempt(AttemptRecord, db.Model):
    """One try at sending a delivery: the delivery log."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="log")
