"""The Provide Service Support journey in a real browser: a consumer starts a request, is offered
an article while typing, goes on anyway and sends it with an attachment; a tier-1 agent takes it,
asks for more information (the clock pauses, visibly) and escalates to tier 2; tier 2 raises an
incident and a backlog item, replies and resolves; the consumer accepts and rates the support."""

import re

import pytest
from playwright.sync_api import expect

from app import unit_of_work
from app.catalog import services as catalog
from app.extensions import db
from app.knowledge import services as knowledge
from app.support.models import BacklogItem, Incident, SupportRequest
from tests.conftest import DEMO_PASSWORD, browser_login
from tests.support import conftest as support_fixtures

pytestmark = pytest.mark.browser

# The support tests' fixtures, used here too.
catalog_setup = support_fixtures.catalog_setup
make_offer = support_fixtures.make_offer
agents = support_fixtures.agents
active_subscription = support_fixtures.active_subscription


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")


def test_consumer_asks_agents_escalate_resolve_and_consumer_rates(
    page, active_subscription, users, agents
):
    consumer = users["consumer"]
    manager = users["catalog_manager"]
    product = catalog.save_product(users["product_manager"], name="Remote Access Gateway")
    knowledge.save_article(
        manager,
        title="VPN tunnel drops after sleep",
        body="Click **Reconnect** after the laptop wakes.",
    )
    unit_of_work.commit()  # the set-up's unit of work, before the browser's requests

    # --- the consumer starts a request and is offered an article while typing -------------------
    browser_login(page, consumer.email, DEMO_PASSWORD)
    page.goto(f"/support/new?subscription={active_subscription.id}")
    expect(page.get_by_role("heading", name="Ask for help")).to_be_visible()
    expect(page.get_by_label("Subscription")).to_have_value(str(active_subscription.id))
    page.get_by_label("An issue: something is broken").check()
    page.get_by_label("High", exact=True).check()
    expect(page.get_by_text(re.compile("A key function is broken for you"))).to_be_visible()
    page.get_by_label("Subject").fill("VPN tunnel drops every few minutes")
    suggestions = page.locator("#suggestions")
    offered = suggestions.get_by_role("link", name="VPN tunnel drops after sleep")
    expect(offered).to_be_visible()  # fetched while typing, no submit
    expect(
        suggestions.get_by_role("button", name="This answered my question").first
    ).to_be_visible()
    # …but it does not answer this one: go on anyway, with an attachment.
    page.get_by_label("Description").fill(
        "It drops even when the laptop does not sleep. Report attached."
    )
    page.get_by_label("Attachments").set_input_files(
        files=[
            {
                "name": "posture-report.txt",
                "mimeType": "text/plain",
                "buffer": b"client 5.2\nposture ok\n",
            }
        ]
    )
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_text(re.compile(r"Request \d+ sent\."))).to_be_visible()
    request_id = int(re.search(r"/support/requests/(\d+)", page.url).group(1))
    expect(page.get_by_role("link", name="posture-report.txt")).to_be_visible()
    expect(page.get_by_test_id("request-status")).to_have_text("new")
    log_out(page)

    # --- tier 1 takes it, asks for more information (clock paused), escalates ---------------------
    browser_login(page, agents[1].email, DEMO_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Support queue").click()
    expect(page.get_by_role("heading", name="Support queue · tier 1")).to_be_visible()
    expect(page.get_by_text(re.compile(r"response: \d+ (h|min)"))).to_be_visible()
    page.get_by_role("button", name=f"Take request {request_id}").click()
    expect(page.get_by_text("You took this request.")).to_be_visible()
    expect(page.get_by_test_id("request-assignee")).to_have_text(agents[1].name)
    page.get_by_label("Message to the consumer (optional)").fill("Which client version do you use?")
    page.get_by_role("button", name="Ask for more information").click()
    expect(page.get_by_test_id("request-status")).to_have_text("waiting on consumer")
    expect(page.get_by_test_id("sla-paused")).to_have_text("clock paused")
    expect(page.get_by_text("The clock is paused while we wait for the consumer.")).to_be_visible()
    page.get_by_label("Reason for escalating").fill(
        "Not a client problem: the gateway resets the tunnels."
    )
    page.get_by_role("button", name="Escalate to tier 2").click()
    expect(page.get_by_text("Escalated to tier 2.")).to_be_visible()
    expect(page.get_by_test_id("request-tier")).to_have_text("Tier 2")
    log_out(page)

    # --- tier 2 takes it, raises an incident and a backlog item, replies and resolves --------------
    browser_login(page, agents[2].email, DEMO_PASSWORD)
    page.goto("/support/queue")
    expect(page.get_by_role("heading", name="Support queue · tier 2")).to_be_visible()
    page.get_by_role("link", name=re.compile(rf"#{request_id} VPN tunnel drops")).click()
    expect(
        page.get_by_text("Escalated to tier 2: Not a client problem")
    ).to_be_visible()  # the internal note
    page.get_by_role("button", name="Take it").click()
    expect(page.get_by_test_id("request-assignee")).to_have_text(agents[2].name)

    incident = page.locator("#incident")
    incident.get_by_label("Affected digital product").select_option(label="Remote Access Gateway")
    incident.get_by_label("Severity").select_option("2")
    incident.get_by_label("Incident title").fill("Gateway resets VPN tunnels")
    page.get_by_role("button", name="Raise incident").click()
    expect(page.get_by_text("Incident raised and linked to this request.")).to_be_visible()
    expect(page.get_by_test_id("incident-status")).to_contain_text("is open")

    backlog = page.locator("#backlog")
    backlog.get_by_label("Digital product").select_option(label="Remote Access Gateway")
    backlog.get_by_label("Defect").check()
    backlog.get_by_label("Backlog item title").fill("Client should explain gateway resets")
    page.get_by_role("button", name="Raise backlog item").click()
    expect(page.get_by_text("Backlog item raised for the product team.")).to_be_visible()

    page.get_by_label("Message", exact=True).fill(
        "The gateway was resetting tunnels; operations fixed it."
    )
    page.get_by_role("button", name="Send reply to consumer").click()
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    page.get_by_label("Message to the consumer (optional)").fill(
        "Fixed on the gateway. Please confirm."
    )
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_test_id("request-status")).to_have_text("resolved")
    log_out(page)

    # --- the consumer accepts and rates ---------------------------------------------------------
    browser_login(page, consumer.email, DEMO_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Support").click()
    page.get_by_role("link", name=re.compile(rf"#{request_id} VPN tunnel drops")).click()
    expect(
        page.get_by_text("The gateway was resetting tunnels; operations fixed it.")
    ).to_be_visible()
    expect(page.get_by_text("Escalated to tier 2")).to_have_count(0)  # internal notes stay internal
    expect(page.get_by_test_id("incident-status")).to_contain_text("is open")
    page.get_by_role("button", name="Accept resolution").click()
    expect(page.get_by_test_id("request-status")).to_have_text("closed")
    page.get_by_label("5 — very satisfied").check()
    page.get_by_label("Comment (optional)").fill("Quick help, thank you ✓")
    page.get_by_role("button", name="Send rating").click()
    expect(page.get_by_text("Thank you for rating our support.")).to_be_visible()
    expect(page.get_by_test_id("request-rating")).to_contain_text("5 / 5")

    db.session.expire_all()
    request = db.session.get(SupportRequest, request_id)
    assert (request.status, request.tier, request.satisfaction) == ("closed", 2, 5)
    assert db.session.get(Incident, request.incident_id).product_id == product.id
    assert [r.id for r in db.session.scalars(db.select(BacklogItem)).one().source_requests] == [
        request_id
    ]


def test_an_agent_types_offer_codes_with_suggestions_from_the_server(page, make_offer, agents):
    for number in range(30):  # more offers than the page lists up front
        make_offer(f"SVC-{number:02d}", name=f"Service {number:02d}")
    make_offer("ZZ-TUNNEL", name="Zeta tunnel")
    browser_login(page, agents[1].email, DEMO_PASSWORD)
    page.goto("/support/knowledge/new")
    field = page.get_by_label("Offers this article helps with")
    expect(page.locator('#article-offer-codes option[value="ZZ-TUNNEL"]')).to_have_count(0)
    field.press_sequentially("SVC-03, zeta")
    expect(page.locator('#article-offer-codes option[value="SVC-03, ZZ-TUNNEL"]')).to_have_count(1)
    field.fill("SVC-03, ZZ-TUNNEL")
    page.get_by_label("Title").fill("Tunnel tips")
    page.get_by_label("Article (Markdown)").fill("Reconnect.")
    page.get_by_role("button", name="Save article").click()
    expect(page.get_by_text("Article “Tunnel tips” saved")).to_be_visible()
    expect(page.get_by_role("link", name="Zeta tunnel")).to_be_visible()


def test_enter_in_the_subject_sends_the_request(page, active_subscription, users):
    browser_login(page, users["consumer"].email, DEMO_PASSWORD)
    page.goto(f"/support/new?subscription={active_subscription.id}")
    page.get_by_label("Description").fill("The tunnel drops every hour.")
    page.get_by_label("Subject").fill("Tunnel drops")
    page.get_by_label("Subject").press("Enter")
    expect(page.get_by_text(re.compile(r"Request \d+ sent\."))).to_be_visible()
    assert (
        db.session.scalar(
            db.select(db.func.count(SupportRequest.id)).where(
                SupportRequest.subject == "Tunnel drops"
            )
        )
        == 1
    )
