"""The one pricing rule: the latest price change in force at a moment, else the offer's own
price (and cost), the same in SQL (price_in_force / cost_in_force) and in Python (in_force)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.catalog.models import PriceChange, ServiceOffer
from app.catalog.prices import cost_in_force, in_force, price_in_force
from app.extensions import db

NOW = datetime(2031, 5, 4, 12, 30, tzinfo=UTC)
DAY = timedelta(days=1)

# (case, [(effective_from, price, cost)], (price, cost) in force at NOW); the offer's own price
# is 7.50 and its cost 3.00 (complete_offer_data).
CASES = [
    ("no change", [], (Decimal("7.50"), Decimal("3.00"))),
    (
        "a change in the future",
        [(NOW + DAY, "9.00", "4.00")],
        (Decimal("7.50"), Decimal("3.00")),
    ),
    (
        "two changes in force: the latest, its cost falling back to the offer's",
        [(NOW - 10 * DAY, "8.00", "3.50"), (NOW - DAY, "8.25", None), (NOW + DAY, "9.99", None)],
        (Decimal("8.25"), Decimal("3.00")),
    ),
    (
        "a change at exactly now",
        [(NOW - DAY, "8.25", "3.25"), (NOW, "8.75", "3.75")],
        (Decimal("8.75"), Decimal("3.75")),
    ),
    (
        "one second before a change",
        [(NOW + timedelta(seconds=1), "8.75", "3.75"), (NOW - DAY, "6.00", None)],
        (Decimal("6.00"), Decimal("3.00")),
    ),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_price_in_force_in_sql_and_in_python(make_offer, changes, expected):
    offer = make_offer("VPN-ACCESS")
    make_offer("OTHER", name="Other")  # another code's changes never count
    db.session.add(PriceChange(offer_code="OTHER", price=Decimal("1.00"), effective_from=NOW - DAY))
    history = [
        PriceChange(
            offer_code="VPN-ACCESS",
            price=Decimal(price),
            cost=Decimal(cost) if cost else None,
            effective_from=moment,
        )
        for moment, price, cost in changes
    ]
    db.session.add_all(history)
    db.session.flush()

    in_sql = db.session.execute(
        sa.select(price_in_force(NOW), cost_in_force(NOW)).where(ServiceOffer.id == offer.id)
    ).one()
    assert tuple(in_sql) == expected
    assert in_force(offer, history, NOW) == expected
