"""The catalog in a real browser: page 1 shows each offer once (featured, new, more offers), and
the list is sorted by price and filtered by a price range from its form, with a field message
for a range that cannot be."""

import pytest
from playwright.sync_api import expect

from app.catalog import services as catalog
from app.extensions import db
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer


def shown_codes(page) -> list[str]:
    return page.locator(".catalog-layout [data-offer-code]").evaluate_all(
        "(cards) => cards.map((card) => card.dataset.offerCode)"
    )


def test_catalog_shows_each_offer_once_and_sorts_and_filters_by_price(
    page, make_offer, catalog_setup, users
):
    for code, name, price in (
        ("ALPHA", "Alpha", "20.00"),
        ("BRAVO", "Bravo", "5.00"),
        ("CHARLIE", "Charlie", "50.00"),
        ("DELTA", "Delta", "12.50"),
    ):
        make_offer(code, name=name, price=price)
    catalog.set_featured(catalog_setup["catalog_manager"], "ALPHA", True)
    db.session.commit()  # the live server sees only what is committed

    browser_login(page, users["consumer"].email, DEMO_PASSWORD)
    page.goto("/catalog/")
    codes = shown_codes(page)
    assert sorted(codes) == ["ALPHA", "BRAVO", "CHARLIE", "DELTA"]  # each once
    expect(page.get_by_role("heading", name="Featured")).to_be_visible()

    filters = page.get_by_test_id("catalog-filters")
    filters.get_by_label("Sort by").select_option(label="Price, low to high")
    filters.get_by_label("Minimum price").fill("5")
    filters.get_by_label("Maximum price").fill("20")
    filters.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="All offers")).to_be_visible()
    expect(page.get_by_role("heading", name="Featured")).to_have_count(0)
    assert shown_codes(page) == ["BRAVO", "DELTA", "ALPHA"]
    expect(filters.get_by_label("Minimum price")).to_have_value("5")

    filters = page.get_by_test_id("catalog-filters")
    filters.get_by_label("Minimum price").fill("30")
    filters.get_by_role("button", name="Apply").click()
    maximum = page.get_by_test_id("catalog-filters").get_by_label("Maximum price")
    expect(maximum).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#catalog-max_price-error")).to_have_text(
        "The maximum price must not be below the minimum."
    )
    expect(maximum).to_be_focused()
    assert shown_codes(page) == []
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
