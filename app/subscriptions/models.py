"""Consume stream: service contracts, orders, subscriptions and fulfillment tasks."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..accounts.models import ConsumerGroup, User
from ..catalog.models import MONEY, ServiceOffer
from ..extensions import db
from ..integrations.models import AttemptRecord
from ..models_base import UTCDateTime
from .approval_models import (
    ApprovalDecision,
    ApprovalDelegation,
    ApprovalPolicy,
    ApprovalStep,
)
from .cart_models import Cart, CartCheckout, CartItem
from .draft_models import OrderDraft
from .states import (
    CONTRACT,
    ORDER,
    STEP_DELIVERY,
    SUBSCRIPTION,
    TASK,
    ApprovalStepStatus,
    ContractStatus,
    OrderStatus,
    StepDeliveryStatus,
    SubscriptionStatus,
    TaskStatus,
)

__all__ = [
    "ApprovalDecision",
    "ApprovalDelegation",
    "ApprovalPolicy",
    "ApprovalStep",
    "ApprovalStepStatus",
    "Cart",
    "CartCheckout",
    "CartItem",
    "ContractStatus",
    "FulfillmentTask",
    "GroupQuota",
    "Order",
    "OrderDraft",
    "OrderStatus",
    "OrderType",
    "ServiceContract",
    "StepDelivery",
    "StepDeliveryAttempt",
    "StepDeliveryStatus",
    "Subscription",
    "SubscriptionStatus",
    "TaskLogEntry",
    "TaskStatus",
]


class OrderType(enum.StrEnum):
    NEW = "new"
    MODIFY = "modify"
    TERMINATE = "terminate"
    # a lease's new end waiting for approval (services/lease_approval.py): no tasks, no contract
    EXTEND_LEASE = "extend_lease"


class Subscription(db.Model):
    __tablename__ = "subscriptions"
    __table_args__ = (
        sa.Index("ix_subscriptions_group_status", "group_id", "status"),
        sa.Index("ix_subscriptions_offer_status", "offer_code", "status"),
        sa.Index("ix_subscriptions_offer_parent", "offer_id", "parent_id"),  # products in scope
        # the dashboards read today (and a range's partial days) from these moments
        sa.Index("ix_subscriptions_created_at", "created_at"),
        sa.Index("ix_subscriptions_active_since", "active_since"),
        sa.Index("ix_subscriptions_terminated_at", "terminated_at"),
        SUBSCRIPTION.check_constraint(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("service_offers.id", ondelete="RESTRICT"))
    offer_code: Mapped[str] = mapped_column(sa.String(40))
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("consumer_groups.id", ondelete="RESTRICT"))
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # who ordered it: the owner, or a manager (or a user granted orders_for_others) ordering
    # for the owner, who is the beneficiary
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), default=SubscriptionStatus.REQUESTED.value)
    options: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # what automatic fulfillment steps reported back (a hostname, a login URL): a flat string map
    outputs: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    failure_reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    active_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminates_on: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the end of its offer's lease (app/subscriptions/services/leases.py), and when its owner was
    # warned of it (once: the sweep never warns twice)
    lease_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    lease_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the end chosen in the order form, for an offer with `lease_end_chosen` (lease_terms.py)
    lease_chosen_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column()  # the optimistic lock (app/versioning.py)

    offer: Mapped[ServiceOffer] = relationship(lazy="joined")
    group: Mapped[ConsumerGroup] = relationship(lazy="joined")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    parent: Mapped[Subscription | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Subscription]] = relationship(
        back_populates="parent", order_by="Subscription.id"
    )

    __mapper_args__ = {"version_id_col": version}


SUBSCRIPTION.watch(Subscription.status)


class ServiceContract(db.Model):
    """What was agreed, frozen: later changes to the offer never alter it."""

    __tablename__ = "service_contracts"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "version", name="uq_contract_version"),
        CONTRACT.check_constraint(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(default=1)  # the amendment number, not a lock
    status: Mapped[str] = mapped_column(sa.String(16), default=ContractStatus.ACTIVE.value)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("service_offers.id", ondelete="RESTRICT"))
    offer_code: Mapped[str] = mapped_column(sa.String(40))
    offer_revision: Mapped[int]
    price: Mapped[Decimal] = mapped_column(MONEY)
    # what the chosen options add per month (snapshot["price_breakdown"] has the lines)
    options_monthly: Mapped[Decimal] = mapped_column(
        MONEY, default=Decimal("0.00"), server_default="0"
    )
    currency: Mapped[str] = mapped_column(sa.String(3))
    billing_period: Mapped[str] = mapped_column(sa.String(10))
    # name, summary, terms, service_levels, options chosen, option definitions, fulfillment target
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    agreed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    agreed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscription: Mapped[Subscription] = relationship()
    agreed_by: Mapped[User | None] = relationship()


CONTRACT.watch(ServiceContract.status)


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("requested_by_id", "idempotency_key", name="uq_order_idempotency"),
        sa.Index("ix_orders_status_created", "status", "created_at"),
        sa.Index("ix_orders_completed_at", "completed_at"),  # flow metrics by period
        # the dashboard's new orders per offer in a period
        sa.Index("ix_orders_type_created", "order_type", "created_at"),
        ORDER.check_constraint(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    order_type: Mapped[str] = mapped_column(sa.String(12))
    status: Mapped[str] = mapped_column(sa.String(20), default=OrderStatus.IN_PROGRESS.value)
    target_offer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_offers.id", ondelete="RESTRICT")
    )
    options: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    agreement: Mapped[dict] = mapped_column(
        sa.JSON, default=dict
    )  # the snapshot agreed for this order
    idempotency_key: Mapped[str] = mapped_column(sa.String(100))
    request_fingerprint: Mapped[str] = mapped_column(sa.String(64), default="")
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure_reason: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(server_default="1")  # the optimistic lock

    subscription: Mapped[Subscription] = relationship()
    target_offer: Mapped[ServiceOffer | None] = relationship()
    requested_by: Mapped[User | None] = relationship()
    tasks: Mapped[list[FulfillmentTask]] = relationship(
        back_populates="order", order_by="FulfillmentTask.sequence", cascade="all, delete-orphan"
    )
    approval_steps: Mapped[list[ApprovalStep]] = relationship(
        order_by="ApprovalStep.sequence", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


ORDER.watch(Order.status)


class FulfillmentTask(db.Model):
    __tablename__ = "fulfillment_tasks"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "sequence", name="uq_task_sequence"),
        sa.Index("ix_fulfillment_tasks_group_status", "group_id", "status"),
        TASK.check_constraint(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    sequence: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(120))
    mode: Mapped[str] = mapped_column(sa.String(10))
    group_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("consumer_groups.id", ondelete="SET NULL")
    )
    expected_hours: Mapped[float] = mapped_column(sa.Float, default=1.0)
    # the integration an automatic step calls (by name, as the plan says); None: done at once
    integration: Mapped[str | None] = mapped_column(sa.String(120))
    job_template: Mapped[int | None] = mapped_column()  # the AWX job template a step launches
    status: Mapped[str] = mapped_column(sa.String(12), default=TaskStatus.WAITING.value)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    failure_reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(server_default="1")  # the optimistic lock

    order: Mapped[Order] = relationship(back_populates="tasks")
    subscription: Mapped[Subscription] = relationship()
    group: Mapped[ConsumerGroup | None] = relationship()
    assignee: Mapped[User | None] = relationship()
    deliveries: Mapped[list[StepDelivery]] = relationship(
        back_populates="task", order_by="StepDelivery.id", passive_deletes=True
    )
    log: Mapped[list[TaskLogEntry]] = relationship(order_by="TaskLogEntry.id", viewonly=True)

    __mapper_args__ = {"version_id_col": version}


TASK.watch(FulfillmentTask.status)


class StepDelivery(db.Model):
    """One delivery of an automatic step to its integration: sent (and retried) by a job, with
    the callback token the receiver reports back with. The token is kept hashed (to check a
    callback) and encrypted (for the job to put in each attempt's body), never in clear."""

    __tablename__ = "step_deliveries"
    __table_args__ = (STEP_DELIVERY.check_constraint(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("fulfillment_tasks.id", ondelete="CASCADE"), index=True
    )
    integration: Mapped[str] = mapped_column(sa.String(120))
    status: Mapped[str] = mapped_column(sa.String(10), default=StepDeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    token_encrypted: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    # an AWX step: the job its launch started, and how many times it was polled (the poll job
    # that runs is the one numbered `polls`, so a duplicate of a poll job does nothing)
    job_id: Mapped[int | None] = mapped_column()
    polls: Mapped[int] = mapped_column(default=0, server_default="0")

    task: Mapped[FulfillmentTask] = relationship(back_populates="deliveries")
    log: Mapped[list[StepDeliveryAttempt]] = relationship(
        order_by="StepDeliveryAttempt.id", viewonly=True
    )


STEP_DELIVERY.watch(StepDelivery.status)


class StepDeliveryAttempt(AttemptRecord, db.Model):
    """One try at sending a step delivery: the delivery log agents see on the task."""

    __tablename__ = "step_delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("step_deliveries.id", ondelete="CASCADE"), index=True
    )
    # what was asked, e.g. "GET /api/v2/jobs/17/" (an AWX step's launch and polls)
    request_line: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")


class TaskLogEntry(db.Model):
    """The step's log: what its receiver reported (shown to the consumer too) and what happened
    to its deliveries or what an agent noted (`internal`: agents only)."""

    __tablename__ = "task_log_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("fulfillment_tasks.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    status: Mapped[str] = mapped_column(sa.String(12), default="")
    message: Mapped[str] = mapped_column(sa.Text, default="")
    internal: Mapped[bool] = mapped_column(default=False)


class GroupQuota(db.Model):
    """A group's limit: at most `max_active` held subscriptions of one offer (by code, across
    its revisions) or of one category (and its sub-categories), or a monthly budget: the sum of
    the monthly-equivalent prices of the group's held subscriptions, in one currency. Orders
    lock the group's quota rows before they count (app/subscriptions/services/quotas.py)."""

    __tablename__ = "group_quotas"
    __table_args__ = (
        sa.CheckConstraint(
            "(offer_code IS NOT NULL AND category_id IS NULL AND max_active IS NOT NULL"
            " AND monthly_budget IS NULL AND currency IS NULL)"
            " OR (offer_code IS NULL AND category_id IS NOT NULL AND max_active IS NOT NULL"
            " AND monthly_budget IS NULL AND currency IS NULL)"
            " OR (offer_code IS NULL AND category_id IS NULL AND max_active IS NULL"
            " AND monthly_budget IS NOT NULL AND currency IS NOT NULL)",
            name="one_kind_of_quota",
        ),
        sa.CheckConstraint("max_active IS NULL OR max_active >= 0", name="max_not_negative"),
        sa.CheckConstraint(
            "monthly_budget IS NULL OR monthly_budget >= 0", name="budget_not_negative"
        ),
        sa.Index(
            "uq_group_quotas_offer",
            "group_id",
            "offer_code",
            unique=True,
            sqlite_where=sa.text("offer_code IS NOT NULL"),
            postgresql_where=sa.text("offer_code IS NOT NULL"),
        ),
        sa.Index(
            "uq_group_quotas_category",
            "group_id",
            "category_id",
            unique=True,
            sqlite_where=sa.text("category_id IS NOT NULL"),
            postgresql_where=sa.text("category_id IS NOT NULL"),
        ),
        sa.Index(
            "uq_group_quotas_budget",
            "group_id",
            unique=True,
            sqlite_where=sa.text("monthly_budget IS NOT NULL"),
            postgresql_where=sa.text("monthly_budget IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("consumer_groups.id", ondelete="CASCADE"), index=True
    )
    offer_code: Mapped[str | None] = mapped_column(sa.String(40))
    category_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("categories.id", ondelete="CASCADE")
    )
    max_active: Mapped[int | None] = mapped_column()
    monthly_budget: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    group: Mapped[ConsumerGroup] = relationship()

    @property
    def kind(self) -> str:
        if self.monthly_budget is not None:
            return "budget"
        return "offer" if self.offer_code else "category"
