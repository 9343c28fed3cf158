"""A lease in a real browser: a consumer's small virtual machine runs on a 30-day lease, warned
5 days before its end. Time moves (the project's clock) to day 25: the sweep warns its owner in
the app (the inbox) and by e-mail (the outbox); the owner extends it once with the subscription
page's Extend form; time moves past the new end and the sweep ends it through the normal
termination flow: the page shows it terminating, then, its decommission step done, terminated.
And a sandbox whose orderer chooses the end ("Ends on", refused beyond its maximum) and whose
extension waits for the group manager's approval in the Approvals inbox."""

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import clock
from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.accounts.services import groups
from app.extensions import db
from app.notifications.models import OutboxEmail
from app.subscriptions import services as subs
from app.subscriptions.models import Order, Subscription
from app.subscriptions.services import leases
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login
from tests.subscriptions.conftest import agent  # noqa: F401

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WARNING = "Your lease of Virtual machine — small ends on 2026-04-01"


def _sweep(at: datetime) -> tuple[int, int]:
    clock.freeze(at)
    result = leases.sweep(SYSTEM)
    db.session.commit()
    return result


def _status(subscription_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Subscription, subscription_id).status


def test_a_30_day_lease_is_warned_extended_once_and_ended(page, users, make_offer, agent):
    clock.freeze(START)
    offer = make_offer(
        "VM-SMALL",
        name="Virtual machine — small",
        lease_days=30,
        lease_max_days=90,
        lease_warn_days=5,
    )
    owner = users["consumer"]
    order, _ = subs.subscribe(
        owner, offer.id, options={}, accept_terms=True, idempotency_key="lease-journey"
    )
    manual = next(task for task in order.tasks if task.mode == "manual")
    subs.transition_task(agent, manual.id, "complete")
    db.session.commit()
    subscription_id = order.subscription_id
    assert _status(subscription_id) == "active"

    assert _sweep(datetime(2026, 3, 26, 9, 0, tzinfo=UTC)) == (0, 0)  # day 24: not yet
    assert _sweep(datetime(2026, 3, 27, 9, 0, tzinfo=UTC)) == (1, 0)  # day 25: warned
    mails = db.session.scalars(
        sa.select(OutboxEmail.subject).where(OutboxEmail.recipient == owner.email)
    ).all()
    assert WARNING in mails

    browser_login(page, owner.email, DEMO_PASSWORD)
    page.goto("/inbox")
    notice = page.get_by_role("listitem").filter(has_text=WARNING)
    expect(notice).to_contain_text("Extend it on its page if you still need it.")
    notice.get_by_role("button", name="Open").click()
    page.wait_for_url(f"**/subscriptions/{subscription_id}")
    lease = page.get_by_test_id("lease")
    expect(lease.get_by_role("heading")).to_have_text("Lease ends on 2026-04-01")
    expect(lease).to_contain_text("You can extend it until 2026-05-31 at the latest.")
    lease.get_by_label("New end date").fill("2026-04-15")
    lease.get_by_role("button", name="Extend the lease").click()
    expect(page.get_by_role("status").filter(has_text="The lease now ends on")).to_contain_text(
        "The lease now ends on 2026-04-15."
    )
    expect(page.get_by_test_id("lease").get_by_role("heading")).to_have_text(
        "Lease ends on 2026-04-15"
    )

    assert _sweep(datetime(2026, 4, 2, 9, 0, tzinfo=UTC)) == (0, 0)  # past the first end
    assert _sweep(datetime(2026, 4, 11, 9, 0, tzinfo=UTC)) == (1, 0)  # warned of the new end
    assert _sweep(datetime(2026, 4, 16, 0, 1, tzinfo=UTC)) == (0, 1)  # the new end has passed
    assert _status(subscription_id) == "terminating"
    page.reload()
    if "/login" in page.url:  # weeks passed: the session may have expired
        browser_login(page, owner.email, DEMO_PASSWORD)
        page.goto(f"/subscriptions/{subscription_id}")
    expect(page.get_by_test_id("subscription-status")).to_contain_text("terminating")
    expect(page.get_by_test_id("lease")).to_have_count(0)

    end = db.session.scalar(
        sa.select(Order).where(
            Order.subscription_id == subscription_id, Order.order_type == "terminate"
        )
    )
    subs.transition_task(agent, end.tasks[0].id, "complete")
    db.session.commit()
    page.reload()
    expect(page.get_by_test_id("subscription-status")).to_contain_text("terminated")


def test_a_chosen_end_and_an_extension_that_needs_approval(
    page, browser, live_server, users, make_offer, make_user, agent
):
    clock.freeze(START)
    offer = make_offer(
        "SANDBOX-ENV",
        name="Sandbox environment",
        lease_days=14,
        lease_max_days=60,
        lease_warn_days=3,
        lease_end_chosen=True,
        lease_extension_needs_approval=True,
    )
    manager = make_user("consumer", groups=("Finance",), name="Mia Manager")
    groups.set_managers(users["admin"], accounts.find_group_by_name("Finance"), [manager])
    db.session.commit()
    owner = users["consumer"]

    browser_login(page, owner.email, DEMO_PASSWORD)
    page.goto(f"/subscriptions/new?offer={offer.id}")
    ends = page.get_by_label("Ends on")
    expect(ends).to_have_value("2026-03-16")  # the lease's 14 days, proposed
    expect(ends).to_have_attribute("max", "2026-05-01")
    ends.fill("2026-05-20")
    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Agree and order").click()
    expect(page.get_by_text("The lease can run until 2026-05-01 at the latest.")).to_be_visible()
    page.get_by_label("Ends on").fill("2026-03-20")
    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Agree and order").click()
    page.wait_for_url(re.compile(r"/subscriptions/\d+$"))
    subscription_id = int(page.url.rsplit("/", 1)[1])
    order = db.session.scalar(sa.select(Order).where(Order.subscription_id == subscription_id))
    subs.transition_task(agent, next(t for t in order.tasks if t.mode == "manual").id, "complete")
    db.session.commit()

    page.reload()
    lease = page.get_by_test_id("lease")
    expect(lease.get_by_role("heading")).to_have_text("Lease ends on 2026-03-20")
    lease.get_by_label("New end date").fill("2026-04-10")
    lease.get_by_role("button", name="Extend the lease").click()
    expect(page.get_by_test_id("lease-extension-pending")).to_contain_text(
        "Extension to 2026-04-10 waiting for approval."
    )
    expect(page.get_by_test_id("lease").get_by_role("heading")).to_have_text(
        "Lease ends on 2026-03-20"
    )

    approver_context = browser.new_context(base_url=live_server.url)
    approver = approver_context.new_page()
    browser_login(approver, manager.email, DEMO_PASSWORD)
    approver.goto("/approvals")
    row = approver.get_by_test_id("approval-row")
    expect(row).to_contain_text("Lease extension to 2026-04-10")
    row.get_by_role("button", name=re.compile("^Approve")).click()
    expect(approver.get_by_text("Approved.")).to_be_visible()
    approver_context.close()

    page.reload()
    expect(page.get_by_test_id("lease").get_by_role("heading")).to_have_text(
        "Lease ends on 2026-04-10"
    )
    expect(page.get_by_test_id("lease-extension-pending")).to_have_count(0)
