"""In a real browser: a laptop over the Finance threshold waits for approval; Felix (Finance
Approvers) sees it on Approvals and approves, and fulfillment starts for the requester; a second
order is rejected with a reason, the requester reads why, and no fulfillment task or contract
exists for it. (Ordering on behalf of a group member lands separately: here the requester orders
for themselves.)"""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.subscriptions.models import FulfillmentTask, Order, ServiceContract
from app.subscriptions.services import policies
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer

POLICY = {
    "steps": [
        {
            "name": "Finance approval",
            "approvers": ["approver_group Finance Approvers"],
            "condition": "price_monthly > 50",
        }
    ]
}


def _order_laptop(page, offer_id: int) -> int:
    page.goto(f"/subscriptions/new?offer={offer_id}")
    page.get_by_label("Profile").select_option("developer")
    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Agree and order").click()
    page.wait_for_url(re.compile(r"/subscriptions/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def _counts(subscription_id: int) -> tuple[int, int]:
    db.session.expire_all()
    order = db.session.scalar(sa.select(Order).where(Order.subscription_id == subscription_id))
    tasks = db.session.scalar(
        sa.select(sa.func.count(FulfillmentTask.id)).where(FulfillmentTask.order_id == order.id)
    )
    contracts = db.session.scalar(
        sa.select(sa.func.count(ServiceContract.id)).where(
            ServiceContract.subscription_id == subscription_id
        )
    )
    return tasks, contracts


def test_finance_approves_one_laptop_and_rejects_another(
    page, browser, live_server, make_offer, make_user, users
):
    felix = make_user("consumer", groups=("Finance Approvers",), name="Felix Approver")
    laptop = make_offer("LAPTOP-PRO", price="75.00")
    policies.set_policy(users["catalog_manager"], "offer", laptop.id, POLICY)
    db.session.commit()
    requester = users["consumer"]

    browser_login(page, requester.email, DEMO_PASSWORD)
    first = _order_laptop(page, laptop.id)
    approval = page.get_by_test_id("approval")
    expect(page.get_by_test_id("approval-status")).to_have_text("awaiting approval")
    expect(approval).to_contain_text("Who can approve now: Felix Approver")
    expect(approval).to_contain_text("Nothing is fulfilled and no contract is written")
    assert _counts(first) == (0, 0)

    approver_context = browser.new_context(base_url=live_server.url)
    approver = approver_context.new_page()
    browser_login(approver, felix.email, DEMO_PASSWORD)
    approver.get_by_role("link", name="Approvals").first.click()
    row = approver.get_by_test_id("approval-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("VPN access")
    row.get_by_role("button", name=re.compile("^Approve")).click()
    expect(approver.get_by_text("Approved.")).to_be_visible()
    expect(approver.get_by_test_id("no-approvals")).to_be_visible()

    page.reload()
    expect(page.get_by_test_id("approval")).to_contain_text("Approved by Felix Approver")
    tasks, contracts = _counts(first)
    assert tasks >= 1 and contracts == 1
    expect(page.get_by_role("heading", name=re.compile("Fulfillment:"))).to_be_visible()

    second = _order_laptop(page, laptop.id)
    approver.goto(f"/subscriptions/{second}")
    form = approver.get_by_test_id("decide-form")
    form.get_by_label("Comment (required to reject)").fill("One laptop per person.")
    form.get_by_role("button", name="Reject").click()
    expect(approver.get_by_text("Rejected: the requester is told why.")).to_be_visible()
    approver_context.close()

    page.reload()
    expect(page.get_by_test_id("approval-status")).to_have_text("rejected")
    expect(page.get_by_test_id("rejection-reason")).to_have_text("Rejected: One laptop per person.")
    assert _counts(second) == (0, 0)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
