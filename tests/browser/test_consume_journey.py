"""The Consume journey in a real browser: a consumer finds the VPN offer through "did you mean",
compares it, agrees to its terms and orders it with options; an agent works the manual steps in
the fulfillment queue; the consumer sees it active with its contract, changes an option, and
ends it."""

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.search import index
from app.search.index import listeners
from tests.browser.confirmations import answer_confirmation
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login
from tests.subscriptions import conftest as subscription_fixtures

pytestmark = pytest.mark.browser

# The catalog's and the Consume tests' fixtures, used here too.
catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer
agent = subscription_fixtures.agent


@pytest.fixture
def fresh_index(app, monkeypatch):
    """The journey searches: start from an empty index and leave none behind. The commits'
    index changes are written at once, as the worker's `search.index_changes` would."""
    path = Path(app.config["SEARCH_INDEX_DIR"])
    shutil.rmtree(path, ignore_errors=True)
    index.create_empty()
    monkeypatch.setattr(listeners, "_job", lambda keys: index.apply_changes(set(keys)))
    yield
    shutil.rmtree(path, ignore_errors=True)


def status_of(page):
    return page.get_by_test_id("subscription-status")


def work_task(agent_page, task_name: str) -> None:
    """The agent opens the queue, starts the task and completes it."""
    agent_page.goto("/")
    agent_page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Fulfillment queue"
    ).click()
    row = agent_page.get_by_test_id("task-row").filter(has_text=task_name)
    expect(row).to_have_count(1)
    row.get_by_role("button", name=re.compile(rf"^Start {task_name}")).click()
    expect(agent_page.get_by_text(f"Task “{task_name}”")).to_be_visible()
    row = agent_page.get_by_test_id("task-row").filter(has_text=task_name)
    expect(row.get_by_text("in progress")).to_be_visible()
    row.get_by_role("button", name=re.compile(rf"^Complete {task_name}")).click()
    expect(
        agent_page.get_by_text(re.compile(rf"Task “{task_name}” \(order \d+\) completed\."))
    ).to_be_visible()
    expect(agent_page.get_by_test_id("task-row").filter(has_text=task_name)).to_have_count(0)


def test_consumer_orders_changes_and_ends_a_vpn(
    page, browser, live_server, fresh_index, make_offer, agent, users
):
    make_offer("VPN-ACCESS")
    make_offer(
        "LAPTOP", name="Laptop", summary="A managed laptop.", price="45.00", billing_period="yearly"
    )
    consumer = users["consumer"]

    # Select: search with a typo, follow "did you mean", open the offer.
    browser_login(page, consumer.email, DEMO_PASSWORD)
    page.goto("/search")
    page.get_by_label("Search offers and articles").fill("vpm access")
    page.get_by_role("button", name="Search", exact=True).click()
    did_you_mean = page.locator(".did-you-mean").get_by_role("link")
    expect(did_you_mean).to_be_visible()
    did_you_mean.click()
    page.get_by_role("link", name="VPN access", exact=True).first.click()
    page.wait_for_url(re.compile(r"/catalog/offers/\d+$"))
    expect(page.get_by_role("heading", name="VPN access", level=1)).to_be_visible()

    # Compare it with the laptop.
    page.get_by_role("link", name="Compare VPN access with other offers").click()
    page.get_by_label("Add an offer").select_option(label="Laptop (LAPTOP)")
    page.get_by_role("button", name="Add to comparison").click()
    table = page.get_by_role("table")
    expect(table.get_by_role("columnheader", name=re.compile("^VPN access"))).to_be_visible()
    expect(table.get_by_role("columnheader", name=re.compile("^Laptop"))).to_be_visible()
    expect(table.get_by_text("7.50 EUR")).to_be_visible()
    expect(table.get_by_text("45.00 EUR")).to_be_visible()

    # Agree and subscribe, with options; forgetting the terms first.
    table.get_by_role("link", name="Order VPN access").click()
    expect(page.get_by_role("heading", name="Order VPN access")).to_be_visible()
    expect(page.get_by_text("Personal use only. Monthly notice.")).to_be_visible()
    page.get_by_label("Profile").select_option("developer")
    page.get_by_label("Devices").fill("3")
    page.get_by_label("Split tunnelling").check()
    summary = page.get_by_test_id("price-summary")
    expect(summary.get_by_text("7.50 EUR")).to_be_visible()
    expect(summary.get_by_text("developer")).to_be_visible()  # the chosen options, live
    page.get_by_role("button", name="Agree and order").click()
    expect(page.get_by_text("You must accept the terms to order.")).to_be_visible()
    expect(page.get_by_label("Devices")).to_have_value("3")
    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Agree and order").click()
    page.wait_for_url(re.compile(r"/subscriptions/\d+$"))
    subscription_url = page.url
    expect(page.get_by_text("Ordered VPN access.")).to_be_visible()
    expect(status_of(page)).to_contain_text("fulfilling")
    expect(page.get_by_text("1 of 2 steps done")).to_be_visible()
    expect(page.get_by_text("Current step: Approve access")).to_be_visible()

    # The agent in the offer's manual-step group completes the task.
    agent_context = browser.new_context(base_url=live_server.url)
    agent_page = agent_context.new_page()
    browser_login(agent_page, agent.email, DEMO_PASSWORD)
    work_task(agent_page, "Approve access")

    # Active, with its contract.
    page.goto(subscription_url)
    expect(status_of(page)).to_contain_text("active")
    page.get_by_role("link", name="contract version 1").click()
    expect(page.get_by_role("heading", name=re.compile("^Service contract"))).to_be_visible()
    expect(page.get_by_text("VPN-ACCESS, revision 1")).to_be_visible()
    expect(page.get_by_text(consumer.email)).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.go_back()

    # Change an option; the agent applies the change.
    page.get_by_role("link", name="Change options or offer").click()
    expect(page.get_by_label("Devices")).to_have_value("3")
    page.get_by_label("Devices").fill("4")
    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Order the change").click()
    expect(page.get_by_text("Change ordered.")).to_be_visible()
    expect(status_of(page)).to_contain_text("modifying")
    work_task(agent_page, "Apply change")
    page.goto(subscription_url)
    expect(status_of(page)).to_contain_text("active")
    expect(page.get_by_role("link", name="contract version 2")).to_be_visible()
    expect(page.get_by_role("link", name="Version 1")).to_be_visible()

    # End it now; the agent decommissions it.
    page.get_by_role("link", name="End subscription…").click()
    page.get_by_role("button", name="End now").click()
    assert answer_confirmation(page) == "End VPN access now?"
    expect(page.get_by_text("Termination ordered")).to_be_visible()
    expect(status_of(page)).to_contain_text("terminating")
    work_task(agent_page, "Decommission")
    page.goto(subscription_url)
    expect(status_of(page)).to_contain_text("terminated")
    expect(page.get_by_role("link", name="End subscription…")).to_have_count(0)

    # My subscriptions shows it, terminated.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My subscriptions").click()
    row = page.get_by_test_id("subscription-row")
    expect(row).to_have_count(1)
    expect(row.get_by_text("terminated")).to_be_visible()
    agent_context.close()
