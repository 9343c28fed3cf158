"""The search page in a real browser, driven by the keyboard where a user would."""

import re

import pytest
from playwright.sync_api import expect

from app.catalog import services as catalog
from app.extensions import db
from tests.conftest import browser_login

pytestmark = pytest.mark.browser


def test_search_from_the_header_with_a_typo_then_filter_and_sort(page, shop, users):
    browser_login(page, users["consumer"].email)
    page.get_by_label("Find offers").fill("entreprise")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=entreprise"))
    expect(page.get_by_role("heading", name="Search", level=1)).to_be_visible()
    expect(page.get_by_label("Find offers")).to_have_count(0)  # the page's own box only

    suggestion = page.locator(".did-you-mean").get_by_role("link", name="enterprise")
    expect(suggestion).to_be_visible()
    suggestion.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("4 offers for “enterprise”")).to_be_visible()

    facets = page.get_by_role("complementary")
    facets.get_by_role("link", name=re.compile(r"^Cloud")).click()
    expect(page.get_by_text("2 offers for “enterprise”")).to_be_visible()
    expect(facets.get_by_role("link", name=re.compile(r"Remove filter: Cloud"))).to_be_visible()

    page.get_by_label("Sort by").select_option("price_desc")
    page.get_by_role("button", name="Apply").click()
    results = page.locator("ol.hits h3")
    expect(results).to_have_text(["Managed database", "Object storage"])
    expect(page.locator("ol.hits mark").first).to_have_text(re.compile("enterprise", re.IGNORECASE))

    page.get_by_label("Search offers and articles").fill("zzzzqqq")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("No offers match this search")).to_be_visible()
    expect(page.get_by_role("link", name="Search again without filters")).to_have_count(0)
    assert "category=" not in page.url  # a new query starts without the Cloud filter


def test_a_new_query_drops_the_old_filters_and_filters_are_named(page, shop, users, catalog_setup):
    """Issue 15, item 12: "laptop" typed after choosing a category found "0 offers", the
    filter shown as the slug `access-and-accounts (0)`."""
    catalog.save_category(catalog_setup["catalog_manager"], name="Access and accounts")
    db.session.commit()
    browser_login(page, users["consumer"].email)
    page.goto("/search?q=enterprise")
    page.get_by_role("complementary").get_by_role("link", name=re.compile(r"^Cloud")).click()
    in_use = page.get_by_test_id("active-filters")
    expect(in_use).to_contain_text("Filters in use:")
    expect(in_use.get_by_role("link", name="Remove filter: Category: Cloud")).to_be_visible()
    expect(page.get_by_text("2 offers for “enterprise”")).to_be_visible()

    box = page.get_by_label("Search offers and articles")
    box.fill("vpn")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=vpn$"))
    expect(page.get_by_text("1 offer for “vpn”")).to_be_visible()
    expect(page.locator("ol.hits h3")).to_have_text(["VPN access"])
    expect(page.get_by_test_id("active-filters")).to_have_count(0)

    page.goto("/search?q=laptop&category=access-and-accounts")
    facets = page.get_by_role("complementary")
    expect(facets.get_by_role("link", name=re.compile("Access and accounts"))).to_have_text(
        "Remove filter: Access and accounts (0)"
    )
    expect(page.get_by_text("access-and-accounts")).to_have_count(0)
    in_use = page.get_by_test_id("active-filters")
    expect(in_use).to_contain_text("Category: Access and accounts")
    in_use.get_by_role("link", name="Clear all filters").click()
    page.wait_for_url(re.compile(r"/search\?q=laptop$"))
    expect(page.get_by_test_id("active-filters")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/search?q=enterprise&category=cloud&min_price=10")
    expect(page.get_by_test_id("active-filters")).to_contain_text("Minimum price: 10")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
