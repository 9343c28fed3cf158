"""A worker process killed with SIGKILL in the middle of a delivery: Huey had taken the job off
its queue, so the job is gone; the next worker to start finds the delivery still pending past
its due attempt and sends it again. The receiver sees the same Offerdesk-Delivery twice and
keeps one (docs/webhooks.md); our delivery log holds one attempt, the one that was answered.
On SQLite storage and on a real redis-server. The setup is committed for real."""

from __future__ import annotations

import signal
import time

import pytest
import sqlalchemy as sa

from app import jobs
from app.extensions import db
from app.integrations.models import DeliveryAttempt, WebhookDelivery
from app.integrations.services import webhooks
from tests.jobs.conftest import job_env, redis_url, start_worker, wait_for  # noqa: F401

pytestmark = pytest.mark.committed


def fresh(query):
    db.session.rollback()  # read what the workers committed
    return db.session.execute(query).all()


@pytest.fixture(params=["sqlite", "redis"])
def jobs_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    return request.getfixturevalue("redis_url")


def test_a_delivery_cut_by_sigkill_is_sent_again_by_the_next_worker(
    app, monkeypatch, jobs_url, job_env, start_worker, receiver, subscribed
):
    monkeypatch.setattr(jobs.huey, "storage", jobs.huey_for(jobs_url).storage)
    receiver.held = 1  # the first request hangs: the worker is killed while it waits
    subscribed(receiver.url, events=["offer.published"], timeout_seconds=2)
    (delivery,) = webhooks.publish("offer.published", {"offer_id": 7})
    db.session.commit()
    env = job_env(jobs_url, SECRET_KEY=app.config["SECRET_KEY"], INTEGRATION_LOST_AFTER="1")

    first = start_worker(env, workers=1)
    wait_for(lambda: receiver.requests, 60, "the first worker sent\n" + first.output())
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    assert first.process.returncode == -signal.SIGKILL
    status = sa.select(WebhookDelivery.status, WebhookDelivery.attempts).where(
        WebhookDelivery.id == delivery.id
    )
    assert fresh(status) == [("pending", 0)]
    queued = [task.name for task in jobs.huey.pending()]
    assert "integrations.deliver" not in queued  # Huey's job went with the worker
    receiver.release.set()
    time.sleep(3.5)  # past the due attempt, the 2 s timeout and INTEGRATION_LOST_AFTER

    second = start_worker(env, workers=1)
    wait_for(lambda: fresh(status) == [("delivered", 1)], 60, "resent\n" + second.output())
    log = fresh(sa.select(DeliveryAttempt.delivery_id, DeliveryAttempt.status_code))
    assert log == [(delivery.id, 200)]  # the killed attempt left nothing behind
    assert [r.headers["Offerdesk-Delivery"] for r in receiver.requests] == [str(delivery.id)] * 2
    assert all(r.signature_valid for r in receiver.requests)
    assert len({r.body for r in receiver.requests}) == 1  # the same document, to de-duplicate
    time.sleep(1.5)  # a second sweep, if any ran, finds nothing left to send
    assert len(receiver.requests) == 2
    second.stop()
    assert second.process.returncode == 0, second.output()
