"""In a real browser: a group manager orders a laptop over the Finance threshold for a member of
the group; it waits for approval; Felix (Finance Approvers) sees it on Approvals and approves,
fulfillment starts, and the member finds the subscription as theirs; a second order is rejected
with a reason, the manager reads why, and no fulfillment task or contract exists for it."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.accounts import services as accounts
from app.accounts.services import groups
from app.extensions import db
from app.subscriptions.models import FulfillmentTask, Order, ServiceContract
from app.subscriptions.services import policies
from tests.browser.confirmations import answer_confirmation
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


def _order_laptop(page, offer_id: int, beneficiary: str) -> int:
    page.goto(f"/subscriptions/new?offer={offer_id}")
    page.get_by_label("Myself").uncheck()
    page.get_by_label(f"{beneficiary} (Finance)").check()
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
    manager = make_user("consumer", groups=("Finance",), name="Mia Manager")
    groups.set_managers(users["admin"], accounts.find_group_by_name("Finance"), [manager])
    db.session.commit()
    member = users["consumer"]

    browser_login(page, manager.email, DEMO_PASSWORD)
    first = _order_laptop(page, laptop.id, member.name)
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

    member_context = browser.new_context(base_url=live_server.url)
    member_page = member_context.new_page()
    browser_login(member_page, member.email, DEMO_PASSWORD)
    member_page.goto("/subscriptions")
    expect(member_page.get_by_role("link", name="VPN access").first).to_be_visible()
    member_page.goto(f"/subscriptions/{first}")
    expect(member_page.get_by_test_id("requested-by")).to_have_text(
        f"Mia Manager, on behalf of {member.name}"
    )
    member_context.close()

    second = _order_laptop(page, laptop.id, member.name)
    approver.goto(f"/subscriptions/{second}")
    form = approver.get_by_test_id("decide-form")
    form.get_by_label("Comment (required to reject)").fill("One laptop per person.")
    form.get_by_role("button", name="Reject").click()
    answer_confirmation(approver)
    expect(approver.get_by_text("Rejected: the requester is told why.")).to_be_visible()
    approver_context.close()

    page.reload()
    expect(page.get_by_test_id("approval-status")).to_have_text("rejected")
    expect(page.get_by_test_id("rejection-reason")).to_have_text("Rejected: One laptop per person.")
    assert _counts(second) == (0, 0)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
