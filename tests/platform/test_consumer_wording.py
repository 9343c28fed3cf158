"""Words people read (issue 15, item 11): no internal or truncated wording on their pages, the
audit trail and an offer's history in labels, names and readable values, and an offer that
retires later announced as one that will be retired on its date."""

import re
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from app import clock
from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.extensions import db
from app.notifications.services import inbox_query
from app.subscriptions.models import Order
from app.support import services as support
from tests.catalog.conftest import catalog_setup, complete_offer_data, make_offer  # noqa: F401
from tests.support.conftest import active_subscription, agents  # noqa: F401

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)


def text_of(html: str) -> str:
    """What a person reads: tags out, whitespace squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_no_template_shows_the_abbreviation_req():
    offenders = [
        path.relative_to(TEMPLATES).as_posix()
        for path in sorted(TEMPLATES.rglob("*.html"))
        if re.search(r"\breq\b", text_of(JINJA.sub(" ", path.read_text(encoding="utf-8"))))
    ]
    assert offenders == []


def test_the_consumers_own_decision_box_is_a_message_to_the_support_team(
    active_subscription, agents, users, client_as
):
    request = support.open_request(
        users["consumer"],
        active_subscription.id,
        request_type="question",
        priority="low",
        subject="Printer",
        description="It jams.",
    )
    support.transition_request(agents[1], request.id, "resolved", reason="Cleaned the rollers")
    db.session.commit()
    page = client_as("consumer").get(f"/support/requests/{request.id}").text
    assert '<label for="status-reason">Your message to the support team (optional)</label>' in page
    assert "Message to the consumer" not in page
    agent_page = client_as("support_agent").get(f"/support/requests/{request.id}").text
    assert "No incident is linked to this request." in agent_page


def test_a_text_option_says_what_to_write_not_its_type(make_offer, client_as):
    options = [
        {"key": "justification", "label": "Why do you need it?", "type": "text", "max_length": 500}
    ]
    offer = make_offer("ADMIN-RIGHTS", name="Admin rights", options=options)
    page = text_of(client_as("consumer").get(f"/catalog/offers/{offer.id}").text)
    assert "Why do you need it? (in your own words, up to 500 characters)" in page
    assert "Why do you need it? text" not in page


def test_home_says_what_the_user_can_do_not_their_role_names(client_as, users):
    page = text_of(client_as("consumer").get("/").text)
    assert (
        f"You are signed in as {users['consumer'].email}. "
        "Here you can order and use services for your groups." in page
    )
    assert "with the role" not in page


def audit_page(client) -> str:
    return client.get("/admin/audit/").text


def test_the_audit_trail_shows_labels_names_and_readable_values(make_offer, users, client_as):
    manager = users["catalog_manager"]
    cloud = catalog.save_category(manager, name="Cloud")
    draft = make_offer("LAPTOP", name="Laptop", publish=False)
    catalog.update_offer(
        manager, draft.id, {"category_id": cloud.id, "price": "12.5"}, expected_version=1
    )
    catalog.set_featured(manager, "LAPTOP", True)
    sales = accounts.save_group(SYSTEM, name="Sales")
    consumer = users["other_consumer"]
    accounts.update_user(
        users["admin"],
        consumer.id,
        email=consumer.email,
        name=consumer.name,
        roles=["consumer"],
        group_ids=[sales.id],
        support_tier=None,
    )
    db.session.commit()
    page = audit_page(client_as("admin"))
    changes = text_of(page)
    assert "Category was none → now Cloud" in changes
    assert "Price was 7.50 → now 12.50" in changes
    assert "Featured in the catalog was No → now Yes" in changes
    assert "Groups was" in changes and "→ now Sales" in changes
    assert "Roles" in changes
    for raw in ("category_id", "None", "True", "['Sales']", '{"', "[{"):
        assert raw not in changes, raw


def test_an_offers_history_in_the_editor_names_the_category(make_offer, users, client_as):
    manager = users["catalog_manager"]
    cloud = catalog.save_category(manager, name="Cloud")
    draft = make_offer("LAPTOP", name="Laptop", publish=False)
    catalog.update_offer(manager, draft.id, {"category_id": cloud.id}, expected_version=1)
    db.session.commit()
    page = client_as("catalog_manager").get(f"/catalog/manage/offers/{draft.id}").text
    history = text_of(re.search(r'<section class="card" id="history".*?</section>', page, re.S)[0])
    assert "Category was none → now Cloud" in history
    assert "category_id" not in history
    # the created revision: its values, without a "before"; options by their labels
    assert "Options Profile, Devices, Split tunnelling, Note" in history
    assert "Availability (%): 99.5; Fulfillment target (hours): 24" in history
    assert "Articles was none → now How to use LAPTOP" in history
    assert '{"' not in history and "[{" not in history


def test_an_offer_retiring_in_two_weeks_is_announced_with_its_date(
    make_offer, active_subscription, users, client_as
):
    manager = users["catalog_manager"]
    make_offer("NEW-VPN", name="New VPN")
    end = (clock.now() + timedelta(days=14)).date()
    catalog.transition_offer(
        manager,
        active_subscription.offer_id,
        "retired",
        end_date=end.isoformat(),
        replacement_code="NEW-VPN",
    )
    db.session.commit()
    texts = [n.body for n in db.session.scalars(inbox_query(users["consumer"]))]
    retiring = [text for text in texts if "retired" in text]
    assert retiring == [
        f"VPN access will be retired on {end:%Y-%m-%d}: no new orders after "
        f"{end:%Y-%m-%d} 00:00 UTC. Its replacement is New VPN."
    ]
    page = text_of(client_as("consumer").get(f"/subscriptions/{active_subscription.id}").text)
    assert f"VPN access will be retired on {end:%Y-%m-%d}" in page
    assert "VPN access is retired" not in page


def test_a_subscriptions_orders_say_order_change_or_termination(active_subscription, client_as):
    page = client_as("consumer").get(f"/subscriptions/{active_subscription.id}").text
    order_id = db.session.scalar(
        sa.select(Order.id).where(Order.subscription_id == active_subscription.id)
    )
    assert f"<td>{order_id}</td><td>Order</td>" in page
    assert f"<td>{order_id}</td><td>new</td>" not in page
