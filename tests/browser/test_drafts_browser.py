"""In Chromium: a consumer fills the Virtual machine order form halfway, saves it as a draft,
finds it under Drafts on My subscriptions, resumes it, and finds the values there; at 390 px
the Drafts list fits, and deleting a draft asks first."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.confirmations import answer_confirmation
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login
from tests.vm_options import VM_OPTIONS

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer


def test_a_saved_draft_is_resumed_from_drafts_with_its_values(page, make_offer, users):
    vm = make_offer("VM-TEST", name="Virtual machine", price="80.00", options=VM_OPTIONS)
    browser_login(page, users["consumer"].email, DEMO_PASSWORD)
    page.goto(f"/subscriptions/new?offer={vm.id}")
    page.get_by_label("Region").select_option("eu-west")
    page.get_by_label("Data centre").select_option("Dublin 2")
    page.get_by_label("Memory (GB)").select_option("32")
    page.get_by_role("button", name="Save as draft").click()  # GPU model etc. not needed yet
    page.wait_for_url(re.compile(r"/subscriptions#drafts$"))

    drafts = page.get_by_test_id("drafts")
    expect(drafts.get_by_test_id("draft-row")).to_have_count(1)
    expect(drafts).to_contain_text("Virtual machine")
    drafts.get_by_role("link", name="Resume Virtual machine").click()
    page.wait_for_url(re.compile(r"/subscriptions/new\?.*draft="))
    expect(page.get_by_test_id("resumed-draft")).to_be_visible()
    expect(page.get_by_label("Region")).to_have_value("eu-west")
    expect(page.get_by_label("Data centre")).to_have_value("Dublin 2")
    expect(page.get_by_label("Memory (GB)")).to_have_value("32")
    expect(page.get_by_test_id("total-monthly")).to_have_text("90.00 EUR")

    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/subscriptions")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_test_id("drafts").get_by_role("button", name="Delete").click()
    assert answer_confirmation(page) == "Delete this draft of Virtual machine?"
    expect(page.get_by_text("Draft deleted.")).to_be_visible()
    expect(page.get_by_test_id("drafts")).to_have_count(0)
