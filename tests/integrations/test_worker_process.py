"""A real `flask jobs worker` process delivers a published event to the real receiver, retrying
after a 500. The worker is another process on the test database: the setup is committed for
real and the truncating cleanup empties the tables afterwards."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import jobs
from app.extensions import db
from app.integrations.models import DeliveryAttempt, WebhookDelivery
from app.integrations.services import webhooks
from tests.jobs.conftest import job_env, start_worker, wait_for  # noqa: F401

# Worker processes read and write the database themselves: these tests commit for real.
pytestmark = pytest.mark.committed


def fresh(query):
    db.session.rollback()  # read what the worker committed
    return db.session.execute(query).all()


def test_a_worker_process_delivers_and_retries(
    app, tmp_path, monkeypatch, job_env, start_worker, receiver, subscribed
):
    jobs_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setattr(jobs.huey, "storage", jobs.huey_for(jobs_url).storage)
    receiver.script = [500]
    subscribed(receiver.url, events=["subscription.activated"], max_attempts=3)
    (delivery,) = webhooks.publish("subscription.activated", {"subscription_id": 3})
    db.session.commit()
    assert jobs.huey.pending_count() == 1 and receiver.requests == []  # queued, not sent

    env = job_env(jobs_url, SECRET_KEY=app.config["SECRET_KEY"], INTEGRATION_RETRY_DELAY="1")
    worker = start_worker(env, workers=1)
    status = sa.select(WebhookDelivery.status).where(WebhookDelivery.id == delivery.id)
    wait_for(lambda: fresh(status) == [("delivered",)], 60, "delivered\n" + worker.output())

    log = fresh(sa.select(DeliveryAttempt.attempt, DeliveryAttempt.status_code))
    assert log == [(1, 500), (2, 200)]
    assert len(receiver.requests) == 2 and all(r.signature_valid for r in receiver.requests)
    assert receiver.requests[1].json()["data"] == {"subscription_id": 3}
    worker.stop()
    assert worker.process.returncode == 0, worker.output()
