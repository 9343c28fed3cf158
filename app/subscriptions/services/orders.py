"""Orders of the Consume stream: subscribe (agree and order), modify, terminate (now or at a date,
and cancel that date). Each is idempotent: a retried request gets its first order back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ... import clock
from ... import validation as check
from ...accounts.models import ConsumerGroup, Role, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...catalog.models import ServiceOffer
from ...errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from ...extensions import db
from ...i18n import _, format_day
from ...inputs import whole_number
from ...versioning import flush_versioned
from .. import signals
from ..models import Order, OrderStatus, OrderType, Subscription, SubscriptionStatus
from ..states import ORDER, SUBSCRIPTION
from . import approvals, holdings, lease_terms, on_behalf, quotas
from .contracts import agreement
from .fulfillment import advance, plan_tasks
from .lifecycle import guarded_touch, move
from .selection import change_target, clean_options, orderable_offer
from .subscriptions import subscription_for

S = SubscriptionStatus


# --- idempotency -----------------------------------------------------------------------------


def _fingerprint(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _existing_order(user: User, key: str, fingerprint: str) -> Order | None:
    order = db.session.scalar(
        sa.select(Order).where(Order.requested_by_id == user.id, Order.idempotency_key == key)
    )
    if order is not None and order.request_fingerprint != fingerprint:
        raise Conflict(
            _("This idempotency key was already used for a different request."),
            fields={"idempotency_key": [_("Use a new key for a new request.")]},
        )
    return order


def placed_with(user: User, key: str) -> Order | None:
    """The order `user` already placed with this idempotency key, if any."""
    return db.session.scalar(
        sa.select(Order).where(Order.requested_by_id == user.id, Order.idempotency_key == key[:100])
    )


def _clean_key(key: Any) -> str:
    key = str(key or "").strip()
    if not key or len(key) > 100:
        raise ValidationFailed(
            _("An idempotency key (1–100 characters) is required."),
            fields={"idempotency_key": [_("Send a unique key for this request.")]},
        )
    return key


def _insert_order_once(
    user: User, key: str, fingerprint: str, build: Callable[[], Order]
) -> tuple[Order, bool]:
    """Run `build()` (which adds an order and its rows, and flushes); a concurrent or repeated
    request with the same key gets the first order back instead of a second one. The unique
    index on the key answers the concurrent one when the first commits; this unit of work then
    holds nothing but the lost attempt, so it is rolled back before the first order is read
    (not a SAVEPOINT: `build` may itself end in flush_versioned's rollback of a stale write)."""
    existing = _existing_order(user, key, fingerprint)
    if existing is not None:
        return existing, False
    try:
        order = build()
    except IntegrityError:
        db.session.rollback()
        existing = _existing_order(user, key, fingerprint)
        if existing is None:
            raise
        return existing, False
    return order, True


# --- subscribe --------------------------------------------------------------------------------


def ordering_group(user: User, group_id: Any) -> ConsumerGroup:
    """The group an order of `user` is for: the one chosen (one of theirs), else their first."""
    groups = {group.id: group for group in user.groups}
    if not groups:
        raise ValidationFailed(
            _("You are in no consumer group, so you cannot subscribe."),
            fields={"group_id": [_("Ask an administrator to add you to a group.")]},
        )
    if group_id in (None, ""):
        return next(iter(sorted(groups.values(), key=lambda g: g.name)))
    try:
        group = groups.get(int(group_id))
    except (TypeError, ValueError):
        group = None
    if group is None:
        raise ValidationFailed(
            _("Choose one of your groups."), fields={"group_id": [_("Choose one of your groups.")]}
        )
    return group


def require_consumer(actor: User) -> None:
    require_role(actor, Role.CONSUMER, message=_("Only consumers subscribe to offers."))


def changeable_subscription(actor: User, subscription_id: int) -> Subscription:
    """The subscription, if the actor is a consumer of its group and so may change or end it."""
    require_role(actor, Role.CONSUMER, message=_("Only consumers change their subscriptions."))
    subscription = subscription_for(actor, subscription_id)
    _require_consumer_of(actor, subscription)
    return subscription


def subscribe(
    actor: User,
    offer_id: Any,
    *,
    options: Any,
    accept_terms: bool,
    idempotency_key: Any,
    group_id: Any = None,
    requested_for: User | str | int | None = None,
    lease_ends_on: Any = None,
) -> tuple[Order, bool]:
    """Agree to an offer's terms and order it. Returns (order, created); a retried request with the
    same idempotency key returns the first order with created False. With `requested_for` (a
    colleague: a user, an e-mail address or an id), the actor orders for them
    (app/subscriptions/services/on_behalf.py): they own the subscription. `lease_ends_on`: the
    day the lease ends, for an offer whose orderer chooses it (lease_terms.py)."""
    require_consumer(actor)
    owner = actor if requested_for is None else on_behalf.find_beneficiary(actor, requested_for)
    key = _clean_key(idempotency_key)
    offer = orderable_offer(actor, offer_id)
    if accept_terms is not True:
        raise ValidationFailed(
            _("Accept the terms and conditions to order."),
            fields={"accept_terms": [_("You must accept the terms to order.")]},
        )
    cleaned, chosen = _options_and_end(offer, options, lease_ends_on)
    group = on_behalf.order_group(actor, owner, group_id) or ordering_group(actor, group_id)
    parts = {"kind": "new", "offer": offer.id, "options": cleaned, "group": group.id}
    if owner.id != actor.id:
        parts["for"] = owner.id
    if chosen is not None:
        parts["lease_ends_on"] = chosen.date().isoformat()
    fingerprint = _fingerprint(**parts)
    return _insert_order_once(
        actor,
        key,
        fingerprint,
        lambda: _new_subscription(
            actor, offer, group, cleaned, key=key, fingerprint=fingerprint, owner=owner, end=chosen
        ),
    )


def _options_and_end(offer: ServiceOffer, options: Any, ends_on: Any) -> tuple[dict, Any]:
    """The cleaned options and the chosen lease end, their field errors reported together."""
    errors: check.Errors = {}
    chosen = lease_terms.chosen_end(errors, offer, ends_on)
    try:
        cleaned = clean_options(offer, options)
    except ValidationFailed as error:
        raise ValidationFailed(error.message, fields={**error.fields, **errors}) from None
    if errors:
        raise ValidationFailed(_("Choose when the lease ends."), fields=errors)
    return cleaned, chosen


def subscribe_for(
    actor: User,
    offer_id: Any,
    people: Iterable[User | str | int],
    *,
    options: Any,
    accept_terms: bool,
    idempotency_key: Any,
    group_id: Any = None,
    lease_ends_on: Any = None,
) -> list[tuple[Order, bool]]:
    """Order the offer once for each person (the actor among them, or not), up to
    on_behalf.MAX_BENEFICIARIES: all or none. The first refusal raises, and the caller's
    rollback takes back the orders placed before it. Each order's key is derived from
    `idempotency_key` (`key`, `key#2`, ...), so a retried submission gets its orders back."""
    beneficiaries = on_behalf.beneficiaries_from(actor, people)
    key = str(idempotency_key or "").strip()
    return [
        subscribe(
            actor,
            offer_id,
            options=options,
            accept_terms=accept_terms,
            idempotency_key=on_behalf.derived_key(key, position) if key else key,
            group_id=group_id,
            requested_for=beneficiary,
            lease_ends_on=lease_ends_on,
        )
        for position, beneficiary in enumerate(beneficiaries, start=1)
    ]


def _new_subscription(
    actor: User,
    offer: ServiceOffer,
    group: ConsumerGroup,
    cleaned: dict,
    *,
    key: str,
    fingerprint: str,
    owner: User,
    end: datetime | None = None,
) -> Order:
    """The subscription, its new-instance order, its contract and its tasks, started (if the
    owner and the group may hold one more, within the group's quotas)."""
    holdings.reserve(owner, group, offer)
    breaches = quotas.reserve(group, offer, on_exceed=approvals.on_exceed(offer))
    subscription = Subscription(
        offer_id=offer.id,
        offer_code=offer.code,
        group_id=group.id,
        owner_id=owner.id,
        requested_by_id=actor.id,
        status=S.REQUESTED.value,
        options=cleaned,
        created_at=clock.now(),
        lease_chosen_end=end,
    )
    db.session.add(subscription)
    db.session.flush()
    agreed = agreement(offer, cleaned, actor) | lease_terms.snapshot(offer, end)
    steps = approvals.plan(offer, agreed, breaches)  # an order that needs approval waits for it
    order = Order(
        subscription_id=subscription.id,
        order_type=OrderType.NEW.value,
        options=cleaned,
        agreement=agreed,
        idempotency_key=key,
        request_fingerprint=fingerprint,
        requested_by_id=actor.id,
        created_at=clock.now(),
        status=approvals.initial_status(steps),
    )
    db.session.add(order)
    db.session.flush()  # the idempotency key's unique index answers here, before more work
    audit.record(
        actor,
        "subscription",
        subscription.id,
        "ordered",
        summary=f"{offer.code} for {group.name}"
        + (f" on behalf of {owner.email}" if owner.id != actor.id else ""),
        changes={"status": {"before": None, "after": S.REQUESTED.value}}
        | ({"owner": {"before": None, "after": owner.email}} if owner.id != actor.id else {}),
    )
    signals.subscription_ordered.send(subscription)
    on_behalf.tell_both(actor, subscription)
    approvals.begin(actor, order, steps)
    return order


# --- modify ----------------------------------------------------------------------------------


def modify(
    actor: User,
    subscription_id: int,
    *,
    options: Any = None,
    target_offer_id: Any = None,
    accept_terms: bool,
    idempotency_key: Any,
) -> tuple[Order, bool]:
    """Change options, or move to another offer: a modification order and, when done, an amended contract."""
    subscription = changeable_subscription(actor, subscription_id)
    key = _clean_key(idempotency_key)
    target = _change_target(actor, subscription, target_offer_id)
    _refuse_if_end_scheduled(subscription)
    if accept_terms is not True:
        raise ValidationFailed(
            _("Accept the terms and conditions to change the subscription."),
            fields={"accept_terms": [_("You must accept the terms.")]},
        )
    cleaned = clean_options(target, options if options is not None else subscription.options)
    fingerprint = _fingerprint(
        kind="modify", subscription=subscription.id, target=target.id, options=cleaned
    )
    replayed = _existing_order(actor, key, fingerprint)  # a retried request gets its order back
    if replayed is not None:
        return replayed, False
    if target.id == subscription.offer_id and cleaned == subscription.options:
        raise ValidationFailed(
            _("Nothing to change: choose other options or another offer."),
            fields={"options": [_("These are the current options.")]},
        )

    def build() -> Order:
        return _modification(actor, subscription, target, cleaned, key, fingerprint)

    return _insert_order_once(actor, key, fingerprint, build)


def _modification(
    actor: User,
    subscription: Subscription,
    target: ServiceOffer,
    cleaned: dict,
    key: str,
    fingerprint: str,
) -> Order:
    """The modification order: waiting for approval when the target's policy asks for it, else
    its tasks started."""
    if target.code != subscription.offer_code:
        holdings.reserve(subscription.owner or actor, subscription.group, target)
    breaches = []
    if target.id != subscription.offer_id:
        breaches = quotas.reserve(
            subscription.group,
            target,
            replacing=subscription,
            on_exceed=approvals.on_exceed(target),
        )
    move(actor, subscription, S.MODIFYING)
    agreed = agreement(target, cleaned, actor)
    steps = approvals.plan(target, agreed, breaches)  # the target's policy decides
    order = Order(
        subscription_id=subscription.id,
        order_type=OrderType.MODIFY.value,
        target_offer_id=target.id,
        options=cleaned,
        agreement=agreed,
        idempotency_key=key,
        request_fingerprint=fingerprint,
        requested_by_id=actor.id,
        created_at=clock.now(),
        status=approvals.initial_status(steps),
    )
    db.session.add(order)
    db.session.flush()
    approvals.begin(actor, order, steps)
    return order


def _change_target(actor: User, subscription: Subscription, target_offer_id: Any) -> ServiceOffer:
    """The offer after the change: the current one, or one the subscription may change to that
    the actor may order now."""
    if (
        target_offer_id in (None, "")
        or int(_int(target_offer_id, "target_offer_id")) == subscription.offer_id
    ):
        return subscription.offer
    return change_target(actor, subscription, target_offer_id)


# --- terminate -------------------------------------------------------------------------------


def terminate(
    actor: User, subscription_id: int, *, at: Any = None, idempotency_key: Any
) -> tuple[Order, bool]:
    """End now, or at a chosen date (the order waits, scheduled, until then)."""
    subscription = changeable_subscription(actor, subscription_id)
    key = _clean_key(idempotency_key)
    errors: check.Errors = {}
    when = check.moment(errors, "at", at)
    if when is not None and when < clock.now().replace(second=0, microsecond=0):
        check.add(errors, "at", _("The end date cannot be in the past."))
    if errors:
        raise ValidationFailed(_("The subscription could not be ended."), fields=errors)
    fingerprint = _fingerprint(kind="terminate", subscription=subscription.id, at=when)
    replayed = _existing_order(actor, key, fingerprint)  # a retried request gets its order back
    if replayed is not None:
        return replayed, False
    if subscription.status != S.ACTIVE:
        raise Conflict(
            _("A %(status)s subscription cannot be ended now.", status=subscription.status),
            fields={"status": [_("It is %(status)s.", status=subscription.status)]},
        )
    _refuse_if_end_scheduled(subscription)
    scheduled = when is not None and when > clock.now()

    def build() -> Order:
        order = Order(
            subscription_id=subscription.id,
            order_type=OrderType.TERMINATE.value,
            options=subscription.options,
            agreement={},
            idempotency_key=key,
            request_fingerprint=fingerprint,
            requested_by_id=actor.id,
            created_at=clock.now(),
            scheduled_for=when if scheduled else None,
            status=(OrderStatus.SCHEDULED if scheduled else OrderStatus.IN_PROGRESS).value,
        )
        db.session.add(order)
        db.session.flush()
        if scheduled:
            guarded_touch(
                actor,
                subscription,
                "termination_scheduled",
                summary=f"{when:%Y-%m-%d}",
                terminates_on=when,
            )
        else:
            _start_termination(actor, order)
        return order

    return _insert_order_once(actor, key, fingerprint, build)


def _refuse_if_end_scheduled(subscription: Subscription) -> None:
    if subscription.terminates_on is not None:
        raise Conflict(
            _(
                "This subscription ends on %(day)s: cancel that end date first.",
                day=format_day(subscription.terminates_on),
            ),
            fields={"at": [_("An end date is already scheduled.")]},
        )


def _start_termination(actor: User, order: Order) -> None:
    """The end starts: the subscription (and a bundle's members) terminating, the order's
    step planned and advanced."""
    subscription = order.subscription
    move(actor, subscription, S.TERMINATING)
    for member in subscription.children:
        if SUBSCRIPTION.allows(member.status, S.TERMINATING):
            move(actor, member, S.TERMINATING)
    if order.status == OrderStatus.SCHEDULED:
        ORDER.move(order, OrderStatus.IN_PROGRESS)
    plan_tasks(actor, order, subscription, subscription.offer)
    advance(actor, order)


def process_due(actor: User, now: datetime | None = None) -> int:
    """Start terminations whose date has come. Run by `flask subscriptions process` and by the
    periodic job (as the system), never by a page view; all in the caller's unit of work, so a
    run that loses a race to a consumer's cancellation starts nothing and the next run retries."""
    require_role(actor, Role.ADMIN, message=_("Only the system starts due terminations."))
    now = now or clock.now()
    due = db.session.scalars(
        sa.select(Order)
        .where(Order.status == OrderStatus.SCHEDULED, Order.scheduled_for <= now)
        .order_by(Order.id)
    ).all()
    started = 0
    for order in due:
        if SUBSCRIPTION.allows(order.subscription.status, S.TERMINATING):
            _start_termination(actor, order)
            started += 1
    return started


def cancel_scheduled_termination(actor: User, subscription_id: int) -> Subscription:
    subscription = changeable_subscription(actor, subscription_id)
    order = db.session.scalar(
        sa.select(Order).where(
            Order.subscription_id == subscription.id, Order.status == OrderStatus.SCHEDULED
        )
    )
    if order is None:
        raise InvalidTransition(
            _("No end date is scheduled."), fields={"at": [_("Nothing scheduled.")]}
        )
    # the subscription's row first, then the order's, in the order the processing job takes
    # them, so the two never wait on each other
    guarded_touch(actor, subscription, "termination_cancelled", terminates_on=None)
    db.session.delete(order)
    flush_versioned(order, noun="order", object_type="order")
    return subscription


def _require_consumer_of(actor: User, subscription: Subscription) -> None:
    if subscription.group_id not in actor.group_ids or not actor.has_role(Role.CONSUMER):
        raise NotAllowed(_("Only consumers of this subscription's group can change it."))


def _int(value: Any, field: str) -> int:
    number = whole_number(value)
    if number is None:
        raise ValidationFailed(
            _("Choose from the list."), fields={field: [_("Choose from the list.")]}
        )
    return number
