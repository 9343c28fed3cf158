"""In a real browser: ordering VPN access and pressing Back shows the form again with the same
key, and sending it again shows the first order instead of making a second (issue 15, item 4);
the change form of a subscription lists only the offers it may change to, with the price
difference and what the new contract changes (item 5)."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import unit_of_work
from app.extensions import db
from app.subscriptions import services as subs
from app.subscriptions.models import Order, Subscription
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer


def _no_horizontal_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_back_after_ordering_and_sending_again_shows_the_first_order(page, make_offer, users):
    vpn = make_offer("VPN-ACCESS", max_per_person=1)
    browser_login(page, users["consumer"].email, DEMO_PASSWORD)
    page.goto(f"/catalog/offers/{vpn.id}")
    page.goto(f"/subscriptions/new?offer={vpn.id}")
    expect(page.get_by_test_id("holding-limits")).to_have_text(
        "One person may hold 1 active subscription of this offer."
    )
    page.get_by_label("Profile").select_option("developer")
    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Agree and order").click()
    page.wait_for_url(re.compile(r"/subscriptions/\d+$"))
    first = page.url

    page.go_back()
    expect(page.get_by_role("heading", name="Order VPN access")).to_be_visible()
    expect(page.get_by_test_id("already-placed")).to_contain_text(
        "You already placed this order with this form."
    )
    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Agree and order").click()
    page.wait_for_url(re.compile(r"/subscriptions/\d+$"))
    assert page.url == first
    expect(page.get_by_text("You had already placed this order; here it is.")).to_be_visible()
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 1

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/subscriptions/new?offer={vpn.id}")  # opened anew: the person holds one
    expect(page.get_by_test_id("not-orderable-reason")).to_contain_text(
        "You already have 1 active subscription(s) of VPN access"
    )
    _no_horizontal_overflow(page)


AT_ONCE = [
    {"name": "Create account", "mode": "automatic", "integration": None, "expected_hours": 1}
]


def test_the_change_form_offers_related_offers_with_the_price_difference(
    page, make_offer, users, tmp_path
):
    consumer = users["consumer"]
    vpn = make_offer("VPN-ACCESS", fulfillment_plan=AT_ONCE, upgrade_codes=["VPN-PLUS"])
    plus = make_offer("VPN-PLUS", name="VPN plus", price="12.00", fulfillment_plan=AT_ONCE)
    make_offer("PEN-TEST", name="Penetration test", price="6500.00", billing_period="one_time")
    order, _ = subs.subscribe(
        consumer,
        vpn.id,
        options={"profile": "developer", "devices": 2},
        accept_terms=True,
        idempotency_key="vpn",
    )
    unit_of_work.commit()
    subscription_id = order.subscription_id

    browser_login(page, consumer.email, DEMO_PASSWORD)
    page.goto(f"/subscriptions/{subscription_id}")
    page.get_by_role("link", name="Change").first.click()
    choices = page.get_by_label("Offer after the change")
    expect(choices.locator("option")).to_have_text(
        ["Keep VPN access (change options only)", "VPN plus (VPN-PLUS) — upgrade"]
    )
    choices.select_option(label="VPN plus (VPN-PLUS) — upgrade")
    page.get_by_role("button", name="Show this offer's options").click()
    expect(page.get_by_role("heading", name="Move to VPN plus")).to_be_visible()
    difference = page.get_by_test_id("price-difference")
    expect(difference.get_by_role("row").nth(1)).to_have_text(
        re.compile(r"Monthly\s*7\.50 EUR\s*12\.00 EUR\s*\+4\.50 EUR")
    )
    expect(page.get_by_test_id("contract-changes")).to_contain_text(
        "The terms and service levels stay as they are."
    )
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(tmp_path / f"change-{width}.png"), full_page=True)
        _no_horizontal_overflow(page)
    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Order the change").click()
    page.wait_for_url(re.compile(rf"/subscriptions/{subscription_id}$"))
    db.session.expire_all()
    change = db.session.scalars(sa.select(Order).where(Order.order_type == "modify")).one()
    assert change.target_offer_id == plus.id
