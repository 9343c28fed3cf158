"""The background jobs of automatic fulfillment steps: delivering a step to its integration,
off the request path, polling its AWX job, and enqueueing again those a killed worker lost.
It sits beside app.jobs rather than in app/subscriptions (whose jobs.py app.jobs imports for
the schedule), and create_app imports it so that every process, web or worker, knows it."""

from __future__ import annotations

from . import unit_of_work
from .i18n import _l
from .jobs import PeriodicJob, register_periodic, task
from .subscriptions.services import automation, awx_steps, deliveries, lost_steps


@task(retries=2, retry_delay=30, name="fulfillment.deliver_step")
def deliver_step(delivery_id: int) -> None:
    """One attempt; the next one, when needed, is scheduled once this one is committed."""
    delay = automation.attempt_delivery(delivery_id)
    if delay is not None:
        unit_of_work.on_commit(lambda: deliver_step.schedule(args=(delivery_id,), delay=delay))


@task(retries=2, retry_delay=30, name="fulfillment.poll_awx_job")
def poll_awx_job(delivery_id: int, poll: int) -> None:
    """Poll number `poll` of an AWX step's job; the next one is scheduled once this one is
    committed, while the job runs."""
    delay = awx_steps.poll_job(delivery_id, poll)
    if delay is not None:
        unit_of_work.on_commit(
            lambda: poll_awx_job.schedule(args=(delivery_id, poll + 1), delay=delay)
        )


def _schedule_poll(delivery_id: int, poll: int, delay: float) -> None:
    unit_of_work.on_commit(lambda: poll_awx_job.schedule(args=(delivery_id, poll), delay=delay))


deliveries.register_job(deliver_step)
awx_steps.register_poll_job(_schedule_poll)
register_periodic(
    PeriodicJob(
        "fulfillment.lost_steps",
        lost_steps.requeue_lost,
        1,
        _l(
            "Deliver again the automatic steps (or poll their AWX jobs) whose job a killed worker "
            "lost."
        ),
        at_start=True,
    )
)
