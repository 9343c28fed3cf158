"""In a real browser: a group manager sees what Finance has left of its quota, orders VPN access
for a colleague with the keyboard-friendly "Order for" checkboxes, follows it on My groups; the
colleague finds it as theirs; the quotas page and My groups fit a 390 px phone."""

import re

import pytest
from playwright.sync_api import expect

from app import unit_of_work
from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.accounts.services import groups
from app.subscriptions.services import quota_admin
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer


def _fits(page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_manager_orders_for_a_colleague_within_the_quota(page, make_offer, make_user, users):
    vpn = make_offer("VPN-ACCESS")
    mia = make_user("consumer", groups=("Finance",), name="Mia Manager", email="mia@example.test")
    finance = accounts.find_group_by_name("Finance")
    groups.set_managers(SYSTEM, finance, [mia])
    quota_admin.set_quota(SYSTEM, finance.id, offer_code="VPN-ACCESS", max_active=3)
    unit_of_work.commit()
    colleague = users["consumer"]

    browser_login(page, mia.email, DEMO_PASSWORD)
    page.goto(f"/subscriptions/new?offer={vpn.id}")
    expect(page.get_by_test_id("quota-left")).to_have_text("3 of 3 left for Finance")
    page.get_by_label("Myself").uncheck()
    page.get_by_label(f"{colleague.name} (Finance)").check()
    page.get_by_label("Profile").select_option("developer")
    page.get_by_label("I accept the terms and conditions").check()
    _fits(page)
    page.get_by_role("button", name="Agree and order").click()
    page.wait_for_url(re.compile(r"/subscriptions/\d+$"))
    expect(page.get_by_text(f"Ordered VPN access for {colleague.name}.")).to_be_visible()
    expect(page.get_by_test_id("requested-by")).to_have_text(
        f"Mia Manager, on behalf of {colleague.name}"
    )
    subscription_url = page.url

    page.goto("/support/my-groups")  # one managed group: its page
    expect(page.get_by_role("heading", name="Finance", level=1)).to_be_visible()
    expect(page.get_by_test_id("group-subscription-row")).to_contain_text(colleague.name)
    _fits(page)
    page.goto("/quotas")
    expect(page.get_by_test_id("quota-row")).to_contain_text("2 of 3 left for Finance")
    _fits(page)

    page.context.clear_cookies()
    browser_login(page, colleague.email, DEMO_PASSWORD)
    page.goto(subscription_url)
    expect(page.get_by_test_id("owner")).to_have_text(colleague.name)
