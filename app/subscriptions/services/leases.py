"""Leases: an offer may give its subscriptions a lease (app/catalog/models.py, LEASE_MAX_CHECK).
A subscription's lease ends `lease_days` after it became active (set by lifecycle.move); its owner
(or a manager of its group) may extend it up to `lease_max_days` after it began; the sweep (the
periodic job `subscriptions.leases` and `flask subscriptions leases`, as the system) warns the
owner once, `lease_warn_days` before the end, in the app and by e-mail, and at the end starts the
subscription's termination through the normal termination flow. The warning is a guarded update
of `lease_warned_at` and the end a versioned status move, so two sweeps racing warn and end once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ... import clock
from ... import validation as check
from ...accounts.models import Role, User
from ...accounts.services import groups, require_role
from ...errors import Conflict, NotAllowed, ValidationFailed
from ...extensions import db
from ...i18n import _, _l, format_day
from ...notifications.models import NotificationKind
from ...notifications.services import notify
from ..models import Order, OrderStatus, OrderType, Subscription, SubscriptionStatus
from .lifecycle import guarded_touch
from .orders import _start_termination
from .subscriptions import subscription_for

S = SubscriptionStatus


def lease_start(subscription: Subscription) -> datetime:
    return clock.as_utc(subscription.active_since or subscription.created_at)


def latest_end(subscription: Subscription) -> datetime | None:
    """The latest end an extension may choose: the end of the day `lease_max_days` (or
    `lease_days`) after it began."""
    offer = subscription.offer
    days = offer.lease_max_days or offer.lease_days
    if subscription.lease_ends_at is None or not days:
        return None
    latest = lease_start(subscription) + timedelta(days=days)
    return latest.replace(hour=23, minute=59, second=0, microsecond=0)


def may_extend(user: User, subscription: Subscription) -> bool:
    """The owner or a manager of the subscription's group, while the lease runs."""
    return (
        subscription.lease_ends_at is not None
        and subscription.status == S.ACTIVE
        and (
            (subscription.owner_id is not None and subscription.owner_id == user.id)
            or groups.is_group_manager(user, subscription.group_id)
        )
    )


def _end_of_day(value: datetime) -> datetime:
    """A chosen date ends the lease at the end of that day (UTC), a time as given."""
    if value.hour == value.minute == value.second == 0:
        return value.replace(hour=23, minute=59, second=0, microsecond=0)
    return value


def extend(actor: User, subscription_id: int, ends: Any) -> Subscription:
    """Move the lease's end later, within the offer's maximum. Authorization first (a
    subscription the actor cannot see is not found; one of the group, not theirs, refused),
    then the date: field-level errors under `lease_ends_at`."""
    subscription = subscription_for(actor, subscription_id)
    if subscription.lease_ends_at is None:
        raise Conflict(
            _("This subscription has no lease to extend."),
            fields={"lease_ends_at": [_("This subscription has no lease.")]},
        )
    if not may_extend(actor, subscription):
        if subscription.status != S.ACTIVE:
            raise Conflict(
                _("A %(status)s subscription cannot be changed now.", status=subscription.status),
                fields={"status": [_("It is %(status)s.", status=subscription.status)]},
            )
        raise NotAllowed(
            _("Only the subscription's owner or a manager of its group can extend it.")
        )
    errors: check.Errors = {}
    when = check.moment(errors, "lease_ends_at", ends)
    if when is None and not errors:
        check.add(errors, "lease_ends_at", _("Choose the new end date."))
    if when is not None:
        when = _end_of_day(when)
        current, latest = clock.as_utc(subscription.lease_ends_at), latest_end(subscription)
        if when <= clock.now():
            check.add(errors, "lease_ends_at", _("The end date must be in the future."))
        elif when <= current:
            check.add(
                errors,
                "lease_ends_at",
                _("Choose a date after the current end, %(day)s.", day=format_day(current)),
            )
        elif latest is not None and when > latest:
            check.add(
                errors,
                "lease_ends_at",
                _("The lease can run until %(day)s at the latest.", day=format_day(latest)),
            )
    if errors:
        raise ValidationFailed(_("The lease could not be extended."), fields=errors)
    guarded_touch(
        actor,
        subscription,
        "lease_extended",
        summary=f"{when:%Y-%m-%d}",
        lease_ends_at=when,
        lease_warned_at=None,  # warned again before the new end
    )
    return subscription


# --- the sweep ---------------------------------------------------------------------------------


def sweep(actor: User, now: datetime | None = None) -> tuple[int, int]:
    """(owners warned, leases ended) in this run."""
    require_role(actor, Role.ADMIN, message=_("Only the system ends leases."))
    now = now or clock.now()
    return _warn_due(now), _end_due(actor, now)


def _warn_due(now: datetime) -> int:
    candidates = db.session.scalars(
        sa.select(Subscription)
        .where(
            Subscription.status == S.ACTIVE,
            Subscription.lease_ends_at.is_not(None),
            Subscription.lease_warned_at.is_(None),
            Subscription.lease_ends_at > now,
        )
        .order_by(Subscription.id)
    ).all()
    warned = 0
    for subscription in candidates:
        days = subscription.offer.lease_warn_days
        ends = clock.as_utc(subscription.lease_ends_at)
        if not days or ends - timedelta(days=days) > now:
            continue
        claimed = db.session.execute(  # the marker: whoever sets it warns, nobody twice
            sa.update(Subscription)
            .where(Subscription.id == subscription.id, Subscription.lease_warned_at.is_(None))
            .values(lease_warned_at=now, version=Subscription.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.refresh(subscription)
        if claimed:
            _warn(subscription, ends)
            warned += 1
    return warned


def _warn(subscription: Subscription, ends: datetime) -> None:
    name = subscription.offer.name
    notify(
        [subscription.owner] if subscription.owner else [],
        _l("Your lease of %(name)s ends on %(day)s", name=name, day=format_day(ends)),
        _l(
            "Your subscription to %(name)s ends on %(day)s. Extend it on its page if you"
            " still need it.",
            name=name,
            day=format_day(ends),
        ),
        f"/subscriptions/{subscription.id}",
        kind=NotificationKind.ORDER_UPDATES,
    )


def _end_due(actor: User, now: datetime) -> int:
    due = db.session.scalars(
        sa.select(Subscription)
        .where(Subscription.status == S.ACTIVE, Subscription.lease_ends_at <= now)
        .order_by(Subscription.id)
    ).all()
    for subscription in due:
        _start_termination(actor, _termination_order(actor, subscription, now))
    return len(due)


def _termination_order(actor: User, subscription: Subscription, now: datetime) -> Order:
    """The subscription's scheduled termination, if it has one, or a new one by the system."""
    scheduled = db.session.scalar(
        sa.select(Order).where(
            Order.subscription_id == subscription.id, Order.status == OrderStatus.SCHEDULED
        )
    )
    if scheduled is not None:
        return scheduled
    order = Order(
        subscription_id=subscription.id,
        order_type=OrderType.TERMINATE.value,
        options=subscription.options,
        agreement={},
        idempotency_key=f"lease-end-{subscription.id}-{now.astimezone(UTC):%Y%m%d%H%M}",
        request_fingerprint="",
        requested_by_id=actor.id,
        created_at=now,
        status=OrderStatus.IN_PROGRESS.value,
    )
    db.session.add(order)
    db.session.flush()
    return order
