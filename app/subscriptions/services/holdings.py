"""Holdings: how many active subscriptions of an offer one person and one group may hold (the
offer's `max_per_person` and `max_per_group`; none: any number), checked when an order would add
one: a new order, or a change to another offer.

The check is atomic. Before counting, the order takes the write lock of the offer's settings row
with a guarded UPDATE (it changes nothing): on PostgreSQL a second order of the same offer waits
on that row until the first commits, then counts what it committed; on SQLite the UPDATE takes
the database's write lock, which is taken before anything of the order is read inside the
transaction, so the count always sees the orders committed before. Two concurrent orders
cannot both pass (tests/subscriptions/test_holdings.py races two connections)."""

from __future__ import annotations

import sqlalchemy as sa

from ...accounts.models import ConsumerGroup, User
from ...catalog.models import OfferSettings, ServiceOffer
from ...errors import InvalidTransition
from ...extensions import db
from ...i18n import _
from ..models import Subscription, SubscriptionStatus

S = SubscriptionStatus
# what a person holds: every subscription not ended (a failed one is not held: its order did
# not deliver, so the consumer may order again)
HELD_STATUSES = (S.REQUESTED, S.FULFILLING, S.ACTIVE, S.MODIFYING, S.TERMINATING)


def _held(offer_code: str, *conditions) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Subscription.id)).where(
            Subscription.offer_code == offer_code,
            Subscription.status.in_(HELD_STATUSES),
            *conditions,
        )
    )


def refusal(person: User, group: ConsumerGroup | None, offer: ServiceOffer) -> str | None:
    """Why `person` (ordering for `group`) may not hold one more subscription of the offer, or
    None. Reads only: `reserve` is the atomic check."""
    if offer.max_per_person is not None:
        held = _held(offer.code, Subscription.owner_id == person.id)
        if held >= offer.max_per_person:
            return _(
                "You already have %(held)d active subscription(s) of %(name)s, and one person "
                "may hold %(limit)d. Use or change the one you have (see My subscriptions).",
                held=held,
                name=offer.name,
                limit=offer.max_per_person,
            )
    if offer.max_per_group is not None and group is not None:
        held = _held(offer.code, Subscription.group_id == group.id)
        if held >= offer.max_per_group:
            return _(
                "%(group)s already has %(held)d active subscription(s) of %(name)s, and one "
                "group may hold %(limit)d.",
                group=group.name,
                held=held,
                name=offer.name,
                limit=offer.max_per_group,
            )
    return None


def reserve(person: User, group: ConsumerGroup, offer: ServiceOffer) -> None:
    """Refuse (InvalidTransition) one more subscription of the offer past its limits; else hold
    the offer's order lock until this unit of work ends, so the subscription added next counts
    for every concurrent order of the offer."""
    if offer.max_per_person is None and offer.max_per_group is None:
        return
    locked = db.session.execute(
        sa.update(OfferSettings)
        .where(OfferSettings.offer_code == offer.code)
        .values(featured=OfferSettings.featured)
    ).rowcount
    if not locked:  # an offer without its settings row: its live revision's row is the lock
        db.session.execute(
            sa.update(ServiceOffer)
            .where(ServiceOffer.id == offer.id)
            .values(code=ServiceOffer.code)
        )
    reason = refusal(person, group, offer)
    if reason is not None:
        raise InvalidTransition(reason, fields={"offer_id": [reason]})
