"""A lease extension that needs approval (the offer's `lease_extension_needs_approval`) is an
order of its own type, `extend_lease`, carrying only the new end: it waits in
`awaiting_approval` like any order (approvals.py: the same steps, routing, reminders, inbox and
decisions; the order's declared state machine, CHECKed in the database), and the lease's end
does not move meanwhile. Approved, the order goes `in_progress` and at once `completed`: the
new end applies and the warning marker is cleared. Rejected or withdrawn: the lease ends as
before. Placing it is leases.extend's; this module is what approvals.py calls."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ... import clock
from ...accounts.models import User
from ...audit import services as audit
from ...extensions import db
from ...versioning import flush_versioned, version_change
from ..models import Order, OrderStatus, OrderType, Subscription, SubscriptionStatus
from ..states import ORDER
from .lifecycle import guarded_touch

EXTEND = OrderType.EXTEND_LEASE


def requested_end(order: Order) -> datetime | None:
    value = (order.options or {}).get("lease_ends_at")
    return clock.as_utc(datetime.fromisoformat(value)) if value else None


def pending(subscription: Subscription) -> Order | None:
    """The subscription's extension waiting for approval, if any."""
    return db.session.scalar(
        sa.select(Order)
        .where(
            Order.subscription_id == subscription.id,
            Order.order_type == EXTEND.value,
            Order.status == OrderStatus.AWAITING_APPROVAL.value,
        )
        .order_by(Order.id.desc())
        .limit(1)
    )


def apply(actor: User, order: Order) -> None:
    """The approved extension: the new end, while the lease still runs; the order completed
    either way (with why nothing moved, if the subscription is no longer active or the new end
    has passed: the sweep withdraws an extension whose lease it ends, so this is rare)."""
    subscription, when = order.subscription, requested_end(order)
    changes = version_change(order)
    runs = subscription.status == SubscriptionStatus.ACTIVE and subscription.lease_ends_at
    ORDER.move(order, OrderStatus.COMPLETED)
    if runs and when is not None and when > clock.now():
        guarded_touch(
            actor,
            subscription,
            "lease_extended",
            summary=f"{when:%Y-%m-%d}, approved (order {order.id})",
            lease_ends_at=when,
            lease_warned_at=None,  # warned again before the new end
        )
    else:
        order.failure_reason = f"Not applied: the subscription is {subscription.status}."
    order.completed_at = clock.now()
    flush_versioned(order, noun="order", object_type="order")
    audit.record(actor, "order", order.id, str(order.status), changes=changes, summary=EXTEND)
