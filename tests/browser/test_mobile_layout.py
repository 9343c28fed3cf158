"""On a phone (390 x 844) the demo portal puts first what a person came for (issue 15, item
14): the offer page shows the price and Order before the service levels, options, terms and
articles; the catalog folds its categories so offers are on the first screen; My
subscriptions shows one card per subscription, Change and End in reach without scrolling
sideways. Screenshots at 390 and 1280 px go to the test's tmp dir."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.catalog.models import ServiceOffer
from app.demo.seeds import load_seeds
from app.extensions import db
from tests.conftest import browser_login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
FIONA = "fiona@offerdesk.example"  # a demo consumer (Finance) with subscriptions


@pytest.fixture
def demo(live_server):
    load_seeds()
    db.session.commit()


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None
    return box


def _fits(page) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url}: {width} px wide at {inner} px"


def test_the_price_and_order_come_first_on_a_phone_and_on_the_right_on_a_wide_screen(
    page, demo, tmp_path
):
    vpn = db.session.scalar(sa.select(ServiceOffer.id).where(ServiceOffer.code == "VPN-ACCESS"))
    browser_login(page, FIONA, "offerdesk-demo")
    page.set_viewport_size(PHONE)
    page.goto(f"/catalog/offers/{vpn}")
    order = page.get_by_role("link", name="Order VPN access")
    box = _box(order)
    assert box["y"] + box["height"] <= PHONE["height"]  # on the first screen, no scrolling
    assert _box(page.get_by_test_id("price"))["y"] < _box(order)["y"]
    assert box["y"] < _box(page.get_by_role("heading", name="Service levels"))["y"]
    _fits(page)
    page.screenshot(path=str(tmp_path / "offer-390.png"), full_page=True)

    page.set_viewport_size(DESKTOP)
    price_box = _box(page.get_by_role("complementary", name="Price"))
    levels = _box(page.get_by_role("heading", name="Service levels"))
    assert price_box["x"] > levels["x"] + 400  # the right column
    assert price_box["y"] < levels["y"]
    assert _box(order)["y"] + 20 < DESKTOP["height"]
    _fits(page)
    page.screenshot(path=str(tmp_path / "offer-1280.png"), full_page=True)


def test_the_catalog_folds_its_categories_on_a_phone_so_offers_come_first(page, demo, tmp_path):
    browser_login(page, FIONA, "offerdesk-demo")
    page.set_viewport_size(PHONE)
    page.goto("/catalog/")
    categories = page.get_by_role("navigation", name="Categories")
    expect(categories.get_by_role("link", name="Access and accounts")).to_be_hidden()
    first_offer = page.locator(".offer-card").first
    assert _box(first_offer)["y"] + 40 < PHONE["height"]
    _fits(page)
    page.screenshot(path=str(tmp_path / "catalog-390.png"), full_page=True)
    categories.get_by_text("Categories").click()  # one tap unfolds them
    expect(categories.get_by_role("link", name="Access and accounts")).to_be_visible()

    page.set_viewport_size(DESKTOP)
    page.goto("/catalog/")
    expect(categories.get_by_role("link", name="Access and accounts")).to_be_visible()
    assert _box(categories)["x"] < _box(page.locator(".offer-card").first)["x"]
    _fits(page)
    page.screenshot(path=str(tmp_path / "catalog-1280.png"), full_page=True)


def test_my_subscriptions_are_cards_on_a_phone_with_change_and_end_in_reach(page, demo, tmp_path):
    browser_login(page, FIONA, "offerdesk-demo")
    page.set_viewport_size(PHONE)
    page.goto("/subscriptions")
    rows = page.get_by_test_id("subscription-row")
    assert rows.count() >= 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    first = rows.first
    for name in ("Change", "End"):
        button = first.get_by_role("link", name=name)
        expect(button).to_be_visible()
        box = _box(button)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
    # one card per subscription: the second starts below the first one's buttons
    assert _box(rows.nth(1))["y"] >= _box(first.get_by_role("link", name="End"))["y"]
    group = first.locator("td[data-label=Group]")  # each cell says which column it is
    assert group.evaluate("td => getComputedStyle(td, '::before').content") == '"Group: "'

    page.screenshot(path=str(tmp_path / "subscriptions-390.png"), full_page=True)

    page.set_viewport_size(DESKTOP)
    expect(page.get_by_role("columnheader", name="Group")).to_be_visible()
    _fits(page)
    page.screenshot(path=str(tmp_path / "subscriptions-1280.png"), full_page=True)
