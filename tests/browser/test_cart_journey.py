"""In Chromium: a consumer fills the Virtual machine order form (the data-centre choices follow
the region, GPU shows a required GPU model and raises the monthly price), saves a draft,
returns to it later from Drafts, adds it to the cart with a second offer, and checks out with a
double click at 390 px (and a second submission of the same page): two subscriptions, two contracts, and an empty cart."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.subscriptions.models import CartItem, ServiceContract, Subscription
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login
from tests.vm_options import VM_OPTIONS

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer


def _choices(page, label: str) -> list[str]:
    return page.get_by_label(label).evaluate("s => Array.from(s.options).map(o => o.value)")


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _fill_the_vm_form_and_save_a_draft(page, vm) -> None:
    page.goto(f"/subscriptions/new?offer={vm.id}")
    monthly = page.get_by_test_id("total-monthly")
    expect(monthly).to_have_text("80.00 EUR")
    page.get_by_label("Region").select_option("eu-west")
    assert _choices(page, "Data centre") == ["", "Dublin 1", "Dublin 2"]
    page.get_by_label("Region").select_option("eu-north")
    assert _choices(page, "Data centre") == ["", "Stockholm 1"]
    page.get_by_label("Data centre").select_option("Stockholm 1")
    expect(page.get_by_label("GPU model")).to_be_hidden()
    page.get_by_label("GPU", exact=True).check()
    expect(page.get_by_label("GPU model")).to_be_visible()
    expect(page.get_by_label("GPU model")).to_have_attribute("aria-required", "true")
    expect(monthly).to_have_text("120.00 EUR")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/subscriptions#drafts$"))


def test_a_draft_and_a_second_offer_are_checked_out_once_with_a_double_click(
    page, make_offer, users
):
    vm = make_offer("VM-TEST", name="Virtual machine", price="80.00", options=VM_OPTIONS)
    vpn = make_offer("VPN-ACCESS")
    browser_login(page, users["consumer"].email, DEMO_PASSWORD)
    _fill_the_vm_form_and_save_a_draft(page, vm)

    page.goto("/")  # later: back through My subscriptions' Drafts
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My subscriptions").click()
    page.get_by_test_id("drafts").get_by_role("link", name="Resume Virtual machine").click()
    expect(page.get_by_label("Data centre")).to_have_value("Stockholm 1")
    expect(page.get_by_label("GPU", exact=True)).to_be_checked()
    page.get_by_label("GPU model").select_option("A100")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart$"))
    expect(page.get_by_text("Added Virtual machine to your cart.")).to_be_visible()

    page.goto(f"/subscriptions/new?offer={vpn.id}")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart$"))

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_test_id("cart-count")).to_have_text("2")
    items = page.get_by_test_id("cart-item")
    expect(items).to_have_count(2)
    expect(items.first.get_by_test_id("item-options")).to_contain_text("GPU model")
    expect(items.first.get_by_test_id("item-monthly")).to_have_text("120.00 EUR")
    expect(page.get_by_test_id("cart-monthly")).to_have_text("127.50 EUR")
    expect(page.get_by_test_id("cart-one-time")).to_have_text("25.00 EUR")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_label("I accept the terms of Virtual machine").check()
    page.get_by_label("I accept the terms of VPN access").check()
    posted = []
    page.on("request", lambda r: posted.append(r) if r.url.endswith("/cart/checkout") else None)
    # Chromium sends one submission for a double click on a form button; the second click
    # that gets through (another tab, a slow network) is sent here with the page's form
    page.evaluate(
        "() => { const form = document.getElementById('checkout-form');"
        " fetch(form.action, {method: 'POST', body: new FormData(form)}); }"
    )
    page.get_by_role("button", name="Check out 2 items").dblclick()
    page.wait_for_url(re.compile(r"/cart/checkouts/[0-9a-f]{32}$"))
    expect(page.get_by_test_id("checkout-order")).to_have_count(2)
    assert [request.method for request in posted] == ["POST", "POST"]  # both were sent
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    assert _count(Subscription) == 2
    assert _count(ServiceContract) == 2
    assert _count(CartItem) == 0
    page.goto("/cart")
    expect(page.get_by_test_id("cart-empty")).to_be_visible()
    expect(page.get_by_test_id("cart-count")).to_have_count(0)
