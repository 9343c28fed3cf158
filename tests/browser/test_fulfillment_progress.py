"""Live fulfillment progress in a real browser: a consumer orders an offer whose plan has a
webhook step and keeps the subscription page open; the receiver's callbacks (played by the test
over HTTP, as a receiver would) show up on that page without a reload, and its polling stops
once the steps are finished. A failed step shows what the consumer is told, never the delivery
error; an agent sees the attempts on the task page and retries the step after confirming.

Huey runs in immediate mode: the first attempt is made when the order commits (in the live
server's request), a retry is run by the test when due, as a worker would."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.confirmations import answer_confirmation
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login
from tests.fulfillment import conftest as fulfillment_fixtures
from tests.fulfillment.conftest import fresh_tasks, run_due_retries, webhook_step
from tests.jobs import conftest as job_fixtures

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer
immediate = job_fixtures.immediate
receivers = fulfillment_fixtures.receivers
step_integration = fulfillment_fixtures.step_integration

UNREACHABLE = "The system that does this step could not be reached; support can run it again."
INTERNAL_ERROR = "db-7 password expired at 10.0.4.2"


@pytest.fixture
def watched(page):
    """The page's JavaScript errors and its requests for progress.json (monotonic times)."""
    seen = {"errors": [], "polls": []}
    page.on(
        "console",
        lambda message: seen["errors"].append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on(
        "request",
        lambda request: (
            seen["polls"].append(time.monotonic())
            if request.url.endswith("/progress.json")
            else None
        ),
    )
    return seen


def order_in_browser(page, offer, email: str) -> int:
    """The consumer orders the offer through its order form; the subscription's id."""
    browser_login(page, email, DEMO_PASSWORD)
    page.goto(f"/subscriptions/new?offer={offer.id}")
    page.get_by_label("Profile").select_option("developer")
    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Agree and order").click()
    page.wait_for_url(re.compile(r"/subscriptions/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def call_back(base_url: str, delivered, document: dict) -> int:
    """What the receiver does: POST its report to the portal with the delivery's token."""
    sent = delivered.json()
    request = urllib.request.Request(
        f"{base_url}/api/v1/fulfillment-tasks/{sent['task']['id']}/callback",
        data=json.dumps(document).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {sent['callback']['token']}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def step_item(page, name: str):
    return (
        page.get_by_role("list", name="Fulfillment steps")
        .get_by_role("listitem")
        .filter(has_text=name)
    )


def test_the_open_page_follows_the_receivers_reports_then_stops_polling(
    page, live_server, immediate, receivers, step_integration, make_offer, users, watched
):
    receiver = receivers(default=(202, {}))
    step_integration(receiver.url)
    offer = make_offer("VM-LIVE", fulfillment_plan=[webhook_step("Provision VM", "Provisioner")])

    order_in_browser(page, offer, users["consumer"].email)
    (delivered,) = receiver.requests
    step = step_item(page, "Provision VM")
    expect(step.get_by_text("in progress", exact=True)).to_be_visible()
    expect(page.get_by_test_id("subscription-status")).to_contain_text("fulfilling")
    announcements = page.locator("[data-live-progress-status]")
    expect(announcements).to_have_attribute("aria-live", "polite")

    assert call_back(live_server.url, delivered, {"status": "running", "message": "Cloning"}) == 200
    expect(step.get_by_text("Cloning", exact=True)).to_be_visible(timeout=10_000)
    expect(step.get_by_text("in progress", exact=True)).to_be_visible()
    expect(announcements).to_have_text("Provision VM: in progress — Cloning")

    done = {"status": "done", "message": "Ready", "outputs": {"hostname": "vm-42.example"}}
    assert call_back(live_server.url, delivered, done) == 200
    expect(step.get_by_text("done", exact=True)).to_be_visible(timeout=10_000)
    expect(step.get_by_text("Ready", exact=True)).to_be_visible()
    expect(page.get_by_test_id("subscription-status")).to_contain_text("active", timeout=10_000)
    expect(page.get_by_test_id("outputs")).to_contain_text("hostname")
    expect(page.get_by_test_id("outputs")).to_contain_text("vm-42.example")
    # Said once in the live region, which a reload would have emptied.
    expect(announcements).to_have_text(
        "Provision VM: done — Ready. Fulfillment finished; the subscription is active."
    )
    expect(page.get_by_role("link", name="End subscription…")).to_be_visible()

    polls = len(watched["polls"])
    assert polls >= 2
    page.wait_for_timeout(7_000)  # more than two polling intervals
    assert len(watched["polls"]) == polls
    assert watched["errors"] == []


def test_a_failed_step_shows_what_the_consumer_is_told_on_a_narrow_screen(
    page, live_server, immediate, receivers, step_integration, make_offer, users, watched
):
    page.set_viewport_size({"width": 390, "height": 844})
    receiver = receivers(default=(500, {"error": INTERNAL_ERROR}))
    step_integration(receiver.url, max_attempts=2)
    offer = make_offer("VM-FAIL", fulfillment_plan=[webhook_step("Provision VM", "Provisioner")])

    order_in_browser(page, offer, users["consumer"].email)
    assert len(receiver.requests) == 1  # the first attempt failed; the retry waits its turn
    step = step_item(page, "Provision VM")
    expect(step.get_by_text("queued", exact=True)).to_be_visible()

    assert run_due_retries() == 1  # the second and last attempt fails too
    expect(step.get_by_text("failed", exact=True)).to_be_visible(timeout=10_000)
    expect(step.get_by_text(UNREACHABLE)).to_be_visible()
    expect(page.get_by_test_id("subscription-status")).to_contain_text("failed", timeout=10_000)
    expect(page.get_by_test_id("failure-reason")).to_contain_text(UNREACHABLE)
    expect(page.locator("[data-live-progress-status]")).to_contain_text(
        f"Provision VM: failed — {UNREACHABLE}"
    )
    text = page.locator("main").inner_text()
    for internal in (INTERNAL_ERROR, "HTTP 500", "no success after"):
        assert internal not in text

    steps = page.get_by_role("list", name="Fulfillment steps")
    assert steps.evaluate("list => list.scrollWidth <= list.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert watched["errors"] == []


def test_an_agent_sees_the_attempts_and_retries_the_failed_step_after_confirming(
    page, live_server, immediate, receivers, step_integration, make_offer, users, watched
):
    receiver = receivers(default=(500, {"error": INTERNAL_ERROR}))
    step_integration(receiver.url, max_attempts=2)
    offer = make_offer("VM-RETRY", fulfillment_plan=[webhook_step("Provision VM", "Provisioner")])
    order_in_browser(page, offer, users["consumer"].email)
    assert run_due_retries() == 1
    order_id = order_id_on_page(page)
    (task,) = fresh_tasks(order_id)
    assert task.status == "failed"
    page.context.clear_cookies()

    browser_login(page, users["support_agent"].email, DEMO_PASSWORD)
    page.goto(f"/fulfillment/tasks/{task.id}")
    expect(page.get_by_test_id("task-status")).to_contain_text("failed")
    attempts = page.get_by_test_id("delivery-attempt")
    expect(attempts).to_have_count(2)
    for number, row in zip(("1", "2"), (attempts.nth(0), attempts.nth(1)), strict=True):
        cells = row.get_by_role("cell")
        expect(cells.nth(0)).to_have_text(number)
        expect(cells.nth(2)).to_have_text("HTTP 500")  # the status code
        expect(cells.nth(3)).to_have_text(re.compile(r"^\d+ ms$"))  # the duration
        expect(cells.nth(4)).to_contain_text(INTERNAL_ERROR)  # the answer's excerpt

    # Dismissing the confirmation changes nothing.
    retry = page.get_by_role("button", name="Retry this step")
    retry.focus()
    page.keyboard.press("Enter")
    answer_confirmation(page, accept=False)
    expect(page.get_by_test_id("task-status")).to_contain_text("failed")
    assert len(receiver.requests) == 2

    receiver.default = (202, {})
    retry.focus()
    page.keyboard.press("Enter")
    messages = [answer_confirmation(page)]
    expect(page.get_by_text(f"Step “Provision VM” (order {order_id}) runs again.")).to_be_visible()
    assert messages == ["Run “Provision VM” again? It is sent to Provisioner once more."]
    expect(page.get_by_test_id("task-status")).to_contain_text("in progress")
    assert len(receiver.requests) == 3
    expect(
        page.get_by_role("heading", name=re.compile(r"^Delivery \d+ to Provisioner"))
    ).to_have_count(2)
    assert watched["errors"] == []


def order_id_on_page(page) -> int:
    """The order id shown on the consumer's subscription page."""
    heading = page.get_by_role("heading", name=re.compile(r"^Fulfillment: Order #\d+"))
    return int(re.search(r"Order #(\d+)", heading.inner_text()).group(1))
