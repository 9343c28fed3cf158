"""The catalog page, the API and search show the same price: the one in force now."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from app import clock
from app.catalog import services as catalog
from tests.conftest import token_for
from tests.search.conftest import search

pytestmark = pytest.mark.usefixtures("search_backend")


def test_page_api_and_search_show_the_price_in_force(make_offer, users, client_as, api):
    offer = make_offer("VPN-ACCESS")  # its own price: 7.50
    manager = users["catalog_manager"]
    catalog.add_price_change(
        manager,
        "VPN-ACCESS",
        price="8.25",
        effective_from=clock.now() - timedelta(days=1),
        confirm_backdated=True,
    )
    catalog.add_price_change(
        manager, "VPN-ACCESS", price="9.99", effective_from=clock.now() + timedelta(days=30)
    )

    page = client_as("consumer").get(f"/catalog/offers/{offer.id}").get_data(as_text=True)
    assert "8.25" in page and "7.50" not in page

    body = api(token_for(users["consumer"])).get(f"/api/v1/offers/{offer.id}").json
    assert body["price"] == "8.25"

    (hit,) = search(users["consumer"], "vpn").hits
    assert hit.price == Decimal("8.25")
