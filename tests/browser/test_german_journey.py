"""The portal in German, in a real browser: a consumer whose browser asks for German sees the
catalog, an offer page and the order form in German, orders, sends a support request; the
agent's e-mail about it is written in German, and the admin reads it in the outbox. Each page is
screenshotted (to a temporary folder) and its text checked against English words of the
interface that must not be left over."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import unit_of_work
from app.extensions import db
from app.notifications.models import OutboxEmail
from tests.conftest import DEMO_PASSWORD
from tests.support import conftest as support_fixtures

pytestmark = pytest.mark.browser

catalog_setup = support_fixtures.catalog_setup
make_offer = support_fixtures.make_offer
agents = support_fixtures.agents
active_subscription = support_fixtures.active_subscription

# Words of the interface, in English, that a German page must not show. The offer's own texts
# (its name, summary, terms and option labels: "VPN access", "Profile") are data, not on the list.
ENGLISH = [
    "Skip to content",
    "Log out",
    "Find offers",
    "My subscriptions",
    "Service status",
    "Notifications",
    "Catalog",
    "Service levels",
    "Terms and conditions",
    "About this offer",
    "What you choose when ordering",
    "Knowledge articles",
    "Available from",
    "Price",
    "Order VPN access",
    "Agree and order",
    "I accept the terms",
    "Ask for help",
    "Send request",
    "Subject",
    "Description",
    "Priority",
    "Attachments",
    "E-mail outbox",
    "monthly",
    "required",
    "This field is required",
    "New high request",
    "Welcome",
    "hours",
    "Critical",
    "High",
    "Medium",
    "Low",
    "left",
    "each",
    "critical",
    "business",
]
SHOTS = Path(tempfile.mkdtemp(prefix="offerdesk-german-"))


def check_german(page, name: str) -> None:
    """The page is German: lang="de", none of the English words, and a screenshot kept."""
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.locator("html").get_attribute("lang") == "de"
    text = page.locator("body").inner_text()
    left_over = [word for word in ENGLISH if re.search(rf"\b{re.escape(word)}\b", text)]
    left_over += re.findall(r"\b(yes|no)\b", text)  # e.g. a yes/no option in the summary
    assert left_over == [], f"{name}: English left on the page: {left_over} ({SHOTS})"


def german_login(page, email: str) -> None:
    page.goto("/login")
    check_german(page, "login")
    page.get_by_label("E-Mail").fill(email)
    page.get_by_label("Passwort").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(lambda url: "/login" not in url)


def test_the_portal_in_german_catalog_offer_order_support_and_email(
    browser, live_server, active_subscription, users, agents
):
    offer = active_subscription.offer
    agent = agents[1]
    agent.locale = "de"  # the e-mail about the new request is written in the agent's language
    unit_of_work.commit()

    context = browser.new_context(
        base_url=live_server.url, locale="de-DE", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        german_login(page, users["consumer"].email)
        expect(page.get_by_text(f"Willkommen, {users['consumer'].name}.")).to_be_visible()

        page.goto("/catalog/")
        expect(page.get_by_role("heading", name="Servicekatalog")).to_be_visible()
        check_german(page, "catalog")

        page.goto(f"/catalog/offers/{offer.id}")
        expect(page.get_by_role("heading", name="Service-Levels")).to_be_visible()
        expect(page.get_by_test_id("price")).to_have_text("7,50\xa0€")
        check_german(page, "offer")

        page.get_by_role("link", name=f"{offer.name} bestellen").click()
        expect(page.get_by_role("button", name="Zustimmen und bestellen")).to_be_visible()
        check_german(page, "order-form")
        page.get_by_role("button", name="Zustimmen und bestellen").click()
        expect(
            page.get_by_text("Sie müssen den Bedingungen zustimmen, um zu bestellen.")
        ).to_be_visible()
        check_german(page, "order-form-refused")

        page.goto(f"/support/new?subscription={active_subscription.id}")
        expect(page.get_by_role("heading", name="Hilfe anfordern")).to_be_visible()
        page.get_by_label("Ein Problem: etwas funktioniert nicht").check()
        page.get_by_label("Hoch", exact=True).check()
        page.get_by_label("Betreff").fill("VPN bricht alle paar Minuten ab")
        page.get_by_label("Beschreibung").fill("Auch ohne Standby.")
        check_german(page, "support-form")
        page.get_by_role("button", name="Anfrage senden").click()
        expect(page.get_by_text(re.compile(r"Anfrage \d+ gesendet\."))).to_be_visible()
        check_german(page, "support-request")
        page.get_by_role("button", name="Abmelden").click()
        page.wait_for_url("**/login")

        email = db.session.scalars(
            sa.select(OutboxEmail)
            .where(OutboxEmail.recipient == agent.email)
            .order_by(OutboxEmail.id.desc())
        ).first()
        assert email.subject == "Neue Anfrage (hoch): VPN bricht alle paar Minuten ab"
        assert email.body.startswith(f"Zu {offer.name}.")

        german_login(page, users["admin"].email)
        page.goto("/admin/outbox")
        expect(page.get_by_role("heading", name="E-Mail-Postausgang")).to_be_visible()
        expect(page.get_by_text(email.subject)).to_be_visible()
        check_german(page, "email-outbox")
    finally:
        context.close()
