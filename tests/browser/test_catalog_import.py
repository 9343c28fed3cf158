"""In a real browser: the catalog import page's dry run names the unfinished draft it will not
overwrite, and for a clean file every revision, lifecycle step and notification; the import
then does exactly that, and the draft is left as it was (issue 15, item 1)."""

import os

import pytest
from playwright.sync_api import expect

from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.catalog.exchange import dump_yaml, export_catalog
from app.extensions import db
from tests.browser.confirmations import answer_confirmation
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer

SHOTS = os.environ.get("SCREENSHOTS")  # a folder: keep screenshots of the report there
OLD_SUMMARY = "Remote access to the corporate network."


@pytest.fixture
def two_offers(make_offer, users):
    """VPN-ACCESS published with a draft revision 2 at 8.20; MAILBOX published, no draft."""
    manager = users["catalog_manager"]
    make_offer("VPN-ACCESS")
    make_offer("MAILBOX", name="Mailbox")
    draft = catalog.create_revision(manager, catalog.live_revision("VPN-ACCESS").id)
    catalog.update_offer(manager, draft.id, {"price": "8.20"}, expected_version=None)
    db.session.commit()
    return dump_yaml(export_catalog(SYSTEM))


def check(page, text: str) -> None:
    page.get_by_label("Catalog file (YAML or JSON)").fill(text)
    page.get_by_role("button", name="Check (dry run)").click()


def fits(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_dry_run_shows_the_draft_conflict_then_the_steps_and_imports_as_checked(
    page, two_offers, users
):
    browser_login(page, users["catalog_manager"].email, DEMO_PASSWORD)
    page.goto("/catalog/manage/")
    page.get_by_role("link", name="Import catalog file").click()
    expect(page.get_by_role("heading", name="Import a catalog file", level=1)).to_be_visible()

    both = two_offers.replace(OLD_SUMMARY, "Changed by the file.")
    check(page, both)
    problems = page.get_by_test_id("import-problems")
    expect(problems.get_by_role("heading", name="Nothing was imported")).to_be_visible()
    expect(problems).to_contain_text(
        "VPN-ACCESS has an unfinished revision 2 (draft) with changes of its own to price"
    )
    expect(page.get_by_role("button", name="Import as checked")).to_have_count(0)
    fits(page, 390)
    fits(page, 1280)

    mailbox_only = two_offers.replace(OLD_SUMMARY, "Changed by the file.", 1)  # MAILBOX first
    check(page, mailbox_only)
    report = page.get_by_test_id("import-report")
    expect(report.get_by_role("heading", name="What the import will do")).to_be_visible()
    offer = report.locator("article[data-code=MAILBOX]")
    expect(offer.get_by_test_id("revision")).to_have_text(
        "Revision: new revision 2 of published revision 1"
    )
    expect(offer.get_by_test_id("transitions").get_by_role("listitem")).to_have_text(
        [
            "revision 2: draft → planned",
            "revision 2: planned → ready",
            "revision 2: ready → published",
            "revision 1: published → superseded",
        ]
    )
    expect(offer.get_by_test_id("notifications")).to_contain_text("2 people")
    expect(report.locator("article[data-code=VPN-ACCESS]")).to_have_count(0)  # unchanged
    fits(page, 390)
    fits(page, 1280)
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/import-report-1280.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 900})
        page.screenshot(path=f"{SHOTS}/import-report-390.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Import as checked").click()
    answer_confirmation(page)
    expect(page.get_by_text("The catalog file was imported as checked.")).to_be_visible()
    expect(page.get_by_role("heading", name="What the import did")).to_be_visible()

    db.session.expire_all()
    assert catalog.live_revision("MAILBOX").summary == "Changed by the file."
    draft = catalog.draft_revision("VPN-ACCESS")
    assert (draft.revision, str(draft.price), draft.summary) == (2, "8.20", OLD_SUMMARY)
