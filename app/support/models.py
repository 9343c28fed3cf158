"""Support domain: requests with SLA clocks, deflections, incidents and backlog items."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..accounts.models import User
from ..extensions import db
from ..models_base import UTCDateTime
from .states import (
    BACKLOG_ITEMS,
    INCIDENTS,
    REQUESTS,
    BacklogStatus,
    IncidentStatus,
    RequestStatus,
)

__all__ = [
    "Attachment",
    "BacklogItem",
    "BacklogStatus",
    "Deflection",
    "Incident",
    "IncidentStatus",
    "Priority",
    "RequestMessage",
    "RequestStatus",
    "RequestType",
    "SupportRequest",
    "backlog_item_requests",
]


class RequestType(enum.StrEnum):
    QUESTION = "question"
    ISSUE = "issue"


class Priority(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class SupportRequest(db.Model):
    __tablename__ = "support_requests"
    __table_args__ = (
        sa.Index("ix_support_requests_tier_status", "tier", "status"),
        sa.Index("ix_support_requests_group", "group_id", "status"),
        sa.CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction_range"
        ),
        # a double click or a retried POST finds the first request instead of opening another
        sa.UniqueConstraint("requester_id", "idempotency_key", name="uq_request_idempotency"),
        REQUESTS.check_constraint(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("consumer_groups.id", ondelete="RESTRICT"))
    requester_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100))
    request_type: Mapped[str] = mapped_column(sa.String(10))
    priority: Mapped[str] = mapped_column(sa.String(10))
    subject: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(24), default=RequestStatus.NEW.value)
    tier: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    assignee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    incident_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("incidents.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SLA clock: targets copied from the contract snapshot; time waiting on the consumer is excluded.
    response_target_hours: Mapped[float | None] = mapped_column(sa.Float)
    resolution_target_hours: Mapped[float | None] = mapped_column(sa.Float)
    business_hours_only: Mapped[bool] = mapped_column(default=False)
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[int] = mapped_column(default=0)
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    response_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[int | None] = mapped_column(sa.SmallInteger)
    satisfaction_comment: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column()  # the optimistic lock (app/versioning.py)

    requester: Mapped[User | None] = relationship(foreign_keys=[requester_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])

    __mapper_args__ = {"version_id_col": version}


REQUESTS.watch(SupportRequest.status)


class RequestMessage(db.Model):
    __tablename__ = "request_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("support_requests.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    internal: Mapped[bool] = mapped_column(default=False)  # agents only, never shown to consumers
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    author: Mapped[User | None] = relationship()


class Attachment(db.Model):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("support_requests.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("request_messages.id", ondelete="CASCADE")
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    internal: Mapped[bool] = mapped_column(default=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Deflection(db.Model):
    """A consumer found the answer in a suggested article instead of opening a request."""

    __tablename__ = "deflections"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    article_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("knowledge_articles.id", ondelete="SET NULL")
    )
    query: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)


class Incident(db.Model):
    """An underpinning problem escalated to operations."""

    __tablename__ = "incidents"
    __table_args__ = (INCIDENTS.check_constraint(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("digital_products.id", ondelete="SET NULL"), index=True
    )
    severity: Mapped[int] = mapped_column(sa.SmallInteger)  # 1 (worst) to 4
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=IncidentStatus.OPEN.value)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column()  # the optimistic lock (app/versioning.py)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])

    __mapper_args__ = {"version_id_col": version}


INCIDENTS.watch(Incident.status)


backlog_item_requests = sa.Table(
    "backlog_item_requests",
    db.metadata,
    sa.Column(
        "backlog_item_id", sa.ForeignKey("backlog_items.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "request_id", sa.ForeignKey("support_requests.id", ondelete="CASCADE"), primary_key=True
    ),
)


class BacklogItem(db.Model):
    """Feedback to development: a defect or feature for a digital product's team."""

    __tablename__ = "backlog_items"
    __table_args__ = (BACKLOG_ITEMS.check_constraint(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        sa.ForeignKey("digital_products.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(10))  # defect | feature
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(12), default=BacklogStatus.NEW.value)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    source_requests: Mapped[list[SupportRequest]] = relationship(
        secondary=backlog_item_requests, order_by="SupportRequest.id"
    )


BACKLOG_ITEMS.watch(BacklogItem.status)
