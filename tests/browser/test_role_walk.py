"""Each demo role walks its main pages (every link of its navigation, plus an offer, a
subscription and its status page) at 390 px and at 1280 px: no page is wider than the window
and axe finds no WCAG 2.1 A/AA violation (issue 15, the accessibility and layout pass)."""

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.catalog.models import ServiceOffer
from app.catalog.services.visibility import visible_offers_query
from app.demo.seeds import load_seeds
from app.extensions import db
from app.subscriptions.models import Subscription
from tests.conftest import browser_login

pytestmark = pytest.mark.browser

DEMO_PASSWORD = "offerdesk-demo"
ROLES = {
    "consumer": "fiona@offerdesk.example",
    "support_agent": "agent1@offerdesk.example",
    "catalog_manager": "catalog@offerdesk.example",
    "product_manager": "product@offerdesk.example",
    "admin": "admin@offerdesk.example",
}
VIEWPORTS = ({"width": 390, "height": 844}, {"width": 1280, "height": 900})


@pytest.fixture
def demo(live_server):
    load_seeds()
    db.session.commit()
    # An offer every role may open: the demo has canary and group-only offers, and the
    # engines return unordered rows in different orders.
    visible = [
        set(
            db.session.scalars(
                visible_offers_query(_user(email)).with_only_columns(ServiceOffer.id)
            )
        )
        for email in ROLES.values()
    ]
    offer = min(set.intersection(*visible))
    fiona = db.session.scalar(sa.select(User).where(User.email == ROLES["consumer"]))
    subscription = db.session.scalar(
        sa.select(Subscription.id)
        .where(Subscription.status == "active", Subscription.group_id.in_(fiona.group_ids))
        .order_by(Subscription.id)
        .limit(1)
    )
    return {"offer": offer, "subscription": subscription}


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _main_pages(page, role: str, demo: dict) -> list[str]:
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    paths = [link.get_attribute("href") for link in links.all()]
    paths += [
        page.locator("a.bell").get_attribute("href"),
        "/search/?q=vpn",
        f"/catalog/offers/{demo['offer']}",
    ]
    if role in ("consumer", "support_agent"):
        subscription = demo["subscription"]
        paths += [f"/subscriptions/{subscription}", f"/status/subscriptions/{subscription}"]
    return list(dict.fromkeys(paths))


def _walk(page, checker, paths: list[str]) -> list[str]:
    visited = []
    for viewport in VIEWPORTS:
        page.set_viewport_size(viewport)
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, (path, response.status)
            checker.check(page)  # axe, and the width of the document: findings
            visited.append(f"{viewport['width']} {path}")
    return visited


@pytest.mark.parametrize("role", list(ROLES))
def test_every_main_page_of_a_role_is_accessible_and_fits_at_390_and_1280(
    page, demo, role, accessibility_pass
):
    browser_login(page, ROLES[role], DEMO_PASSWORD)
    paths = _main_pages(page, role, demo)
    assert len(paths) >= 6
    visited = _walk(page, accessibility_pass, paths)
    assert len(visited) == 2 * len(paths)
    assert accessibility_pass.findings == [], "\n".join(accessibility_pass.findings)
