"""A worker process killed with SIGKILL while an automatic step's receiver holds its first
request: Huey had taken the delivery job off its queue, so the job is gone; the next worker to
start finds the delivery still pending past its due attempt and delivers it again. The step is
done once (one move to done, the order completed once, the subscription active); the receiver
saw the same Offerdesk-Delivery twice. On SQLite storage and on a real redis-server. The setup
is committed for real."""

from __future__ import annotations

import signal
import time

import pytest
import sqlalchemy as sa

from app import jobs
from app.audit.models import AuditEvent
from app.extensions import db
from app.subscriptions.models import FulfillmentTask, StepDelivery, Subscription, TaskLogEntry
from tests.fulfillment.conftest import webhook_step
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


def test_a_step_cut_by_sigkill_is_delivered_again_and_done_once(
    app, monkeypatch, jobs_url, job_env, start_worker, receiver, step_integration, order_with_plan
):
    monkeypatch.setattr(jobs.huey, "storage", jobs.huey_for(jobs_url).storage)
    receiver.held = 1  # the first request hangs: the worker is killed while it waits
    step_integration(receiver.url, timeout_seconds=5)
    order_id = order_with_plan([webhook_step("Provision VM", "Provisioner")])
    ordered = time.monotonic()
    (task_id, subscription_id) = fresh(
        sa.select(FulfillmentTask.id, FulfillmentTask.subscription_id).where(
            FulfillmentTask.order_id == order_id
        )
    )[0]
    env = job_env(jobs_url, SECRET_KEY=app.config["SECRET_KEY"], INTEGRATION_LOST_AFTER="1")

    first = start_worker(env, workers=1)
    wait_for(lambda: receiver.requests, 60, "the first worker sent\n" + first.output())
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    assert first.process.returncode == -signal.SIGKILL
    delivery = sa.select(StepDelivery.id, StepDelivery.status, StepDelivery.attempts).where(
        StepDelivery.task_id == task_id
    )
    ((delivery_id, *state),) = fresh(delivery)
    assert state == ["pending", 0]
    assert "fulfillment.deliver_step" not in [task.name for task in jobs.huey.pending()]
    receiver.release.set()
    # past its creation, the 5 s timeout and INTEGRATION_LOST_AFTER (the first worker's sweep
    # at its start came sooner, and found nothing lost)
    time.sleep(max(0, ordered + 6.5 - time.monotonic()))

    second = start_worker(env, workers=1)
    task_status = sa.select(FulfillmentTask.status).where(FulfillmentTask.id == task_id)
    wait_for(lambda: fresh(task_status) == [("done",)], 60, "delivered\n" + second.output())
    assert fresh(delivery) == [(delivery_id, "delivered", 1)]
    moves = fresh(
        sa.select(AuditEvent.changes).where(
            AuditEvent.object_type == "fulfillment_task",
            AuditEvent.object_id == str(task_id),
            AuditEvent.action == "transition",
        )
    )
    assert [changes["status"]["after"] for (changes,) in moves] == ["done"]
    log = fresh(sa.select(TaskLogEntry.status).where(TaskLogEntry.task_id == task_id))
    assert [status for (status,) in log].count("done") == 1
    completed = sa.select(AuditEvent.id).where(
        AuditEvent.object_type == "order",
        AuditEvent.object_id == str(order_id),
        AuditEvent.action == "completed",
    )
    assert len(fresh(completed)) == 1
    status = sa.select(Subscription.status).where(Subscription.id == subscription_id)
    assert fresh(status) == [("active",)]
    assert [r.headers["Offerdesk-Delivery"] for r in receiver.requests] == [str(delivery_id)] * 2
    assert all(r.signature_valid for r in receiver.requests)
    time.sleep(1.5)  # a second sweep, if any ran, finds nothing left to deliver
    assert len(receiver.requests) == 2
    second.stop()
    assert second.process.returncode == 0, second.output()
