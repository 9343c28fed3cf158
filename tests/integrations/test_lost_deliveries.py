"""Which pending deliveries the sweep takes for lost (their job went with a killed worker) and
sends again: past their due attempt, the integration's timeout and INTEGRATION_LOST_AFTER, and
no sooner. Huey is not in immediate mode: a job "lost" is one flushed from its storage, and
what the sweep queues is read back from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import clock, jobs
from app.extensions import db
from app.integrations.models import WebhookDelivery
from app.integrations.services import deliveries, webhooks

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def queue(app, monkeypatch, tmp_path):
    """Huey on a storage of this test's own (not instance/jobs.db, which other test processes
    share); the settings the thresholds below assume."""
    monkeypatch.setattr(
        jobs.huey, "storage", jobs.huey_for(f"sqlite:///{tmp_path / 'q.db'}").storage
    )
    monkeypatch.setitem(app.config, "INTEGRATION_RETRY_DELAY", 30)
    monkeypatch.setitem(app.config, "INTEGRATION_LOST_AFTER", 300)
    yield jobs.huey
    clock.freeze(None)


def publish_at(moment: datetime) -> int:
    clock.freeze(moment)
    (delivery,) = webhooks.publish("offer.published", {"offer_id": 7})
    db.session.commit()
    jobs.huey.storage.flush_all()  # the worker that took its job was killed
    return delivery.id


def sweep_at(moment: datetime) -> tuple[str, list]:
    """Run the sweep at `moment`, commit; (its summary, the deliveries it queued)."""
    clock.freeze(moment)
    summary = deliveries.requeue_lost()
    db.session.commit()
    queued = [(task.name, task.args) for task in jobs.huey.pending()]
    jobs.huey.storage.flush_all()
    return summary, queued


def run_queued_job_at(moment: datetime, delivery_id: int) -> None:
    clock.freeze(moment)
    deliveries.send_after_commit(delivery_id)
    db.session.commit()
    (job,) = jobs.huey.pending()
    jobs.huey.execute(jobs.huey.dequeue())
    jobs.huey.storage.flush_all()  # its retry, scheduled, is lost with the next killed worker
    assert job.name == "integrations.deliver"
    db.session.expire_all()


def test_a_never_attempted_delivery_is_lost_past_its_timeout_and_the_grace(
    queue, receiver, subscribed
):
    subscribed(receiver.url, timeout_seconds=10)
    delivery_id = publish_at(T0)
    # created at T0; + 10 s timeout + 300 s INTEGRATION_LOST_AFTER = T0 + 310 s
    assert sweep_at(T0 + timedelta(seconds=309)) == ("Queued 0 lost deliveries again.", [])
    assert sweep_at(T0 + timedelta(seconds=311)) == (
        "Queued 1 lost delivery again.",
        [("integrations.deliver", (delivery_id,))],
    )
    assert receiver.requests == []  # queued, not sent: a worker sends it


def test_after_a_failed_attempt_the_retry_delay_counts_too(queue, receiver, subscribed):
    receiver.script = [500]
    subscribed(receiver.url, timeout_seconds=10, max_attempts=3)
    delivery_id = publish_at(T0)
    attempted = T0 + timedelta(seconds=400)
    run_queued_job_at(attempted, delivery_id)
    failed_once = db.session.get(WebhookDelivery, delivery_id)
    assert (failed_once.status, failed_once.attempts) == ("pending", 1)
    # attempt 1 at T0 + 400 s; + 30 s retry delay + 10 s + 300 s = T0 + 740 s
    assert sweep_at(T0 + timedelta(seconds=739)) == ("Queued 0 lost deliveries again.", [])
    assert sweep_at(T0 + timedelta(seconds=741)) == (
        "Queued 1 lost delivery again.",
        [("integrations.deliver", (delivery_id,))],
    )


def test_delivered_and_failed_deliveries_are_never_sent_again(queue, receiver, subscribed):
    receiver.script = [200, 500]
    subscribed(receiver.url, timeout_seconds=10, max_attempts=1)
    delivered = publish_at(T0)
    failed = publish_at(T0)
    run_queued_job_at(T0 + timedelta(seconds=1), delivered)
    run_queued_job_at(T0 + timedelta(seconds=2), failed)
    statuses = [db.session.get(WebhookDelivery, i).status for i in (delivered, failed)]
    assert statuses == ["delivered", "failed"]
    assert sweep_at(T0 + timedelta(days=1)) == ("Queued 0 lost deliveries again.", [])
    assert len(receiver.requests) == 2


def test_a_redelivery_counts_from_the_moment_an_admin_queued_it(queue, receiver, subscribed, users):
    receiver.script = [500]
    webhook = subscribed(receiver.url, timeout_seconds=10, max_attempts=1)
    delivery_id = publish_at(T0)
    run_queued_job_at(T0 + timedelta(seconds=1), delivery_id)
    assert db.session.get(WebhookDelivery, delivery_id).status == "failed"

    redelivered = T0 + timedelta(days=1)
    clock.freeze(redelivered)
    webhooks.redeliver(users["admin"], webhook.id, delivery_id)
    db.session.commit()
    jobs.huey.storage.flush_all()  # its job lost too
    # its last attempt is a day old, but it was queued again at `redelivered`: + 310 s
    assert sweep_at(redelivered + timedelta(seconds=60)) == (
        "Queued 0 lost deliveries again.",
        [],
    )
    assert sweep_at(redelivered + timedelta(seconds=311)) == (
        "Queued 1 lost delivery again.",
        [("integrations.deliver", (delivery_id,))],
    )
