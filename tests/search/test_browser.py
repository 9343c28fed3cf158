"""The search page in a real browser, driven by the keyboard where a user would."""

import re

import pytest
from playwright.sync_api import expect

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
    expect(page.get_by_role("link", name="Search again without filters")).to_be_visible()
