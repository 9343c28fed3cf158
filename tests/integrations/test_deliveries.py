"""Event webhooks delivered by the job to a real HTTP receiver, in Huey's immediate mode: the
first attempt runs when the publishing transaction commits; a retry goes to Huey's schedule and
the test runs it when due, as a worker would."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from app import jobs
from app.extensions import db
from app.integrations.models import DeliveryAttempt, WebhookDelivery
from app.integrations.services import webhooks
from app.integrations.services.signing import verify

OFFER = {"offer_id": 7, "code": "VPN", "name": "Remote access VPN"}


def publish_and_commit(event: str = "offer.published", payload: dict | None = None):
    deliveries = webhooks.publish(event, payload or OFFER)
    db.session.commit()
    return [delivery.id for delivery in deliveries]


def retries_due() -> list:
    return jobs.huey.read_schedule(datetime(2999, 1, 1))


def run_due_retry():
    (retry,) = retries_due()
    jobs.huey.execute(retry, timestamp=retry.eta)
    return retry


def delivery(delivery_id: int) -> WebhookDelivery:
    db.session.expire_all()
    return db.session.get(WebhookDelivery, delivery_id)


def test_a_published_event_is_delivered_signed_after_the_commit(
    app, immediate, receiver, subscribed
):
    subscribed(receiver.url)
    (delivery_id,) = [d.id for d in webhooks.publish("offer.published", OFFER)]
    db.session.flush()
    assert receiver.requests == []  # nothing leaves before the commit
    db.session.commit()

    (request,) = receiver.requests
    assert request.signature_valid
    assert request.headers["Offerdesk-Delivery"] == str(delivery_id)
    assert request.headers["Content-Type"] == "application/json"
    assert verify(receiver.secret, request.body, request.headers["Offerdesk-Signature"])
    document = request.json()
    assert document["event"] == "offer.published"
    assert document["delivery_id"] == delivery_id and document["data"] == OFFER
    sent = delivery(delivery_id)
    assert sent.status == "delivered" and sent.attempts == 1 and sent.delivered_at
    (attempt,) = sent.log
    assert attempt.status_code == 200 and attempt.attempt == 1
    assert '"received": true' in attempt.response_excerpt and attempt.duration_ms >= 0


def test_only_webhooks_subscribed_to_the_event_get_it(app, immediate, receiver, subscribed):
    subscribed(receiver.url, events=["sla.breached"])
    assert publish_and_commit("offer.published") == []
    assert receiver.requests == [] and retries_due() == []


def test_a_rolled_back_transaction_sends_nothing(app, immediate, receiver, subscribed):
    subscribed(receiver.url)
    webhooks.publish("offer.published", OFFER)
    db.session.rollback()
    assert receiver.requests == []
    assert db.session.scalars(sa.select(WebhookDelivery)).all() == []


def test_an_unknown_event_is_refused(app):
    with pytest.raises(ValueError, match="Unknown event"):
        webhooks.publish("offer.exploded", OFFER)


def test_500_twice_then_200_is_three_attempts_with_backoff(app, immediate, receiver, subscribed):
    app.config["INTEGRATION_RETRY_DELAY"] = 10
    receiver.script = [500, 500]
    subscribed(receiver.url, max_attempts=5)
    started = datetime.now()
    (delivery_id,) = publish_and_commit()
    assert delivery(delivery_id).status == "pending"

    first_run = datetime.now()
    first_retry = run_due_retry()
    assert 9 <= (first_retry.eta - started).total_seconds() <= 12
    second_retry = run_due_retry()  # scheduled when the first retry ran
    assert 19 <= (second_retry.eta - first_run).total_seconds() <= 22  # doubled

    assert retries_due() == []
    sent = delivery(delivery_id)
    assert sent.status == "delivered" and sent.attempts == 3 and sent.last_error == ""
    assert [(a.attempt, a.status_code) for a in sent.log] == [(1, 500), (2, 500), (3, 200)]
    assert len(receiver.requests) == 3 and all(r.signature_valid for r in receiver.requests)
    assert {r.headers["Offerdesk-Delivery"] for r in receiver.requests} == {str(delivery_id)}


def test_receiver_down_fails_after_max_attempts_then_redelivers(
    app, immediate, receiver, subscribed, api, users
):
    from tests.conftest import token_for

    receiver.stop()
    webhook = subscribed(receiver.url, max_attempts=3)
    (delivery_id,) = publish_and_commit()
    run_due_retry()
    run_due_retry()
    assert retries_due() == []
    failed = delivery(delivery_id)
    assert failed.status == "failed" and failed.attempts == 3
    assert [a.status_code for a in failed.log] == [None, None, None]
    assert "Connection" in failed.last_error and all(a.error for a in failed.log)

    receiver.start()  # back, on the same port
    admin = api(token_for(users["admin"]))
    response = admin.post(f"/api/v1/webhooks/{webhook.id}/deliveries/{delivery_id}/redeliver")
    assert response.status_code == 202, response.json
    sent = delivery(delivery_id)
    assert sent.status == "delivered" and len(sent.log) == 4
    (request,) = receiver.requests
    assert request.signature_valid and request.headers["Offerdesk-Delivery"] == str(delivery_id)

    again = admin.post(f"/api/v1/webhooks/{webhook.id}/deliveries/{delivery_id}/redeliver")
    assert again.status_code == 202 and len(receiver.requests) == 2


def test_a_delivery_never_blocks_the_web_request(app, receiver, subscribed, api, users):
    """Without immediate mode the request only enqueues: the receiver hears nothing until a
    worker runs the job."""
    from tests.conftest import token_for

    receiver.stop()
    webhook = subscribed(receiver.url, max_attempts=1)
    try:
        jobs.huey.immediate = True
        (delivery_id,) = publish_and_commit()
    finally:
        jobs.huey.storage.flush_all()
        jobs.huey.immediate = False
    receiver.start()
    admin = api(token_for(users["admin"]))
    try:
        jobs.huey.storage.flush_all()  # what earlier tests of this process left queued
        response = admin.post(f"/api/v1/webhooks/{webhook.id}/deliveries/{delivery_id}/redeliver")
        assert response.status_code == 202 and response.json["status"] == "pending"
        queued = [task.name for task in jobs.huey.pending()]
        assert receiver.requests == [] and queued == ["accounts.token_used", "integrations.deliver"]
        while jobs.huey.pending_count():
            jobs.huey.execute(jobs.huey.dequeue())  # what the worker does
    finally:
        jobs.huey.storage.flush_all()
    assert delivery(delivery_id).status == "delivered" and len(receiver.requests) == 1


def test_a_redirect_is_an_answer_not_followed(app, immediate, receiver, subscribed):
    receiver.script = [302]
    subscribed(receiver.url, max_attempts=1)
    (delivery_id,) = publish_and_commit()
    sent = delivery(delivery_id)
    assert sent.status == "failed" and sent.log[0].status_code == 302
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("message_format", "check"),
    [
        ("slack", lambda doc: doc["text"].startswith("*Offerdesk: Offer published*")),
        (
            "teams",
            lambda doc: (
                doc["@type"] == "MessageCard" and doc["title"] == "Offerdesk: Offer published"
            ),
        ),
    ],
)
def test_slack_and_teams_get_a_readable_message(
    app, immediate, receiver, subscribed, message_format, check
):
    subscribed(receiver.url, format=message_format)
    publish_and_commit()
    (request,) = receiver.requests
    document = json.loads(request.body)
    assert check(document) and "event" not in document
    assert "name: Remote access VPN" in json.dumps(document)


def test_a_host_taken_off_the_allow_list_is_not_contacted(app, immediate, receiver, subscribed):
    subscribed(receiver.url, max_attempts=1)
    app.config["INTEGRATION_ALLOWED_HOSTS"] = "hooks.example.com"
    try:
        (delivery_id,) = publish_and_commit()
    finally:
        app.config["INTEGRATION_ALLOWED_HOSTS"] = ""
    assert receiver.requests == []
    assert "INTEGRATION_ALLOWED_HOSTS" in delivery(delivery_id).last_error
    assert db.session.scalars(sa.select(DeliveryAttempt)).one().status_code is None
