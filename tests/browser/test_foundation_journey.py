"""Each demo user logs in through a real browser and sees the navigation for its role."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import browser_login

pytestmark = pytest.mark.browser

EXPECTED_NAV = {
    "admin": ["Users", "Groups", "API tokens", "Audit trail", "Outbox"],
    "consumer": [],
}


def test_each_role_sees_its_navigation(page, app):
    app.test_cli_runner().invoke(args=["seed"])
    cases = {
        "admin@offerdesk.example": (["Users", "Groups", "API tokens", "Audit trail", "Outbox"], []),
        "fiona@offerdesk.example": ([], ["Users", "Audit trail"]),
        "catalog@offerdesk.example": ([], ["Users", "Audit trail"]),
        "agent1@offerdesk.example": ([], ["Users"]),
        "product@offerdesk.example": ([], ["Users"]),
    }
    for email, (present, absent) in cases.items():
        browser_login(page, email, "offerdesk-demo")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Home")).to_be_visible()
        for label in present:
            expect(nav.get_by_role("link", name=label)).to_be_visible()
        for label in absent:
            expect(nav.get_by_role("link", name=label)).to_have_count(0)
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url("**/login")


def test_consumer_opening_admin_page_gets_403(page, make_user):
    from tests.conftest import DEMO_PASSWORD

    consumer = make_user("consumer", groups=("Finance",))
    browser_login(page, consumer.email, DEMO_PASSWORD)
    response = page.goto("/admin/users")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_admin_creates_a_user_by_keyboard_and_sees_field_errors(page, make_user):
    from tests.conftest import DEMO_PASSWORD

    admin = make_user("admin")
    browser_login(page, admin.email, DEMO_PASSWORD)
    page.goto("/admin/users/new")
    page.get_by_label("E-mail").fill("not-an-email")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Enter a valid e-mail address.")).to_be_visible()
    # the refused page says so in its title and puts the cursor in the field to fix
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.get_by_label("E-mail")).to_be_focused()
    expect(page.get_by_label("E-mail")).to_have_accessible_description(
        re.compile("Enter a valid e-mail address.")
    )
    page.get_by_label("E-mail").fill("new.person@example.test")
    page.get_by_label("Name").fill("New Person")
    page.get_by_label("Password").fill("longenough")
    page.get_by_label("Password").press("Enter")
    page.wait_for_url("**/admin/users")
    expect(page.get_by_text("User new.person@example.test created.")).to_be_visible()


def test_login_page_rate_limit_message(page, make_user):
    consumer = make_user("consumer")
    for _ in range(10):
        page.goto("/login")
        page.get_by_label("E-mail").fill(consumer.email)
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Log in").click()
    page.goto("/login")
    page.get_by_label("E-mail").fill(consumer.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Too many failed log-in attempts")).to_be_visible()
