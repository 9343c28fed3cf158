"""Which automatic steps the sweep takes for lost (their job went with a killed worker) and
enqueues again: a pending delivery past its due attempt, the integration's timeout and
INTEGRATION_LOST_AFTER, and no sooner; an AWX job whose next poll is that late, with the poll
number it is at. Huey is not in immediate mode: a job "lost" is one flushed from its storage,
and what the sweep queues is read back from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock, jobs
from app.audit.models import AuditEvent
from app.extensions import db
from app.fulfillment_jobs import deliver_step, poll_awx_job
from app.subscriptions.models import StepDelivery
from app.subscriptions.services import lost_steps
from tests.fulfillment.conftest import (
    awx_step,
    deliveries_of,
    fresh_tasks,
    subscription_of,
    webhook_step,
)

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NOTHING = "Queued 0 lost step deliveries and 0 lost AWX polls again."
ONE_DELIVERY = "Queued 1 lost step delivery and 0 lost AWX polls again."
ONE_POLL = "Queued 0 lost step deliveries and 1 lost AWX poll again."


@pytest.fixture
def queue(app, monkeypatch, tmp_path):
    """Huey on a storage of this test's own; the settings the thresholds below assume."""
    monkeypatch.setattr(
        jobs.huey, "storage", jobs.huey_for(f"sqlite:///{tmp_path / 'q.db'}").storage
    )
    monkeypatch.setitem(app.config, "INTEGRATION_RETRY_DELAY", 30)
    monkeypatch.setitem(app.config, "INTEGRATION_LOST_AFTER", 300)
    yield jobs.huey
    clock.freeze(None)


def queued() -> list[tuple[str, tuple]]:
    everything = [*jobs.huey.pending(), *jobs.huey.scheduled()]
    return [(task.name, tuple(task.args)) for task in everything]


def order_at(moment: datetime, order_with_plan, step: dict) -> tuple[int, int]:
    """The order placed at `moment`, its first delivery's job lost: (order id, delivery id)."""
    clock.freeze(moment)
    order_id = order_with_plan([step])
    jobs.huey.storage.flush_all()  # the worker that took its job was killed
    (task,) = fresh_tasks(order_id)
    (delivery,) = deliveries_of(task.id)
    return order_id, delivery.id


def sweep_at(moment: datetime) -> tuple[str, list]:
    """Run the sweep at `moment`, commit; (its summary, the jobs it queued)."""
    clock.freeze(moment)
    summary = lost_steps.requeue_lost()
    db.session.commit()
    enqueued = queued()
    jobs.huey.storage.flush_all()
    return summary, enqueued


def run_job_at(moment: datetime, job, *args) -> None:
    """Run one job as a worker would at `moment`; what it schedules next is lost."""
    clock.freeze(moment)
    jobs.huey.execute(job.s(*args))
    jobs.huey.storage.flush_all()
    db.session.expire_all()


def task_of(delivery_id: int) -> int:
    db.session.expire_all()
    return db.session.get(StepDelivery, delivery_id).task_id


def test_a_never_attempted_delivery_is_lost_past_its_timeout_and_the_grace(
    queue, receiver, step_integration, order_with_plan
):
    step_integration(receiver.url, timeout_seconds=10)
    _, delivery_id = order_at(T0, order_with_plan, webhook_step("Provision VM", "Provisioner"))
    # created at T0; + 10 s timeout + 300 s INTEGRATION_LOST_AFTER = T0 + 310 s
    assert sweep_at(T0 + timedelta(seconds=309)) == (NOTHING, [])
    assert sweep_at(T0 + timedelta(seconds=311)) == (
        ONE_DELIVERY,
        [("fulfillment.deliver_step", (delivery_id,))],
    )
    assert receiver.requests == []  # queued, not sent: a worker sends it


def test_after_a_failed_attempt_the_retry_delay_counts_too(
    queue, receiver, step_integration, order_with_plan
):
    receiver.script = [(500, {"error": "busy"})]
    step_integration(receiver.url, timeout_seconds=10, max_attempts=3)
    _, delivery_id = order_at(T0, order_with_plan, webhook_step("Provision VM", "Provisioner"))
    run_job_at(T0 + timedelta(seconds=400), deliver_step, delivery_id)
    (delivery,) = deliveries_of(task_of(delivery_id))
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    # attempt 1 at T0 + 400 s; + 30 s retry delay + 10 s + 300 s = T0 + 740 s
    assert sweep_at(T0 + timedelta(seconds=739)) == (NOTHING, [])
    assert sweep_at(T0 + timedelta(seconds=741)) == (
        ONE_DELIVERY,
        [("fulfillment.deliver_step", (delivery_id,))],
    )


def test_a_done_or_failed_step_is_never_delivered_again(
    queue, receivers, step_integration, order_with_plan
):
    done, refused = receivers(), receivers(default=(500, {"error": "no"}))
    step_integration(done.url, name="Provisioner", max_attempts=1)
    step_integration(refused.url, name="Refuser", max_attempts=1)
    first, delivered = order_at(T0, order_with_plan, webhook_step("Provision VM", "Provisioner"))
    refuser = webhook_step("Provision VM", "Refuser")
    placed = lambda plan: order_with_plan(plan, code="VM-LARGE", key="key-2")  # noqa: E731
    second, failed = order_at(T0, placed, refuser)
    run_job_at(T0 + timedelta(seconds=1), deliver_step, delivered)
    run_job_at(T0 + timedelta(seconds=2), deliver_step, failed)
    assert [task.status for task in fresh_tasks(first) + fresh_tasks(second)] == ["done", "failed"]
    assert sweep_at(T0 + timedelta(days=1)) == (NOTHING, [])
    assert (len(done.requests), len(refused.requests)) == (1, 1)


def test_the_delivery_job_run_twice_completes_the_step_once(
    queue, receiver, step_integration, order_with_plan
):
    step_integration(receiver.url)
    order_id, delivery_id = order_at(
        T0, order_with_plan, webhook_step("Provision VM", "Provisioner")
    )
    run_job_at(T0 + timedelta(seconds=400), deliver_step, delivery_id)
    run_job_at(T0 + timedelta(seconds=401), deliver_step, delivery_id)
    (task,) = fresh_tasks(order_id)
    assert task.status == "done" and subscription_of(order_id).status == "active"
    done_moves = db.session.scalars(
        sa.select(AuditEvent.changes).where(
            AuditEvent.object_type == "fulfillment_task",
            AuditEvent.object_id == str(task.id),
            AuditEvent.action == "transition",
        )
    ).all()
    assert [moves["status"]["after"] for moves in done_moves].count("done") == 1
    assert len(receiver.requests) == 1  # the second found the delivery delivered: nothing sent


def test_a_launched_awx_job_is_polled_again_with_the_poll_it_is_at(
    app, queue, awx_server, awx_integration, order_with_plan
):
    awx_integration(awx_server.url)  # a 10 s timeout, the default
    app.config["AWX_POLL_SECONDS"] = 20
    order_id, delivery_id = order_at(T0, order_with_plan, awx_step("Provision VM", "Tower"))
    run_job_at(T0, deliver_step, delivery_id)  # launched; its poll 0 is lost
    (delivery,) = deliveries_of(fresh_tasks(order_id)[0].id)
    assert (delivery.status, delivery.job_id, delivery.polls) == ("delivered", 101, 0)
    # launched at T0; + 20 s to the poll + 10 s timeout + 300 s = T0 + 330 s
    assert sweep_at(T0 + timedelta(seconds=329)) == (NOTHING, [])
    assert sweep_at(T0 + timedelta(seconds=331)) == (
        ONE_POLL,
        [("fulfillment.poll_awx_job", (delivery_id, 0))],
    )
    run_job_at(T0 + timedelta(seconds=400), poll_awx_job, delivery_id, 0)
    (delivery,) = deliveries_of(delivery.task_id)
    assert delivery.polls == 1  # its job runs: poll 1 was scheduled, and lost too
    assert sweep_at(T0 + timedelta(seconds=729)) == (NOTHING, [])
    assert sweep_at(T0 + timedelta(seconds=731)) == (
        ONE_POLL,
        [("fulfillment.poll_awx_job", (delivery_id, 1))],
    )
    # the original poll 0, merely late, comes after all: it finds the poll made, does nothing
    run_job_at(T0 + timedelta(seconds=732), poll_awx_job, delivery_id, 0)
    (delivery,) = deliveries_of(delivery.task_id)
    assert delivery.polls == 1 and len(delivery.log) == 2  # the launch and poll 0
