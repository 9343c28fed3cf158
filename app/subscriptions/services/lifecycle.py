"""The subscription lifecycle: the one transition table, and the guarded writes of a
subscription's status and fields, so two racing requests cannot both win."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ... import clock
from ...accounts.models import User
from ...audit import services as audit
from ...errors import Conflict, InvalidTransition
from ...extensions import db
from ..models import OrderType, Subscription, SubscriptionStatus

S = SubscriptionStatus

# The one table for the subscription lifecycle.
SUBSCRIPTION_TRANSITIONS: dict[str, set[str]] = {
    S.REQUESTED: {S.FULFILLING, S.FAILED},
    S.FULFILLING: {S.ACTIVE, S.FAILED},
    S.ACTIVE: {S.MODIFYING, S.TERMINATING},
    S.MODIFYING: {S.ACTIVE, S.FAILED},
    S.TERMINATING: {S.TERMINATED, S.FAILED},
    S.FAILED: {S.FULFILLING, S.MODIFYING, S.TERMINATING},  # an agent retries the failed order
    S.TERMINATED: set(),
}

# While an order of this type runs, the subscription is in this status.
RUNNING_STATUS = {
    OrderType.NEW: S.FULFILLING,
    OrderType.MODIFY: S.MODIFYING,
    OrderType.TERMINATE: S.TERMINATING,
}


def move(actor: User | None, subscription: Subscription, to: str, *, reason: str = "") -> None:
    """Change status with a guarded UPDATE so two racing requests cannot both win."""
    before = subscription.status
    if to not in SUBSCRIPTION_TRANSITIONS.get(before, set()):
        raise InvalidTransition(
            f"A {before} subscription cannot become {to}.",
            fields={"status": [f"Subscription is {before}."]},
        )
    values: dict[str, Any] = {"status": to, "version": Subscription.version + 1}
    if to == S.ACTIVE and subscription.active_since is None:
        values["active_since"] = clock.now()
    if to == S.TERMINATED:
        values["terminated_at"] = clock.now()
    if to == S.FAILED:
        values["failure_reason"] = reason
    elif before == S.FAILED:
        values["failure_reason"] = ""
    result = db.session.execute(
        sa.update(Subscription)
        .where(
            Subscription.id == subscription.id,
            Subscription.status == before,
            Subscription.version == subscription.version,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(
            "Someone else changed this subscription at the same moment; reload and try again.",
            fields={"version": ["The subscription changed."]},
        )
    db.session.refresh(subscription)
    audit.record(
        actor,
        "subscription",
        subscription.id,
        "transition",
        changes={"status": {"before": before, "after": to}},
        summary=reason[:255],
    )


def guarded_touch(subscription: Subscription, **values: Any) -> None:
    """Set fields of an active subscription, refused if anyone changed it since it was read."""
    result = db.session.execute(
        sa.update(Subscription)
        .where(
            Subscription.id == subscription.id,
            Subscription.version == subscription.version,
            Subscription.status == S.ACTIVE,
        )
        .values(version=Subscription.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(
            "Someone else changed this subscription at the same moment; reload and try again.",
            fields={"version": ["The subscription changed."]},
        )
    db.session.refresh(subscription)
