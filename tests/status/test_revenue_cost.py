"""The dashboards' margin is the contracts' prices less the cost in force (issue 15, item 6):
a price change that raises the cost lowers the margin from its date; the MRR stays what the
contracts agreed to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app import clock
from app.catalog import services as catalog
from app.status import services as status
from tests.status.test_services import fulfil

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_the_margin_uses_the_cost_in_force(users, agents, make_offer):
    clock.freeze(NOW)
    try:
        offer = make_offer("SEATS", price="30.00", cost="10.00")
        fulfil(users["consumer"], agents[1], offer, "seats")
        every = sa.select(sa.literal_column("id")).select_from(sa.table("subscriptions"))
        assert (status.revenue(every)["mrr"], status.revenue(every)["margin"]) == (
            Decimal("30.00"),
            Decimal("20.00"),
        )
        catalog.add_price_change(
            users["catalog_manager"],
            "SEATS",
            price="35.00",
            cost="16.00",
            effective_from=NOW + timedelta(days=1),
        )
        clock.freeze(NOW + timedelta(days=2))
        figures = status.revenue(every)
        assert (figures["mrr"], figures["margin"]) == (Decimal("30.00"), Decimal("14.00"))
    finally:
        clock.freeze(None)
