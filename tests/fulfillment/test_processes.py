"""Automatic steps across real processes: the demo receiver (`python -m app.demo.receiver`, as
`make run` starts it) in a process of its own with a `flask jobs worker` process and the live
portal; and two workers on one real Redis, each step delivered once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from app import jobs
from app.extensions import db
from app.subscriptions.models import FulfillmentTask, StepDeliveryAttempt, Subscription
from tests.conftest import login, token_for
from tests.fulfillment.conftest import SECRET, webhook_step
from tests.jobs.conftest import free_port, job_env, redis_url, start_worker, wait_for  # noqa: F401

pytestmark = pytest.mark.committed


def order(api, users, offer_id: int, key: str) -> int:
    response = api(token_for(users["consumer"])).post(
        "/api/v1/subscriptions",
        json={"offer_id": offer_id, "options": {"profile": "developer"}, "accept_terms": True},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def statuses(subscription_ids: list[int]) -> list[str]:
    db.session.rollback()  # read what the worker and the live server committed
    return [db.session.get(Subscription, id_).status for id_ in subscription_ids]


@pytest.fixture
def demo_receiver_process(tmp_path):
    port = free_port()
    log = open(tmp_path / "receiver.log", "w+b")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "app.demo.receiver", "--port", str(port), "--pause", "0.2"],
        env={**os.environ, "DEMO_RECEIVER_SECRET": SECRET, "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for(lambda: b"demo receiver on" in (tmp_path / "receiver.log").read_bytes(), 15, "start")
    yield f"http://127.0.0.1:{port}/steps", lambda: (tmp_path / "receiver.log").read_text()
    process.terminate()
    process.wait(timeout=10)
    log.close()


def test_order_to_active_through_a_receiver_process_and_a_worker_process(
    app, tmp_path, monkeypatch, live_server, job_env, start_worker, demo_receiver_process,
    step_integration, make_offer, users, api,
):  # fmt: skip
    url, receiver_log = demo_receiver_process
    jobs_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setattr(jobs.huey, "storage", jobs.huey_for(jobs_url).storage)
    step_integration(url)
    offer = make_offer("VM-PROC", fulfillment_plan=[webhook_step("Provision VM", "Provisioner")])
    subscription_id = order(api, users, offer.id, "proc-1")
    env = job_env(jobs_url, SECRET_KEY=app.config["SECRET_KEY"], PUBLIC_URL=live_server.url)
    worker = start_worker(env, workers=1)

    wait_for(
        lambda: statuses([subscription_id]) == ["active"],
        40,
        "active\n" + worker.output() + receiver_log(),
    )
    subscription = db.session.get(Subscription, subscription_id)
    (task,) = db.session.scalars(
        sa.select(FulfillmentTask).where(FulfillmentTask.subscription_id == subscription_id)
    )
    assert subscription.outputs == {"reference": f"DEMO-{task.id}"}
    assert [entry.status for entry in task.log] == ["running", "done"]
    page = login(app.test_client(), users["consumer"]).get(f"/subscriptions/{subscription_id}")
    assert f"DEMO-{task.id}" in page.get_data(as_text=True)


def test_two_workers_on_redis_deliver_each_step_once(
    app, monkeypatch, job_env, start_worker, redis_url, receivers, step_integration, make_offer,
    users, api,
):  # fmt: skip
    receiver = receivers()  # answers 200 {"status": "done"}
    monkeypatch.setattr(jobs.huey, "storage", jobs.huey_for(redis_url).storage)
    step_integration(receiver.url)
    offer = make_offer("VM-MANY", fulfillment_plan=[webhook_step("Provision VM", "Provisioner")])
    subscription_ids = [order(api, users, offer.id, f"many-{n}") for n in range(8)]
    env = job_env(redis_url, SECRET_KEY=app.config["SECRET_KEY"])
    workers = [start_worker(env), start_worker(env)]

    wait_for(
        lambda: statuses(subscription_ids) == ["active"] * 8,
        45,
        "all active\n" + workers[0].output() + workers[1].output(),
    )
    time.sleep(1)  # a second delivery, were there one, would have arrived by now
    per_delivery = Counter(request.headers["Offerdesk-Delivery"] for request in receiver.requests)
    assert len(per_delivery) == 8 and set(per_delivery.values()) == {1}
    assert db.session.scalar(sa.select(sa.func.count(StepDeliveryAttempt.id))) == 8
