"""End to end over real HTTP: a consumer orders an offer whose plan has a webhook step; a real
`flask jobs worker` process delivers it to the receiver (a thread here), which checks the
signature, answers 202, then calls the live portal back: running, then done with an output.
The worker and the live server are other connections: the setup is committed for real."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from app import jobs
from app.subscriptions.models import Subscription
from tests.conftest import login, token_for
from tests.fulfillment.conftest import webhook_step
from tests.jobs.conftest import job_env, start_worker, wait_for  # noqa: F401

pytestmark = pytest.mark.committed


def post_json(url: str, token: str, document: dict) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(document).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_order_to_active_through_a_real_receiver_and_worker(
    app,
    tmp_path,
    monkeypatch,
    live_server,
    job_env,
    start_worker,
    receivers,
    step_integration,
    make_offer,
    users,
    api,
):
    answers: list[int] = []

    def call_back(received):
        if not received.signature_valid:
            return
        callback = received.json()["callback"]
        answers.append(
            post_json(
                callback["url"], callback["token"], {"status": "running", "message": "Cloning"}
            )
        )
        answers.append(
            post_json(
                callback["url"],
                callback["token"],
                {"status": "done", "message": "Ready", "outputs": {"hostname": "vm-42.example"}},
            )
        )

    receiver = receivers(default=(202, {}), then=call_back)
    jobs_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setattr(jobs.huey, "storage", jobs.huey_for(jobs_url).storage)
    step_integration(receiver.url)
    offer = make_offer("VM-E2E", fulfillment_plan=[webhook_step("Provision VM", "Provisioner")])

    started = time.monotonic()
    response = api(token_for(users["consumer"])).post(
        "/api/v1/subscriptions",
        json={"offer_id": offer.id, "options": {"profile": "developer"}, "accept_terms": True},
        headers={"Idempotency-Key": "e2e-1"},
    )
    assert response.status_code == 201, response.json
    subscription_id = response.json["id"]
    env = job_env(
        jobs_url,
        SECRET_KEY=app.config["SECRET_KEY"],
        PUBLIC_URL=live_server.url,
        INTEGRATION_RETRY_DELAY="1",
    )
    worker = start_worker(env, workers=1)
    wait_for(lambda: receiver.requests, 30, "the receiver got the step\n" + worker.output())
    assert receiver.requests[0].signature_valid
    assert time.monotonic() - started < 30

    def active():
        subscription = subscription_of_id(subscription_id)
        return subscription.status == "active" and subscription

    subscription = wait_for(active, 30, "the subscription became active\n" + worker.output())
    assert answers == [200, 200]
    assert subscription.outputs == {"hostname": "vm-42.example"}
    consumer = login(app.test_client(), users["consumer"])
    page = consumer.get(f"/subscriptions/{subscription_id}").get_data(as_text=True)
    assert "vm-42.example" in page
    progress = consumer.get(f"/subscriptions/{subscription_id}/progress.json").json
    assert progress["outputs"] == {"hostname": "vm-42.example"} and progress["finished"]
    assert progress["steps"][0]["status"] == "done" and progress["steps"][0]["message"] == "Ready"
    worker.stop()
    assert worker.process.returncode == 0, worker.output()
    assert len(receiver.requests) == 1


def subscription_of_id(subscription_id: int) -> Subscription:
    from app.extensions import db

    db.session.rollback()  # read what the worker and the live server committed
    return db.session.get(Subscription, subscription_id)
