"""The domains' events reach the webhooks: ordering through the web page delivers one signed
subscription.ordered to a real receiver, and each other event records its delivery with a small
document of ids, codes, names and times."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.extensions import db
from app.integrations.models import WebhookDelivery
from app.integrations.services.webhooks import EVENTS
from app.status import services as status
from app.subscriptions import services as subs
from app.subscriptions.models import Subscription
from app.support import services as support
from tests.catalog.conftest import catalog_setup, complete_offer_data, make_offer  # noqa: F401
from tests.subscriptions.test_routes import place_order
from tests.support.conftest import active_subscription, agents  # noqa: F401

AUTOMATIC_ONLY = [
    {"name": "Create account", "mode": "automatic", "expected_hours": 0.1, "integration": None}
]


def deliveries(event: str) -> list[dict]:
    db.session.expire_all()
    return [
        delivery.payload
        for delivery in db.session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.event == event)
            .order_by(WebhookDelivery.id)
        )
    ]


@pytest.fixture
def every_event(immediate, receiver, subscribed):
    subscribed(receiver.url, events=list(EVENTS))
    return receiver


def test_ordering_on_the_web_page_delivers_one_signed_subscription_ordered(
    make_offer, client_as, immediate, receiver, subscribed
):
    offer = make_offer("VPN-ACCESS")
    subscribed(receiver.url, events=["subscription.ordered"])

    response = place_order(client_as("consumer"), offer.id)

    assert response.status_code == 302
    subscription = db.session.scalars(sa.select(Subscription)).one()
    (request,) = receiver.requests
    assert request.signature_valid
    document = request.json()
    assert document["event"] == "subscription.ordered"
    data = document["data"]
    assert {key: data[key] for key in ("subscription_id", "offer_code", "offer_name")} == {
        "subscription_id": subscription.id,
        "offer_code": "VPN-ACCESS",
        "offer_name": "VPN access",
    }
    assert data["status"] == "requested" and data["ordered_at"].endswith("Z")


def test_publishing_and_retiring_an_offer(make_offer, users, every_event):
    offer = make_offer("VPN-ACCESS")
    catalog.transition_offer(users["catalog_manager"], offer.id, "retired")
    db.session.commit()

    (published,) = deliveries("offer.published")
    assert published["code"] == "VPN-ACCESS" and published["name"] == "VPN access"
    assert (published["offer_id"], published["revision"], published["status"]) == (
        offer.id,
        1,
        "published",
    )
    assert published["superseded_revision"] is None and published["published_at"].endswith("Z")
    (retired,) = deliveries("offer.retired")
    assert (retired["code"], retired["status"], retired["replacement_code"]) == (
        "VPN-ACCESS",
        "retired",
        None,
    )
    assert retired["retired_at"].endswith("Z")
    assert {request.json()["event"] for request in every_event.requests} == {
        "offer.published",
        "offer.retired",
    }


def test_a_subscription_activated_and_terminated(make_offer, users, every_event):
    offer = make_offer("SSO", name="Single sign-on", fulfillment_plan=AUTOMATIC_ONLY)
    order, _ = subs.subscribe(
        users["consumer"], offer.id, options={}, accept_terms=True, idempotency_key="k-1"
    )
    subscription_id = order.subscription_id
    db.session.commit()
    subs.terminate(users["consumer"], subscription_id, idempotency_key="k-2")
    db.session.commit()

    (activated,) = deliveries("subscription.activated")
    assert (activated["subscription_id"], activated["offer_code"], activated["status"]) == (
        subscription_id,
        "SSO",
        "active",
    )
    assert activated["active_since"].endswith("Z")
    (terminated,) = deliveries("subscription.terminated")
    assert (terminated["subscription_id"], terminated["status"]) == (subscription_id, "terminated")
    assert terminated["terminated_at"].endswith("Z")


def open_issue(users, subscription):
    return support.open_request(
        users["consumer"],
        subscription.id,
        request_type="issue",
        priority="high",
        subject="Cannot connect",
        description="Timeout at login; my password is hunter2.",
    )


def test_a_support_request_opened_escalated_and_resolved(
    active_subscription, agents, users, every_event
):
    request = open_issue(users, active_subscription)
    support.escalate(agents[1], request.id, "Needs the network team (internal note)")
    support.transition_request(agents[2], request.id, "resolved")
    db.session.commit()

    (opened,) = deliveries("support_request.opened")
    assert opened == {
        "request_id": request.id,
        "subscription_id": active_subscription.id,
        "type": "issue",
        "priority": "high",
        "subject": "Cannot connect",
        "status": "new",
        "tier": 1,
        "opened_at": opened["opened_at"],
    }
    (escalated,) = deliveries("support_request.escalated")
    assert (escalated["tier"], escalated["from_tier"]) == (2, 1)
    (resolved,) = deliveries("support_request.resolved")
    assert resolved["status"] == "resolved" and resolved["resolved_at"].endswith("Z")
    for request_sent in every_event.requests:
        assert b"hunter2" not in request_sent.body and b"internal note" not in request_sent.body


def test_an_sla_breach(active_subscription, users, every_event):
    request = open_issue(users, active_subscription)
    db.session.commit()
    support.sla_check(SYSTEM, clock.now() + timedelta(days=30))

    breaches = deliveries("sla.breached")
    assert [(b["request_id"], b["target"]) for b in breaches] == [
        (request.id, "first response"),
        (request.id, "resolution"),
    ]
    assert all(b["due_at"].endswith("Z") for b in breaches)


def test_a_notice_published(users, every_event):
    product = catalog.save_product(users["product_manager"], name="Remote Access Platform")
    notice = status.post_notice(
        users["product_manager"],
        product_id=product.id,
        kind="maintenance",
        title="Gateway patch",
        message="Ten minutes of downtime.",
        starts_at=clock.now() + timedelta(days=2),
    )

    (published,) = deliveries("notice.published")
    assert {key: value for key, value in published.items() if not key.endswith("_at")} == {
        "notice_id": notice.id,
        "product_id": product.id,
        "product_name": "Remote Access Platform",
        "kind": "maintenance",
        "title": "Gateway patch",
    }
    assert published["starts_at"].endswith("Z") and published["ends_at"] is None
