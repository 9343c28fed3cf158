"""In a real browser: a bundle visible to everyone that holds a canary offer for Finance is
shown in the catalog to Finance and not to Engineering, whose link to it leads nowhere
(issue 15, item 2)."""

import re

import pytest
from playwright.sync_api import expect

from app.accounts import services as accounts
from app.catalog import services as catalog
from app.extensions import db
from app.knowledge import services as knowledge
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer


@pytest.fixture
def starter_kit(make_offer, users):
    manager = users["catalog_manager"]
    make_offer("VPN-ACCESS")
    finance = accounts.find_group_by_name("Finance").id
    make_offer("PAYROLL-PILOT", name="Payroll pilot", pilot_ids=[finance])
    bundle = catalog.create_offer(
        manager,
        catalog_fixtures.complete_offer_data(
            "STARTER-KIT", name="Starter kit", kind="bundle", options=[]
        ),
    )
    catalog.set_bundle_members(manager, bundle.id, ["VPN-ACCESS", "PAYROLL-PILOT"])
    article = knowledge.save_article(manager, title="Starter kit", body="Read me.")
    knowledge.link_articles(manager, "STARTER-KIT", [article.id])
    for status in ("planned", "ready", "published"):
        bundle = catalog.transition_offer(manager, bundle.id, status)
    db.session.commit()
    return bundle


def test_catalog_shows_the_bundle_to_the_pilot_group_only(browser, live_server, starter_kit, users):
    for role, sees in (("other_consumer", False), ("consumer", True)):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        browser_login(page, users[role].email, DEMO_PASSWORD)
        page.goto("/catalog/")
        main = page.get_by_role("main")
        expect(main.get_by_role("link", name="VPN access").first).to_be_visible()
        kit = main.get_by_role("link", name="Starter kit")
        if sees:
            kit.first.click()
            page.wait_for_url(re.compile(rf"/catalog/offers/{starter_kit.id}$"))
            expect(page.get_by_role("heading", name="Starter kit", level=1)).to_be_visible()
        else:
            expect(kit).to_have_count(0)
            response = page.goto(f"/catalog/offers/{starter_kit.id}")
            assert response is not None and response.status == 404
        context.close()
