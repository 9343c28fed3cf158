"""Revenue: monthly recurring revenue (MRR) and margin of running subscriptions, from their
contracts' prices and their offers' costs. Money stays Decimal from the database to the page:
SQL sums whole cents (exact on every engine, SQLite included), Python divides."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from ... import clock
from ...catalog.models import ServiceOffer
from ...catalog.prices import cost_in_force
from ...extensions import db
from ...subscriptions.models import ServiceContract, Subscription
from .kpis import RUNNING

CENT = Decimal("0.01")
# Months a price covers, by billing period; one-time prices are not recurring.
MONTHS_PER_PRICE = {"monthly": Decimal(1), "yearly": Decimal(12)}


def _cents(money) -> sa.ColumnElement:
    return sa.cast(sa.func.round(money * 100), sa.BigInteger)


def revenue(subscription_filter) -> dict:
    """Monthly recurring revenue and margin of active subscriptions, from their contracts' prices
    (yearly prices count a twelfth; one-time prices are not recurring) plus what their chosen
    options add per month (the contract's priced breakdown) and the offers' costs in
    force now (catalog/prices.py: a price change's cost from its date), per
    currency. mrr/margin/currency give the only currency (or the largest, when there are several)."""
    rows = db.session.execute(
        sa.select(
            ServiceContract.currency,
            ServiceContract.billing_period,
            sa.func.sum(_cents(ServiceContract.price)),
            sa.func.sum(_cents(cost_in_force(clock.now()))),
            sa.func.sum(_cents(ServiceContract.options_monthly)),
        )
        .join(Subscription, Subscription.id == ServiceContract.subscription_id)
        .join(ServiceOffer, ServiceOffer.id == ServiceContract.offer_id)
        .where(
            ServiceContract.status == "active",
            Subscription.id.in_(subscription_filter),
            Subscription.status.in_(RUNNING),
        )
        .group_by(ServiceContract.currency, ServiceContract.billing_period)
    ).all()
    monthly: dict[str, tuple[Decimal, Decimal]] = {}
    for currency, billing_period, price_cents, cost_cents, options_cents in rows:
        price, cost = monthly.get(currency, (Decimal(0), Decimal(0)))
        price += Decimal(options_cents or 0) / 100  # what priced options add each month
        months = MONTHS_PER_PRICE.get(billing_period)
        if months is not None:
            price += Decimal(price_cents or 0) / 100 / months
            cost += Decimal(cost_cents or 0) / 100 / months
        monthly[currency] = (price, cost)
    by_currency = []
    for currency, (price, cost) in monthly.items():
        mrr = price.quantize(CENT)
        by_currency.append(
            {"currency": currency, "mrr": mrr, "margin": (mrr - cost).quantize(CENT)}
        )
    by_currency.sort(key=lambda item: (-item["mrr"], item["currency"]))
    main = (
        by_currency[0]
        if by_currency
        else {"currency": "EUR", "mrr": Decimal("0.00"), "margin": Decimal("0.00")}
    )
    return {
        "mrr": main["mrr"],
        "margin": main["margin"],
        "currency": main["currency"],
        "by_currency": by_currency,
    }
