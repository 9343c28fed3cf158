"""Approvals of new-instance orders: the policies catalog managers write (on an offer, a category
or the catalog default), the steps an order goes through, each decision, and approvers'
delegations. Re-exported by models.py, where other modules import them from."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..accounts.models import User
from ..catalog.models import Category
from ..extensions import db
from ..models_base import UTCDateTime
from .states import APPROVAL_STEP, ApprovalStepStatus


class ApprovalPolicy(db.Model):
    """An ordered list of approval steps for an offer (by code, across revisions), a category
    (its offers and its sub-categories' inherit it) or the whole catalog (`scope` default).

    steps: [{"name", "approvers": [{"kind": "group_managers"} | {"kind": "approver_group",
    "group": "<consumer group>"} | {"kind": "user", "email": "..."}], "require": "one"|"all",
    "condition": "<expression>" (optional), "fallback": {approver} (optional)}]"""

    __tablename__ = "approval_policies"
    __table_args__ = (
        sa.CheckConstraint("scope IN ('offer', 'category', 'default')", name="scope"),
        sa.CheckConstraint(
            "(scope = 'offer') = (offer_code IS NOT NULL) "
            "AND (scope = 'category') = (category_id IS NOT NULL)",
            name="scope_target",
        ),
        sa.CheckConstraint("on_exceed IN ('refuse', 'approve')", name="on_exceed"),
        sa.CheckConstraint("reminder_hours IS NULL OR reminder_hours >= 1", name="reminder"),
        sa.CheckConstraint("escalation_hours IS NULL OR escalation_hours >= 1", name="escalation"),
        sa.Index(
            "uq_approval_policies_one_default",
            "scope",
            unique=True,
            sqlite_where=sa.text("scope = 'default'"),
            postgresql_where=sa.text("scope = 'default'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(10))
    offer_code: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    category_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("categories.id", ondelete="CASCADE"), unique=True
    )
    steps: Mapped[list] = mapped_column(sa.JSON, default=list)
    auto_approve: Mapped[str] = mapped_column(sa.Text, default="")
    reminder_hours: Mapped[int | None] = mapped_column()
    escalation_hours: Mapped[int | None] = mapped_column()
    # what an order past its group's quota does under this policy (quotas): refused, or an
    # extra "Over quota" step for the group's managers
    on_exceed: Mapped[str] = mapped_column(sa.String(10), default="refuse")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column()

    category: Mapped[Category | None] = relationship()
    updated_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class ApprovalStep(db.Model):
    """One step of one order's approval, copied from its policy when the order was placed (a
    later edit of the policy does not change an order already waiting)."""

    __tablename__ = "approval_steps"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "sequence", name="uq_approval_step_sequence"),
        sa.Index("ix_approval_steps_status_started", "status", "started_at"),
        sa.CheckConstraint("mode IN ('one', 'all')", name="mode"),
        APPROVAL_STEP.check_constraint(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"))
    sequence: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(120))
    mode: Mapped[str] = mapped_column(sa.String(3), default="one")
    approvers: Mapped[list] = mapped_column(sa.JSON, default=list)  # the policy's entries
    fallback: Mapped[dict | None] = mapped_column(sa.JSON)
    condition: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=ApprovalStepStatus.WAITING.value)
    # the user ids asked now (the listed approvers reached so far, never the requester)
    asked: Mapped[list] = mapped_column(sa.JSON, default=list)
    reached: Mapped[int] = mapped_column(default=0)  # how many listed approvers were reached
    note: Mapped[str] = mapped_column(sa.Text, default="")  # why skipped, auto-approved, routed
    reminder_hours: Mapped[int | None] = mapped_column()
    escalation_hours: Mapped[int | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column()  # the optimistic lock: one decision wins

    decisions: Mapped[list[ApprovalDecision]] = relationship(
        back_populates="step", order_by="ApprovalDecision.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


APPROVAL_STEP.watch(ApprovalStep.status)


class ApprovalDecision(db.Model):
    """Who decided a step, when, on whose behalf (a delegate for an approver), and why."""

    __tablename__ = "approval_decisions"
    __table_args__ = (
        sa.UniqueConstraint("step_id", "for_user_id", name="uq_approval_decision_once"),
        sa.CheckConstraint("decision IN ('approve', 'reject')", name="decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(
        sa.ForeignKey("approval_steps.id", ondelete="CASCADE"), index=True
    )
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # the approver the decision counts for: the decider, or whom they stand in for
    for_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    on_behalf: Mapped[bool] = mapped_column(default=False)
    decision: Mapped[str] = mapped_column(sa.String(8))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    step: Mapped[ApprovalStep] = relationship(back_populates="decisions")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    for_user: Mapped[User] = relationship(foreign_keys=[for_user_id])


class ApprovalDelegation(db.Model):
    """An approver's approvals handed to another user for a date range (out of office)."""

    __tablename__ = "approval_delegations"
    __table_args__ = (
        sa.CheckConstraint("ends_on >= starts_on", name="range"),
        sa.CheckConstraint("delegate_id <> delegator_id", name="not_self"),
        sa.Index("ix_approval_delegations_delegator", "delegator_id", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delegator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    delegate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    delegator: Mapped[User] = relationship(foreign_keys=[delegator_id])
    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id])
