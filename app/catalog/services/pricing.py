"""Prices: the price in force, price history and dated price changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ... import clock
from ... import validation as check
from ...accounts.models import User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _
from .. import prices, signals
from ..models import PriceChange, ServiceOffer
from .access import CATALOG_ROLES
from .revisions import revisions_of


def effective_prices(codes: Iterable[str], at: datetime | None = None) -> dict[str, PriceChange]:
    """The latest price change in force at `at` for each code that has one, in one query."""
    codes = sorted(set(codes))
    if not codes:
        return {}
    at = at or clock.now()
    by_code: dict[str, list[PriceChange]] = {}
    for change in db.session.scalars(
        sa.select(PriceChange).where(
            PriceChange.offer_code.in_(codes), PriceChange.effective_from <= at
        )
    ):
        by_code.setdefault(change.offer_code, []).append(change)
    return {code: prices.change_in_force(changes, at) for code, changes in by_code.items()}


def current_price(
    offer: ServiceOffer, at: datetime | None = None
) -> tuple[Decimal | None, Decimal]:
    """(price, cost) in force now: the latest effective price change, else the offer's own."""
    return prices.in_force(offer, price_history(offer.code), at or clock.now())


def in_force_by_id(
    offers: Iterable[ServiceOffer], at: datetime | None = None
) -> dict[int, tuple[Decimal | None, Decimal | None]]:
    """(price, cost) in force at `at` for each offer (revision), by id, in one query."""
    offers = list(offers)
    found = {
        offer_id: (price, cost)
        for offer_id, price, cost in db.session.execute(
            sa.select(
                ServiceOffer.id,
                prices.price_in_force(at or clock.now()),
                prices.cost_in_force(at or clock.now()),
            ).where(ServiceOffer.id.in_([offer.id for offer in offers if offer.id is not None]))
        )
    }
    return {offer.id: found.get(offer.id, (offer.price, offer.cost)) for offer in offers}


def price_history(code: str) -> list[PriceChange]:
    return list(
        db.session.scalars(
            sa.select(PriceChange)
            .where(PriceChange.offer_code == code)
            .order_by(PriceChange.effective_from.desc())
        )
    )


def price_of_revision(actor: User | None, offer: ServiceOffer, previous: ServiceOffer) -> None:
    """A revision that changes the price or cost makes it the price from its publication;
    otherwise the price history (which belongs to the code) would keep an older price."""
    if (offer.price, offer.cost) == (previous.price, previous.cost) or offer.price is None:
        return
    moment = offer.published_at
    if db.session.scalar(
        sa.select(PriceChange.id).where(
            PriceChange.offer_code == offer.code, PriceChange.effective_from == moment
        )
    ):
        return
    change = PriceChange(
        offer_code=offer.code,
        price=offer.price,
        cost=offer.cost,
        effective_from=moment,
        reason=_("Revision %(revision)s", revision=offer.revision),
        created_at=moment,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(change)
    db.session.flush()
    audit.record(
        actor,
        "price_change",
        change.id,
        "created",
        changes=audit.diff(
            {}, {"price": offer.price, "cost": offer.cost, "effective_from": moment}
        ),
        summary=offer.code,
    )


def add_price_change(
    actor: User | None,
    code: str,
    *,
    price: Any,
    cost: Any = None,
    effective_from: Any,
    reason: str = "",
) -> PriceChange:
    require_role(actor, *CATALOG_ROLES, message=_("Only catalog managers change prices."))
    if not revisions_of(code):
        raise NotFound(_("No such offer."))
    errors: check.Errors = {}
    amount = check.money(errors, "price", price, required=True)
    cost_amount = check.money(errors, "cost", cost)
    effective = check.moment(errors, "effective_from", effective_from)
    if effective is None and "effective_from" not in errors:
        check.add(errors, "effective_from", _("Enter the date the price takes effect."))
    reason = check.text(errors, "reason", reason, max_length=300)
    if effective is not None and db.session.scalar(
        sa.select(PriceChange).where(
            PriceChange.offer_code == code, PriceChange.effective_from == effective
        )
    ):
        check.add(
            errors, "effective_from", _("A price change already takes effect at that moment.")
        )
    if errors:
        raise ValidationFailed(_("The price change could not be saved."), fields=errors)
    change = PriceChange(
        offer_code=code,
        price=amount,
        cost=cost_amount,
        effective_from=effective,
        reason=reason,
        created_at=clock.now(),
        created_by_id=actor.id if actor else None,
    )
    db.session.add(change)
    db.session.flush()
    audit.record(
        actor,
        "price_change",
        change.id,
        "created",
        changes=audit.diff({}, {"price": amount, "cost": cost_amount, "effective_from": effective}),
        summary=code,
    )
    db.session.flush()
    signals.price_change_scheduled.send(change)
    return change


def prices_in_force(offers: Iterable[ServiceOffer]) -> dict[str, Decimal | None]:
    """The price in force now for each offer's code, in one query."""
    offers = list(offers)
    in_force = in_force_by_id(offers)
    return {offer.code: in_force[offer.id][0] for offer in offers}


def next_price_change(code: str) -> PriceChange | None:
    """The soonest price change still to take effect, if any."""
    upcoming = [change for change in price_history(code) if change.effective_from > clock.now()]
    return upcoming[-1] if upcoming else None
