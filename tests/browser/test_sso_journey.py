"""Single sign-on in a real browser through the local OpenID provider (oidc-provider): a new
person whose claims carry a group signs in, exists with the mapped role and group and sees that
group's catalog; the provider changes the claims and the next sign-in follows; logging out ends
the provider's session too; once deactivated in Offerdesk, the person is refused."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.accounts import services as accounts
from app.accounts.models import SYSTEM, User
from app.extensions import db
from tests.catalog import conftest as catalog_fixtures
from tests.oidc.fixtures import oidc, openid_provider  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer

DANA = {
    "sub": "dana-42",
    "email": "dana@corp.example",
    "email_verified": True,
    "name": "Dana Finance",
    "groups": ["finance", "staff"],
}


def sign_in_through_the_provider(page, live_server, subject):
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Test SSO").click()
    page.locator("input[name=login]").fill(subject)
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(lambda url: url.startswith(live_server.url))


def dana():
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email.like("dana%")))


def test_a_new_person_signs_in_and_the_claims_follow_the_provider(
    page, live_server, oidc, make_offer, users
):
    finance = accounts.find_group_by_name("Finance")
    engineering = accounts.find_group_by_name("Engineering")
    make_offer("FIN-LEDGER", name="Ledger access", group_ids=[finance.id])
    make_offer("ENG-BUILD", name="Build farm", group_ids=[engineering.id])
    oidc.set_accounts(DANA)

    sign_in_through_the_provider(page, live_server, "dana-42")
    expect(page.get_by_text("Welcome, Dana Finance.")).to_be_visible()
    person = dana()
    assert {(link.role, link.local) for link in person.roles} == {("consumer", False)}
    assert [group.name for group in person.groups] == ["Finance"]
    page.goto("/catalog/")
    offers = page.get_by_role("main")  # featured, new or more offers: each offer once
    expect(offers.get_by_role("link", name="Ledger access", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Build farm")).to_have_count(0)

    # logging out of Offerdesk ends the provider's session too, and comes back to the log-in page
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{live_server.url}/login")

    oidc.set_claims("dana-42", name="Dana Engineer", groups=["engineering", "staff"])
    sign_in_through_the_provider(page, live_server, "dana-42")
    expect(page.get_by_text("Welcome, Dana Engineer.")).to_be_visible()
    person = dana()
    assert (person.name, person.role_names) == ("Dana Engineer", {"consumer"})
    assert [group.name for group in person.groups] == ["Engineering"]
    page.goto("/catalog/")
    expect(offers.get_by_role("link", name="Build farm", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Ledger access")).to_have_count(0)
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{live_server.url}/login")

    accounts.set_user_active(SYSTEM, person.id, False)
    db.session.commit()
    sign_in_through_the_provider(page, live_server, "dana-42")
    expect(page.get_by_role("heading", name="Sign-in refused")).to_be_visible()
    expect(page.get_by_text("Your Offerdesk account is deactivated.")).to_be_visible()
    page.goto("/account")
    expect(page).to_have_url(f"{live_server.url}/login?next=%2Faccount")
