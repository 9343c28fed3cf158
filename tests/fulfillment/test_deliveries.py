"""An automatic step that names a webhook integration is delivered to a real receiver by the
job (Huey's immediate mode: the first attempt runs when the order commits; a retry goes to
Huey's schedule and the test runs it when due, as a worker would)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from app import jobs
from app.extensions import db
from app.integrations.services.signing import verify
from app.subscriptions.models import StepDeliveryAttempt, TaskLogEntry
from tests.conftest import login, token_for
from tests.fulfillment.conftest import (
    deliveries_of,
    fresh_tasks,
    retries_due,
    run_due_retries,
    subscription_of,
    webhook_step,
)


def test_the_step_is_posted_signed_with_its_document_after_the_commit(
    app, immediate, receiver, step_integration, order_with_plan, users
):
    app.config["PUBLIC_URL"] = "https://portal.example.com"
    step_integration(receiver.url)
    order_id = order_with_plan([webhook_step("Provision VM", "Provisioner")])

    (request,) = receiver.requests
    assert request.signature_valid
    assert verify(receiver.secret, request.body, request.headers["Offerdesk-Signature"])
    (task,) = fresh_tasks(order_id)
    (delivery,) = deliveries_of(task.id)
    assert request.headers["Offerdesk-Delivery"] == str(delivery.id)
    document = request.json()
    subscription = subscription_of(order_id)
    assert document["event"] == "fulfillment.step"
    assert document["delivery_id"] == delivery.id
    assert document["task"] == {"id": task.id, "name": "Provision VM", "attempt": 1}
    assert document["order"] == {"id": order_id, "type": "new"}
    assert document["subscription"] == {
        "id": subscription.id,
        "offer_code": "VM-SMALL",
        "group": "Finance",
        "owner_email": users["consumer"].email,
    }
    assert document["options"]["profile"] == "developer"
    assert document["callback"]["url"] == (
        f"https://portal.example.com/api/v1/fulfillment-tasks/{task.id}/callback"
    )
    token = document["callback"]["token"]
    assert len(token) >= 40
    assert token not in (delivery.token_hash, delivery.token_encrypted)  # never kept in clear
    # the receiver answered 200 {"status": "done"}: the step is done and the order with it
    assert task.status == "done" and subscription.status == "active"
    assert delivery.status == "delivered" and delivery.attempts == 1


def test_500_twice_then_done_is_three_attempts_in_the_log(
    app, immediate, receiver, step_integration, order_with_plan, client_as
):
    app.config["INTEGRATION_RETRY_DELAY"] = 10
    receiver.script = [(500, {"error": "busy"}), (500, {"error": "busy"})]
    step_integration(receiver.url, max_attempts=5)
    order_id = order_with_plan([webhook_step("Provision VM", "Provisioner")])
    (task,) = fresh_tasks(order_id)
    assert task.status == "queued" and subscription_of(order_id).status == "fulfilling"

    assert run_due_retries() == 2
    (task,) = fresh_tasks(order_id)
    assert task.status == "done" and subscription_of(order_id).status == "active"
    (delivery,) = deliveries_of(task.id)
    assert [(a.attempt, a.status_code) for a in delivery.log] == [(1, 500), (2, 500), (3, 200)]
    assert all(a.duration_ms >= 0 and a.attempted_at for a in delivery.log)
    assert '"error": "busy"' in delivery.log[0].response_excerpt
    assert len(receiver.requests) == 3 and all(r.signature_valid for r in receiver.requests)
    assert [r.json()["task"]["attempt"] for r in receiver.requests] == [1, 2, 3]
    assert {r.headers["Offerdesk-Delivery"] for r in receiver.requests} == {str(delivery.id)}

    page = client_as("support_agent").get(f"/fulfillment/tasks/{task.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('data-testid="delivery-attempt"') == 3
    assert "HTTP 500" in html


def test_a_202_leaves_the_step_running_until_the_callback(
    app, immediate, receiver, step_integration, order_with_plan
):
    receiver.default = (202, {})
    step_integration(receiver.url)
    order_id = order_with_plan([webhook_step("Provision VM", "Provisioner")])
    (task,) = fresh_tasks(order_id)
    assert task.status == "in_progress" and task.started_at is not None
    assert deliveries_of(task.id)[0].status == "delivered"
    assert subscription_of(order_id).status == "fulfilling"
    assert retries_due() == []


def test_a_200_saying_running_is_running_and_a_200_saying_nothing_is_retried(
    app, immediate, receivers, step_integration, order_with_plan
):
    running = receivers(default=(200, {"status": "running"}))
    silent = receivers(default=(200, {"ok": True}))
    step_integration(running.url, name="Running")
    step_integration(silent.url, name="Silent", max_attempts=1)
    first = order_with_plan([webhook_step("Start", "Running")], code="VM-ONE", key="k1")
    second = order_with_plan([webhook_step("Start", "Silent")], code="VM-TWO", key="k2")
    assert fresh_tasks(first)[0].status == "in_progress"
    (task,) = fresh_tasks(second)
    assert task.status == "failed" and "Silent: no success after 1 attempt" in task.failure_reason
    assert subscription_of(second).status == "failed"


def test_receiver_down_fails_then_an_agent_retries_from_the_queue_and_earlier_steps_run_once(
    app, immediate, receivers, step_integration, order_with_plan, agent
):
    stable = receivers()
    flaky = receivers()
    flaky.stop()
    step_integration(stable.url, name="Accounts")
    step_integration(flaky.url, name="Machines", max_attempts=3)
    order_id = order_with_plan(
        [webhook_step("Create account", "Accounts"), webhook_step("Provision VM", "Machines")]
    )
    assert run_due_retries() == 2
    first, second = fresh_tasks(order_id)
    assert first.status == "done" and second.status == "failed"
    assert "Machines: no success after 3 attempts" in second.failure_reason
    assert "Connection" in second.failure_reason  # the last error, shown to agents
    (failed,) = deliveries_of(second.id)
    assert failed.status == "failed" and [a.status_code for a in failed.log] == [None] * 3
    assert subscription_of(order_id).status == "failed"

    flaky.start()  # back, on the same port
    agent_client = login(app.test_client(), agent)
    queue = agent_client.get("/fulfillment").get_data(as_text=True)
    assert f'data-task-id="{second.id}"' in queue and "Retry" in queue
    response = agent_client.post(
        f"/fulfillment/tasks/{second.id}", data={"to": "retry", "version": second.version}
    )
    assert response.status_code == 302

    first, second = fresh_tasks(order_id)
    assert first.status == "done" and second.status == "done"
    assert subscription_of(order_id).status == "active"
    assert len(deliveries_of(first.id)) == 1 and len(stable.requests) == 1  # ran once
    assert [d.status for d in deliveries_of(second.id)] == ["failed", "delivered"]
    assert len(flaky.requests) == 1


def test_a_failed_step_can_be_completed_by_hand_with_a_note(
    app, immediate, receiver, step_integration, order_with_plan, agent, api
):
    receiver.default = (503, {})
    step_integration(receiver.url, max_attempts=1)
    order_id = order_with_plan([webhook_step("Provision VM", "Provisioner")])
    (task,) = fresh_tasks(order_id)
    assert task.status == "failed"
    client = api(token_for(agent))
    url = f"/api/v1/fulfillment-tasks/{task.id}/transitions"
    refused = client.post(url, json={"to": "done", "version": task.version})
    assert refused.status_code == 422 and "reason" in refused.json["errors"]
    done = client.post(url, json={"to": "done", "reason": "Built by hand", "version": task.version})
    assert done.status_code == 200, done.json
    assert subscription_of(order_id).status == "active"
    notes = db.session.scalars(sa.select(TaskLogEntry.message).where(TaskLogEntry.internal)).all()
    assert "Built by hand" in notes


def test_ordering_answers_at_once_whatever_the_receiver_does(
    app, tmp_path, monkeypatch, receivers, step_integration, make_offer, users, api
):
    """Not in immediate mode: the order only enqueues the delivery; the receiver, which takes
    5 s to answer, hears nothing until a worker runs the job."""
    monkeypatch.setattr(jobs.huey, "storage", jobs.huey_for(f"sqlite:///{tmp_path}/j.db").storage)
    slow = receivers(delay=5)
    step_integration(slow.url)
    offer = make_offer("VM-SLOW", fulfillment_plan=[webhook_step("Provision VM", "Provisioner")])
    consumer = api(token_for(users["consumer"]))
    started = time.monotonic()
    response = consumer.post(
        "/api/v1/subscriptions",
        json={"offer_id": offer.id, "options": {"profile": "developer"}, "accept_terms": True},
        headers={"Idempotency-Key": "slow-1"},
    )
    elapsed = time.monotonic() - started
    assert response.status_code in (200, 201), response.json
    assert elapsed < 1, elapsed
    queued = [message.name for message in jobs.huey.pending()]
    assert slow.requests == [] and queued.count("fulfillment.deliver_step") == 1, queued
    assert db.session.scalars(sa.select(StepDeliveryAttempt)).all() == []
