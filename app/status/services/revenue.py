"""Revenue: monthly recurring revenue (MRR) and margin of running subscriptions, from their
contracts' prices and their offers' costs."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from ...catalog.models import ServiceOffer
from ...extensions import db
from ...subscriptions.models import ServiceContract, Subscription
from .kpis import RUNNING


def revenue(subscription_filter) -> dict:
    """Monthly recurring revenue and margin of active subscriptions, from their contracts' prices
    (yearly prices count a twelfth; one-time prices are not recurring) and the offers' costs, per
    currency. mrr/margin/currency give the only currency (or the largest, when there are several)."""
    monthly = sa.case(
        (ServiceContract.billing_period == "monthly", 1.0),
        (ServiceContract.billing_period == "yearly", 1.0 / 12),
        else_=0.0,
    )
    rows = db.session.execute(
        sa.select(
            ServiceContract.currency,
            sa.func.sum(ServiceContract.price * monthly),
            sa.func.sum(ServiceOffer.cost * monthly),
        )
        .join(Subscription, Subscription.id == ServiceContract.subscription_id)
        .join(ServiceOffer, ServiceOffer.id == ServiceContract.offer_id)
        .where(
            ServiceContract.status == "active",
            Subscription.id.in_(subscription_filter),
            Subscription.status.in_(RUNNING),
        )
        .group_by(ServiceContract.currency)
    ).all()
    cent = Decimal("0.01")
    by_currency = []
    for currency, mrr, cost in rows:
        mrr = Decimal(str(mrr or 0)).quantize(cent)
        by_currency.append(
            {
                "currency": currency,
                "mrr": mrr,
                "margin": (mrr - Decimal(str(cost or 0))).quantize(cent),
            }
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
