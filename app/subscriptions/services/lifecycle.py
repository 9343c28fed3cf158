"""The subscription lifecycle: moves through its state machine (app/subscriptions/states.py),
and versioned writes of a subscription's fields, so two racing requests cannot both win."""

from __future__ import annotations

from typing import Any

from ... import clock
from ...accounts.models import User
from ...audit import services as audit
from ...errors import Conflict
from ...i18n import _
from ...versioning import flush_versioned, version_change
from .. import signals
from ..models import OrderType, Subscription, SubscriptionStatus
from ..states import SUBSCRIPTION
from .lease_terms import first_end

S = SubscriptionStatus

# While an order of this type runs, the subscription is in this status.
RUNNING_STATUS = {
    OrderType.NEW: S.FULFILLING,
    OrderType.MODIFY: S.MODIFYING,
    OrderType.TERMINATE: S.TERMINATING,
}


def move(actor: User, subscription: Subscription, to: str, *, reason: str = "") -> None:
    """Move the subscription and flush: refused if the move is not declared, or if someone
    changed the subscription since this request read it (its version)."""
    changes = {
        "status": {"before": subscription.status, "after": str(to)},
        **version_change(subscription),
    }
    before = SUBSCRIPTION.move(subscription, to)
    activated = to == S.ACTIVE and subscription.active_since is None
    if activated:
        subscription.active_since = clock.now()
        if subscription.lease_ends_at is None:
            subscription.lease_ends_at = first_end(subscription, subscription.active_since)
    if to == S.TERMINATED:
        subscription.terminated_at = clock.now()
    if to == S.FAILED:
        subscription.failure_reason = reason
    elif before == S.FAILED:
        subscription.failure_reason = ""
    flush_versioned(subscription, noun="subscription", object_type="subscription")
    audit.record(
        actor, "subscription", subscription.id, "transition", changes=changes, summary=reason[:255]
    )
    if activated:
        signals.subscription_activated.send(subscription)
    elif to == S.TERMINATED:
        signals.subscription_terminated.send(subscription)


def guarded_touch(
    actor: User, subscription: Subscription, action: str, *, summary: str = "", **values: Any
) -> None:
    """Set fields of an active subscription and record it, refused if anyone changed it since
    it was read."""
    if subscription.status != S.ACTIVE:
        raise Conflict(
            _("A %(status)s subscription cannot be changed now.", status=subscription.status),
            fields={"status": [_("It is %(status)s.", status=subscription.status)]},
        )
    changes = {
        **{
            name: {"before": getattr(subscription, name), "after": value}
            for name, value in values.items()
        },
        **version_change(subscription),
    }
    for name, value in values.items():
        setattr(subscription, name, value)
    flush_versioned(subscription, noun="subscription", object_type="subscription")
    audit.record(actor, "subscription", subscription.id, action, changes=changes, summary=summary)
