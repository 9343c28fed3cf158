"""The one pricing rule: the price in force at a moment is the latest PriceChange of the offer's
code whose effective_from is at or before that moment, else the offer's own price (and the cost
likewise: the change's cost when it has one, else the offer's). `price_in_force(now)` and
`cost_in_force(now)` are the rule in SQL, correlated over ServiceOffer, for pages, the API,
search and exports; `in_force` is its Python twin for one offer whose price history is loaded.
Money is Decimal throughout."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from .models import MONEY, PriceChange, ServiceOffer


def _latest_in_force(column, now: datetime):
    return (
        sa.select(column)
        .where(PriceChange.offer_code == ServiceOffer.code, PriceChange.effective_from <= now)
        .order_by(PriceChange.effective_from.desc())
        .limit(1)
        .correlate(ServiceOffer)
        .scalar_subquery()
    )


def price_in_force(now: datetime) -> sa.ColumnElement[Decimal]:
    """The price in force at `now`, as SQL over ServiceOffer."""
    return sa.func.coalesce(
        _latest_in_force(PriceChange.price, now), ServiceOffer.price, type_=MONEY
    )


def cost_in_force(now: datetime) -> sa.ColumnElement[Decimal]:
    """The cost in force at `now`, as SQL over ServiceOffer: the latest change's cost when it
    names one, else the offer's own."""
    return sa.func.coalesce(_latest_in_force(PriceChange.cost, now), ServiceOffer.cost, type_=MONEY)


def changes_in_force(now: datetime) -> sa.Subquery:
    """The rule as a set to join on the offer's code, for queries over thousands of offers:
    per code, its latest change in force at `now` (offer_code, price, cost); a code without
    one has no row. One pass over the changes, where the correlated form probes once per offer."""
    latest = (
        sa.select(
            PriceChange.offer_code.label("offer_code"),
            sa.func.max(PriceChange.effective_from).label("effective_from"),
        )
        .where(PriceChange.effective_from <= now)
        .group_by(PriceChange.offer_code)
        .subquery()
    )
    return (
        sa.select(PriceChange.offer_code, PriceChange.price, PriceChange.cost)
        .join(
            latest,
            sa.and_(
                latest.c.offer_code == PriceChange.offer_code,
                latest.c.effective_from == PriceChange.effective_from,
            ),
        )
        .subquery("changes_in_force")
    )


def change_in_force(changes: Iterable[PriceChange], now: datetime) -> PriceChange | None:
    """The latest of an offer's price changes in force at `now`, if any."""
    in_force = [change for change in changes if change.effective_from <= now]
    return max(in_force, key=lambda change: change.effective_from, default=None)


def in_force(
    offer: ServiceOffer, changes: Iterable[PriceChange], now: datetime
) -> tuple[Decimal | None, Decimal | None]:
    """(price, cost) in force at `now` for one offer, given its code's price changes: the Python
    twin of price_in_force/cost_in_force."""
    change = change_in_force(changes, now)
    if change is None:
        return offer.price, offer.cost
    return change.price, change.cost if change.cost is not None else offer.cost


def margin(price: Decimal | None, cost: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """(margin, margin %) of a price and cost: give it the price and cost in force (or, for an
    unfinished revision, the ones it proposes)."""
    if price is None:
        return None, None
    amount = price - (cost or Decimal("0"))
    pct = (amount / price * 100).quantize(Decimal("0.1")) if price else None
    return amount, pct
