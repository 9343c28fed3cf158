"""Release stream in a real browser: a catalog manager defines an offer from nothing,
completes its checklist, publishes it to one group, and later retires it with a replacement."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app import clock
from app.accounts import services as accounts
from app.catalog import services as catalog
from tests.browser.confirmations import answer_confirmation
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import browser_login

pytestmark = pytest.mark.browser

# The catalog fixtures, for this browser test outside tests/catalog/.
catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")


def tab(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Offer sections").get_by_role("link", name=name).click()


def row(page: Page, legend: str):
    return page.get_by_role("group", name=re.compile(rf"^{legend}\b"))


def add_option(page: Page, number: int, *, key: str, label: str, kind: str, **extra) -> None:
    page.get_by_role("button", name="Add field").click()
    page.wait_for_url("**#section-options")
    field = row(page, f"Field {number}")
    field.get_by_label("Key").fill(key)
    field.get_by_label("Label", exact=True).fill(label)
    field.get_by_label("Type").select_option(kind)
    for name, value in extra.items():
        control = field.get_by_label(name, exact=True)
        if value is True:
            control.check()
        else:
            control.fill(value)


def add_step(page: Page, number: int, *, name: str, mode: str, hours: str, group: str = ""):
    page.get_by_role("button", name="Add step").click()
    page.wait_for_url("**#section-steps")
    step = row(page, f"Step {number}")
    step.get_by_label("Step name").fill(name)
    step.get_by_label("Mode").select_option(mode)
    if group:
        step.get_by_label("Group").select_option(group)
    expect(step.get_by_label("Group")).to_be_visible(visible=mode == "manual")
    step.get_by_label("Expected duration (hours)").fill(hours)


def test_offer_released_to_one_group_then_retired_with_a_replacement(page: Page, make_offer, users):
    manager = users["catalog_manager"]
    catalog.save_category(manager, name="Workplace")
    replacement = make_offer("VPN-NEXT", name="VPN Next")
    finance_consumer, outsider = users["consumer"], users["other_consumer"]

    # --- Define: a new offer from nothing --------------------------------------------------
    browser_login(page, manager.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Offers").click()
    page.get_by_role("link", name="New offer").click()
    expect(page.get_by_role("heading", name="New offer")).to_be_visible()

    page.get_by_label("Code").fill("REMOTE-DESKTOP")
    page.get_by_label("Name", exact=True).fill("Remote desktop")
    page.get_by_label("Summary").fill("Your desktop from any browser.")
    page.get_by_label("Description").fill("Work **anywhere**.\n\n* Windows 11\n* 8 GB RAM")
    page.get_by_label("Category").select_option(label="Workplace")
    page.get_by_role("button", name="Preview description").click()
    expect(page.get_by_test_id("preview").locator("strong")).to_have_text("anywhere")

    tab(page, "Pricing")
    page.get_by_label("Cost", exact=True).fill("4.00")
    page.get_by_label("Price", exact=True).fill("10.00")
    page.get_by_label("Billing period").select_option("monthly")
    expect(page.get_by_test_id("margin")).to_have_text("6.00 EUR (60.0 %)")

    tab(page, "Terms")
    page.get_by_role("textbox", name="Terms and conditions").fill("For work use. One month notice.")

    tab(page, "Service levels")
    page.get_by_label("Availability (%)").fill("99.9")
    page.get_by_label("Fulfillment target (hours)").fill("8")
    page.get_by_label("Support hours").select_option("business")
    for priority, (response, resolution) in {
        "Critical": ("1", "4"),
        "High": ("2", "8"),
        "Medium": ("4", "24"),
        "Low": ("8", "72"),
    }.items():
        page.get_by_label(f"{priority} — first response (hours)").fill(response)
        page.get_by_label(f"{priority} — resolution (hours)").fill(resolution)

    tab(page, "Order form")
    add_option(
        page,
        1,
        key="os",
        label="Operating system",
        kind="choice",
        Choices="Windows 11, Ubuntu 24.04",
        Default="Windows 11",
        Required=True,
    )
    add_option(page, 2, key="screens", label="Screens", kind="number", Minimum="1", Maximum="3")
    add_option(page, 3, key="gpu", label="GPU acceleration", kind="boolean", Default="no")
    add_option(page, 4, key="purpose", label="Purpose", kind="text", **{"Help text": "Why?"})
    # Values typed before each "Add field" survived the re-render.
    expect(row(page, "Field 1").get_by_label("Choices")).to_have_value("Windows 11, Ubuntu 24.04")
    expect(row(page, "Field 2").get_by_label("Choices")).to_be_hidden()

    tab(page, "Fulfillment")
    add_step(page, 1, name="Create the virtual desktop", mode="automatic", hours="0.5")
    add_step(page, 2, name="Assign a licence", mode="manual", hours="4", group="Support Desk")

    tab(page, "Support plan")
    page.get_by_label("Tier-1 group").select_option("Support Desk")
    page.get_by_label("Escalation path").fill("Workplace team\nVendor")
    page.get_by_label("Portal").check()
    page.get_by_label("Chat").check()
    page.get_by_role("button", name="Create offer").click()

    expect(page.get_by_text("Offer REMOTE-DESKTOP created as a draft.")).to_be_visible()
    offer_id = int(re.search(r"/offers/(\d+)", page.url).group(1))
    summary = page.get_by_test_id("checklist-summary")
    expect(summary).to_have_text("5 of 6 done.")
    expect(page.locator('[data-check="knowledge"]')).to_contain_text("✗")

    # --- Implement: knowledge and audience, and the checklist completes ---------------------
    tab(page, "Knowledge")
    page.get_by_label("Article title").fill("Connecting to your remote desktop")
    page.get_by_label("Article text").fill("Open the portal and choose **Connect**.")
    page.get_by_role("button", name="Write and link article").click()
    expect(page.get_by_text("written and linked")).to_be_visible()
    expect(summary).to_contain_text("All 6 items done.")
    expect(page.locator('[data-check="knowledge"]')).to_contain_text("✓")

    tab(page, "Audience")
    page.get_by_role("group", name="Audience groups").get_by_label("Finance").check()
    page.get_by_role("button", name="Save audience").click()
    expect(page.get_by_test_id("audience-summary")).to_contain_text("Visible to: Finance.")

    # --- Publish ---------------------------------------------------------------------------
    status = page.get_by_role("region", name="Lifecycle").get_by_test_id("status")
    page.get_by_role("button", name="Approve plan (→ planned)").click()
    expect(status).to_have_text("planned")
    page.get_by_role("button", name="Mark ready").click()
    expect(status).to_have_text("ready")
    page.get_by_role("button", name="Publish").click()
    expect(status).to_have_text("published")
    expect(page.get_by_text("REMOTE-DESKTOP is now published.")).to_be_visible()
    log_out(page)

    # --- A consumer in the group finds it; one outside does not ------------------------------
    browser_login(page, finance_consumer.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    catalog_page = page.get_by_role("main")  # in "New in the catalog": each offer is shown once
    catalog_page.get_by_role("link", name="Remote desktop", exact=True).click()
    expect(page.get_by_role("heading", name="Remote desktop", level=1)).to_be_visible()
    expect(page.get_by_test_id("price")).to_have_text("10.00 EUR")
    expect(page.get_by_text("Operating system")).to_be_visible()
    expect(page.get_by_text("Connecting to your remote desktop")).to_be_visible()
    log_out(page)

    browser_login(page, outsider.email)
    page.goto("/catalog/")
    expect(page.get_by_role("link", name="VPN Next").first).to_be_visible()
    expect(page.get_by_role("link", name="Remote desktop")).to_have_count(0)
    response = page.goto(f"/catalog/offers/{offer_id}")
    assert response.status == 404
    log_out(page)

    # --- Terminate: retire with a replacement ----------------------------------------------
    browser_login(page, manager.email)
    page.goto(f"/catalog/manage/offers/{offer_id}")
    end = (clock.now() + timedelta(days=14)).date().isoformat()
    page.get_by_label("End date", exact=True).fill(end)
    page.get_by_label("Replacement offer").fill("vpn-next")
    page.get_by_role("button", name="Retire offer").click()
    assert answer_confirmation(page) == "Retire REMOTE-DESKTOP?"
    expect(page.get_by_text(f"REMOTE-DESKTOP will be retired on {end}.")).to_be_visible()
    expect(page.get_by_test_id("display-status").first).to_have_text("retiring")
    log_out(page)

    browser_login(page, finance_consumer.email)
    page.goto(f"/catalog/offers/{offer_id}")
    expect(page.get_by_test_id("retired-notice")).to_contain_text("This offer is being retired")
    page.get_by_test_id("replacement-link").click()
    expect(page.get_by_role("heading", name="VPN Next", level=1)).to_be_visible()
    assert page.url.endswith(f"/catalog/offers/{replacement.id}")
    assert accounts.find_group_by_name("Finance") is not None
