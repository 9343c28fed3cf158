"""The receiver's callback: POST /api/v1/fulfillment-tasks/{id}/callback with the bearer token
its delivery carried. The receiver here answers 202 and the test plays its callbacks."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.subscriptions.models import FulfillmentTask, Subscription, TaskLogEntry
from tests.conftest import login, token_for
from tests.fulfillment.conftest import fresh_tasks, subscription_of, webhook_step


@pytest.fixture
def running_step(app, immediate, receiver, step_integration, order_with_plan):
    """A webhook step its receiver took with a 202: (order id, task id, callback token)."""
    receiver.default = (202, {})
    step_integration(receiver.url)
    order_id = order_with_plan([webhook_step("Provision VM", "Provisioner")])
    (request,) = receiver.requests
    document = request.json()
    return order_id, document["task"]["id"], document["callback"]["token"]


def call_back(client, task_id: int, token: str | None, body=None, *, raw: bytes | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if raw is not None:
        return client.post(
            f"/api/v1/fulfillment-tasks/{task_id}/callback",
            data=raw,
            headers={**headers, "Content-Type": "application/json"},
        )
    return client.post(f"/api/v1/fulfillment-tasks/{task_id}/callback", json=body, headers=headers)


def state(task_id: int) -> tuple:
    """Everything a refused callback must leave as it was."""
    db.session.expire_all()
    task = db.session.get(FulfillmentTask, task_id)
    subscription = db.session.get(Subscription, task.subscription_id)
    entries = db.session.scalar(sa.select(sa.func.count(TaskLogEntry.id)))
    return (task.status, task.version, subscription.status, subscription.outputs, entries)


def test_running_then_done_with_outputs_activates_and_shows_them(app, client, running_step, users):
    order_id, task_id, token = running_step
    running = call_back(client, task_id, token, {"status": "running", "message": "Cloning image"})
    assert running.status_code == 200, running.json
    assert running.json["status"] == "in_progress"
    done = call_back(
        client,
        task_id,
        token,
        {
            "status": "done",
            "message": "VM ready",
            "outputs": {"hostname": "vm-17.example.com", "login_url": "https://vm-17/login"},
        },
    )
    assert done.status_code == 200, done.json
    (task,) = fresh_tasks(order_id)
    subscription = subscription_of(order_id)
    assert task.status == "done" and subscription.status == "active"
    assert subscription.outputs == {
        "hostname": "vm-17.example.com",
        "login_url": "https://vm-17/login",
    }
    assert [(e.status, e.message) for e in task.log] == [
        ("running", "Cloning image"),
        ("done", "VM ready"),
    ]
    consumer = login(app.test_client(), users["consumer"])
    page = consumer.get(f"/subscriptions/{subscription.id}").get_data(as_text=True)
    assert "vm-17.example.com" in page and "VM ready" in page
    progress = consumer.get(f"/subscriptions/{subscription.id}/progress.json").json
    assert progress["outputs"]["hostname"] == "vm-17.example.com"
    assert progress["finished"] is True
    assert [(s["name"], s["status"], s["message"]) for s in progress["steps"]] == [
        ("Provision VM", "done", "VM ready")
    ]


def test_a_failed_report_fails_the_step_with_its_message(client, running_step):
    order_id, task_id, token = running_step
    response = call_back(client, task_id, token, {"status": "failed", "message": "No capacity"})
    assert response.status_code == 200
    (task,) = fresh_tasks(order_id)
    assert task.status == "failed" and task.failure_reason == "No capacity"
    assert subscription_of(order_id).status == "failed"


@pytest.mark.parametrize(
    ("token", "body", "status", "field"),
    [
        (None, {"status": "done"}, 401, None),
        ("not-the-token", {"status": "done"}, 401, None),
        ("GOOD", {"status": "finished"}, 422, "status"),
        ("GOOD", {"status": "done", "outputs": {"nested": {"a": "b"}}}, 422, "outputs"),
        ("GOOD", {"status": "done", "outputs": ["hostname"]}, 422, "outputs"),
        ("GOOD", {"status": "done", "outputs": {"port": 22}}, 422, "outputs"),
        ("GOOD", {"status": "running", "message": 7}, 422, "message"),
        ("GOOD", ["done"], 422, "body"),
    ],
)
def test_refused_callbacks_change_nothing(client, running_step, token, body, status, field):
    _, task_id, good = running_step
    before = state(task_id)
    response = call_back(client, task_id, good if token == "GOOD" else token, body)
    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"
    if field:
        assert field in response.json["errors"]
    assert state(task_id) == before


def test_a_body_over_64_kb_is_413_and_changes_nothing(client, running_step):
    _, task_id, token = running_step
    before = state(task_id)
    raw = json.dumps({"status": "done", "message": "x" * (65 * 1024)}).encode()
    response = call_back(client, task_id, token, raw=raw)
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert state(task_id) == before


def test_a_token_is_valid_for_its_task_only(
    app, immediate, receiver, step_integration, order_with_plan, client
):
    receiver.default = (202, {})
    step_integration(receiver.url)
    first = order_with_plan([webhook_step("Provision VM", "Provisioner")], code="VM-A", key="a")
    second = order_with_plan([webhook_step("Provision VM", "Provisioner")], code="VM-B", key="b")
    token_of_first = receiver.requests[0].json()["callback"]["token"]
    (other,) = fresh_tasks(second)
    before = state(other.id)
    response = call_back(client, other.id, token_of_first, {"status": "done"})
    assert response.status_code == 401
    assert state(other.id) == before
    assert fresh_tasks(first)[0].status == "in_progress"


def test_a_finished_task_refuses_callbacks_with_409(client, running_step):
    _, task_id, token = running_step
    assert call_back(client, task_id, token, {"status": "done"}).status_code == 200
    before = state(task_id)
    again = call_back(client, task_id, token, {"status": "running", "message": "late"})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert state(task_id) == before


def test_a_user_api_token_is_not_a_callback_token(client, running_step, users):
    _, task_id, _ = running_step
    before = state(task_id)
    response = call_back(client, task_id, token_for(users["admin"]), {"status": "done"})
    assert response.status_code == 401
    assert state(task_id) == before
