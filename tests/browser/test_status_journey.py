"""Publish Service Status in a real browser: a product manager announces maintenance; the
subscriber sees it on the status page (with usage and KPIs) and in the inbox; the product
manager's dashboard shows the offer's figures and exports them to CSV."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app import clock
from app.catalog import services as catalog
from app.extensions import db
from app.status import services as status
from app.status.models import UsageMetric
from app.subscriptions import services as subs
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login
from tests.support import conftest as support_fixtures

pytestmark = pytest.mark.browser

# The catalog's and the Support tests' fixtures, used here too.
catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer
agents = support_fixtures.agents

QUOTA = {
    "key": "gb_transferred_quota",
    "label": "Monthly data quota (GB)",
    "type": "number",
    "min": 1,
    "max": 1000,
    "default": 40,
}


@pytest.fixture
def subscribed(users, make_offer, agents, make_user):
    product = catalog.save_product(users["product_manager"], name="Remote Access")
    offer = make_offer(
        "VPN-ACCESS",
        product_id=product.id,
        options=[*catalog_fixtures.complete_offer_data()["options"], QUOTA],
    )
    make_offer("TEAM-WIKI", name="Team wiki")
    db.session.add(UsageMetric(key="gb_transferred", label="Data transferred", unit="GB"))
    db.session.commit()
    order, _ = subs.subscribe(
        users["consumer"], offer.id, options={}, accept_terms=True, idempotency_key="journey"
    )
    manual = next(task for task in order.tasks if task.mode == "manual")
    subs.transition_task(agents[1], manual.id, "complete")
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = [
        {
            "subscription_id": order.subscription_id,
            "metric": "gb_transferred",
            "quantity": 3.5,
            "period_start": (today - timedelta(days=day)).isoformat(),
            "period_end": (today - timedelta(days=day - 1)).isoformat(),
        }
        for day in range(1, 6)
    ]
    status.record_usage(make_user("admin"), rows)
    db.session.commit()  # the fixture is the edge: the services only flush
    return {"product": product, "offer": offer, "subscription_id": order.subscription_id}


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")


def test_maintenance_notice_status_page_and_dashboard_export(page, users, subscribed):
    starts = (clock.now() + timedelta(days=5)).replace(hour=22, minute=0, second=0, microsecond=0)

    # The product manager announces maintenance on the product.
    browser_login(page, users["product_manager"].email, DEMO_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboards").click()
    page.get_by_role("link", name="Service notices").click()
    page.get_by_text("Write a notice").click()
    page.get_by_label("Digital product").select_option(label="Remote Access")
    page.get_by_label("Kind").select_option(label="Planned maintenance")
    page.get_by_label("Title").fill("Gateway upgrade")
    page.get_by_label("Message").fill("Connections drop for up to 15 minutes.")
    page.get_by_label("Starts (UTC)").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Expected end (UTC)").fill(
        (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_role("button", name="Post notice").click()
    expect(
        page.get_by_text("Notice “Gateway upgrade” posted; its subscribers are notified.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Planned maintenance Gateway upgrade")).to_be_visible()
    log_out(page)

    # The subscriber sees it on the status page, with usage and KPIs, and in the inbox.
    browser_login(page, users["consumer"].email, DEMO_PASSWORD)
    page.goto(f"/status/subscriptions/{subscribed['subscription_id']}")
    expect(page.get_by_role("heading", name="Status of VPN access")).to_be_visible()
    expect(page.get_by_role("heading", name="Planned maintenance Gateway upgrade")).to_be_visible()
    expect(
        page.get_by_text(f"Planned maintenance on {starts:%Y-%m-%d %H:%M} UTC: Gateway upgrade.")
    ).to_be_visible()
    chart = page.get_by_role("img", name="Data transferred: month-to-date use against the quota")
    expect(chart).to_be_visible()
    page.get_by_text("Figures for Data transferred").click()
    expect(page.get_by_role("cell", name="3.5").first).to_be_visible()
    expect(page.get_by_test_id("kpi-availability")).to_have_text("100%")
    expect(page.get_by_test_id("kpi-response")).to_have_text("no data")
    expect(page.get_by_role("row", name="Fulfillment lead time")).to_contain_text("24 h")
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_text("Planned maintenance: Remote Access")).to_be_visible()
    expect(page.get_by_text("Gateway upgrade —").first).to_be_visible()
    log_out(page)

    # The product manager's dashboard shows the offer's figures and exports them.
    browser_login(page, users["product_manager"].email, DEMO_PASSWORD)
    page.goto("/status/dashboard")
    page.get_by_label("Digital product").select_option(label="Remote Access")
    page.get_by_label("Offer", exact=True).select_option(value="VPN-ACCESS")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**offer=VPN-ACCESS**")
    expect(page.get_by_test_id("kpi-active")).to_have_text("1")
    expect(page.get_by_test_id("kpi-mrr")).to_have_text("7.50 EUR")
    expect(page.get_by_test_id("table-usage")).to_contain_text("17.5")
    expect(page.get_by_role("img", name="Active subscriptions at each month's end")).to_be_visible()
    offers = page.get_by_test_id("table-offers")
    expect(offers.get_by_role("row", name="VPN-ACCESS")).to_contain_text("VPN access")
    expect(offers).not_to_contain_text("TEAM-WIKI")  # filtered to the product
    with page.expect_download() as download_info:
        page.locator('a[href*="/status/dashboard/offers.csv"]').click()
    download = download_info.value
    assert download.suggested_filename.startswith("dashboard-offers-VPN-ACCESS-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0] == ["Offer code", "Name", "New orders in range", "Active subscriptions"]
    assert rows[1] == ["VPN-ACCESS", "VPN access", "1", "1"]
    with page.expect_download() as usage_download:
        page.locator('a[href*="/status/dashboard/usage.csv"]').click()
    usage_rows = list(
        csv.reader(io.StringIO(Path(usage_download.value.path()).read_text(encoding="utf-8")))
    )
    assert usage_rows[1] == ["gb_transferred", "Data transferred", "17.5", "GB"]
