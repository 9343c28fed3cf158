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
from sqlalchemy.orm.attributes import flag_modified

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
from . import approvals, lease_approval, policies
from .contracts import agreement
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


def pending_extension(subscription: Subscription) -> dict | None:
    """The extension waiting for approval, for the subscription's page: its order and end."""
    if subscription.lease_ends_at is None or subscription.status != S.ACTIVE:
        return None
    order = lease_approval.pending(subscription)
    return {"order": order, "ends": lease_approval.requested_end(order)} if order else None


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
    then the date: field-level errors under `lease_ends_at`. For an offer whose extensions
    need approval the end does not move: an `extend_lease` order waits for approval
    (lease_approval.pending(subscription) is it; one at a time)."""
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
    waiting = lease_approval.pending(subscription)
    if waiting is not None:
        day = format_day(lease_approval.requested_end(waiting))
        message = _("An extension to %(day)s already waits for approval.", day=day)
        raise Conflict(message, fields={"lease_ends_at": [message]})
    when = _new_end(subscription, ends)
    if subscription.offer.lease_extension_needs_approval:
        _ask_approval(actor, subscription, when)
        return subscription
    guarded_touch(
        actor,
        subscription,
        "lease_extended",
        summary=f"{when:%Y-%m-%d}",
        lease_ends_at=when,
        lease_warned_at=None,  # warned again before the new end
    )
    return subscription


def _new_end(subscription: Subscription, ends: Any) -> datetime:
    """The chosen new end, or field-level errors under `lease_ends_at`."""
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
    if errors or when is None:
        raise ValidationFailed(_("The lease could not be extended."), fields=errors)
    return when


def _ask_approval(actor: User, subscription: Subscription, when: datetime) -> Order:
    """The extension as an order waiting for approval: the offer's policy's steps (their
    conditions over the subscription's price and options; never auto-approved), or, when none
    of them waits, one "Lease extension" step for the group's managers (routing's fallbacks
    apply: never the requester or the owner)."""
    offer = subscription.offer
    agreed = agreement(offer, subscription.options, actor) | {"lease_ends_at": when.isoformat()}
    steps = approvals.plan(offer, agreed, auto_approve=False)
    if not approvals.waits(steps):
        steps = [
            approvals.extension_step(
                policies.policy_for(offer), len(steps) + 1, _("Lease extension")
            )
        ]
    # the subscription's version moves with the request: of two racing requests one is placed
    flag_modified(subscription, "options")
    guarded_touch(actor, subscription, "lease_extension_requested", summary=f"{when:%Y-%m-%d}")
    order = Order(
        subscription_id=subscription.id,
        order_type=OrderType.EXTEND_LEASE.value,
        options={"lease_ends_at": when.isoformat()},
        agreement=agreed,
        idempotency_key=f"lease-extension-{subscription.id}-v{subscription.version}",
        request_fingerprint="",
        requested_by_id=actor.id,
        created_at=clock.now(),
        status=approvals.initial_status(steps),
    )
    db.session.add(order)
    db.session.flush()
    approvals.begin(actor, order, steps)
    return order


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
        waiting = lease_approval.pending(subscription)
        if waiting is not None:  # too late to decide: the lease has ended
            approvals.withdraw(actor, waiting, _("The lease ended before it was decided."))
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
