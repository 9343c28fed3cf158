"""Automatic steps done by an Ansible AWX job: a job (the same one that sends webhook steps)
launches the step's job template, then a poll job reads the launched job every AWX_POLL_SECONDS
until it is over: `successful` completes the step (the job's id, end and artifacts kept as the
subscription's outputs), `failed`, `error` or `canceled` fails it with the job's explanation and
traceback for the agents.

A launch answered with anything but 201 and a job id (401, 403, 404, 5xx, no connection) is
tried again like a webhook delivery, up to the integration's max attempts, except a 400: AWX
refused what was sent (the variables), and sending it again would not change that. A job that
cannot be read that many polls in a row fails the step too. Nothing waits on AWX inside a
transaction or a web request, and each launch and poll is one line of the delivery log."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app

from ...accounts.models import SYSTEM
from ...extensions import db
from ...i18n import _, _l
from ...integrations.models import Integration, IntegrationKind
from ...integrations.services import awx
from ...integrations.services import deliveries as outbound
from ..models import (
    FulfillmentTask,
    StepDelivery,
    StepDeliveryAttempt,
    StepDeliveryStatus,
    TaskStatus,
)
from . import deliveries
from .fulfillment import move_task
from .steps import RUNNING, give_up, lock_delivery, start_task

JOB_FAILED = _l(
    "The automation that does this step failed; support can look at it and run it again."
)
REFUSED = _l("The automation that does this step refused the request; support can look at it.")
_poll_job: Callable[[int, int, float], object] | None = None


def register_poll_job(schedule: Callable[[int, int, float], object]) -> None:
    """schedule(delivery_id, poll, delay): enqueue poll number `poll` of a launched job in
    `delay` seconds; app.fulfillment_jobs registers it, so the rules do not import the engine."""
    global _poll_job
    _poll_job = schedule


def poll_seconds() -> float:
    return float(current_app.config["AWX_POLL_SECONDS"])


def extra_vars(delivery: StepDelivery, task: FulfillmentTask) -> dict:
    """The order's options, and under `offerdesk` what the playbook may want to know."""
    order, subscription = task.order, task.subscription
    return {
        **(order.options or subscription.options or {}),
        "offerdesk": {
            "task_id": task.id,
            "task_name": task.name,
            "attempt": delivery.attempts + 1,
            "delivery_id": delivery.id,
            "order_id": order.id,
            "order_type": order.order_type,
            "subscription_id": subscription.id,
            "offer_code": subscription.offer_code,
            "group": subscription.group.name,
            "owner_email": subscription.owner.email if subscription.owner else None,
        },
    }


def _detached(integration: Integration) -> Integration:
    """The integration, kept readable after the read transaction ends (to wait on AWX)."""
    db.session.expunge(integration)
    return integration


def _log(delivery: StepDelivery, answer: awx.Answer, error: str) -> None:
    db.session.add(
        StepDeliveryAttempt(
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            status_code=answer.status_code,
            duration_ms=answer.duration_ms,
            response_excerpt=answer.text[: outbound.EXCERPT],
            error=error[: outbound.EXCERPT],
            request_line=answer.request_line[:300],
        )
    )
    db.session.flush()


# --- the launch ------------------------------------------------------------------------------


def attempt_launch(
    delivery: StepDelivery, task: FulfillmentTask, integration: Integration
) -> float | None:
    """Launch the step's job template once. Returns the seconds before the next launch
    attempt, or None when there is none to make."""
    if task.job_template is None:
        delivery_id = delivery.id
        db.session.rollback()
        return _record_launch(delivery_id, None, 1)
    variables = extra_vars(delivery, task)
    delivery_id, template, max_attempts = delivery.id, task.job_template, integration.max_attempts
    integration = _detached(integration)
    db.session.rollback()  # nothing written: end the read before waiting on AWX
    return _record_launch(delivery_id, awx.launch(integration, template, variables), max_attempts)


def _record_launch(delivery_id: int, answer: awx.Answer | None, max_attempts: int) -> float | None:
    delivery, task = lock_delivery(delivery_id)
    if delivery.status != StepDeliveryStatus.PENDING or task.status not in RUNNING:
        return None  # an agent finished it meanwhile
    delivery.attempts += 1
    if answer is None:
        delivery.last_error = _("The step names no AWX job template.")
        give_up(delivery, task, told=REFUSED)
        return None
    job = awx.launched_job(answer)
    error = answer.error or ("" if job else f"HTTP {answer.status_code}: no job id in the answer")
    _log(delivery, answer, error)
    if job is not None:
        delivery.job_id = job
        deliveries.mark_delivered(delivery)
        deliveries.log(task, "running", f"AWX job {job} launched.")
        start_task(task)
        _schedule_poll(delivery.id, delivery.polls)
        return None
    delivery.last_error = f"{error} {answer.text[:300]}".strip() if answer.status_code else error
    deliveries.log(
        task, "retry", f"Launch {delivery.attempts}: {delivery.last_error}", internal=True
    )
    if answer.status_code == 400:
        give_up(delivery, task, told=REFUSED)
    elif delivery.attempts < max_attempts:
        return outbound.retry_delay(delivery.attempts)
    else:
        give_up(delivery, task)
    return None


def _schedule_poll(delivery_id: int, poll: int, delay: float | None = None) -> None:
    if _poll_job is None:
        raise RuntimeError("No AWX poll job: import app.fulfillment_jobs.")
    _poll_job(delivery_id, poll, poll_seconds() if delay is None else delay)


def poll_again(delivery_id: int, poll: int) -> None:
    """Enqueue poll number `poll` at once, after the commit: its job was lost. Should that job
    run after all, the one of the two that comes second finds the poll made and does nothing."""
    _schedule_poll(delivery_id, poll, 0)


def next_poll_delay(delivery: StepDelivery) -> float:
    """The seconds from the delivery's latest logged launch or poll to its next poll."""
    unreadable = _unreadable_polls(delivery)
    if not unreadable:
        return poll_seconds()
    return max(poll_seconds(), outbound.retry_delay(unreadable))


# --- the polls -------------------------------------------------------------------------------


def _current(delivery: StepDelivery | None, poll: int) -> bool:
    """Whether this poll is still the one to make: the delivery's next, of a running task,
    whose latest delivery it is (a retried step polls its new job only)."""
    return (
        delivery is not None
        and delivery.job_id is not None
        and delivery.polls == poll
        and delivery.task.status in RUNNING
        and deliveries.latest_delivery(delivery.task).id == delivery.id
    )


def poll_job(delivery_id: int, poll: int) -> float | None:
    """Read the launched job once and record what it says. Returns the seconds before the
    next poll, or None when the job is over (or this poll was already made)."""
    delivery = db.session.get(StepDelivery, delivery_id)
    if not _current(delivery, poll):
        return None
    integration = deliveries.find_integration(delivery.integration)
    if integration is None or integration.kind != IntegrationKind.AWX:
        db.session.rollback()
        return _record_poll(delivery_id, poll, None, 1)
    job_id, max_attempts = delivery.job_id, integration.max_attempts
    integration = _detached(integration)
    db.session.rollback()  # nothing written: end the read before waiting on AWX
    return _record_poll(delivery_id, poll, awx.read_job(integration, job_id), max_attempts)


def _record_poll(
    delivery_id: int, poll: int, answer: awx.Answer | None, max_attempts: int
) -> float | None:
    delivery, task = lock_delivery(delivery_id)
    if not _current(delivery, poll):
        return None  # a duplicate of this poll recorded it first, or an agent finished it
    delivery.polls += 1
    if answer is None:
        _fail(task, f"{delivery.integration}: no AWX integration of that name any more.")
        return None
    job = answer.document() if answer.status_code == 200 else None
    status = job.get("status") if job else None
    error = "" if status else (answer.error or f"HTTP {answer.status_code}: not an AWX job")
    _log(delivery, answer, error)
    if status in awx.RUNNING:
        return poll_seconds()
    if status == awx.SUCCESSFUL:
        task.subscription.outputs = {**(task.subscription.outputs or {}), **awx.outputs_of(job)}
        deliveries.log(task, "done", f"AWX job {delivery.job_id} successful.")
        move_task(SYSTEM, task, TaskStatus.DONE)
        return None
    if status in awx.UNSUCCESSFUL:
        deliveries.log(task, "failed", f"AWX job {delivery.job_id} {status}.")
        _fail(task, awx.failure_of(job))
        return None
    delivery.last_error = error or f"AWX answered an unknown job status “{str(status)[:40]}”."
    if _unreadable_polls(delivery) >= max_attempts:
        _fail(
            task,
            f"{delivery.integration}: AWX job {delivery.job_id} could not be read "
            f"{max_attempts} times in a row ({delivery.last_error})",
        )
        return None
    return max(poll_seconds(), outbound.retry_delay(_unreadable_polls(delivery)))


def _unreadable_polls(delivery: StepDelivery) -> int:
    """How many of the delivery's latest polls, in a row, did not read a job status."""
    recent = db.session.scalars(
        sa.select(StepDeliveryAttempt)
        .where(StepDeliveryAttempt.delivery_id == delivery.id)
        .order_by(StepDeliveryAttempt.id.desc())
        .limit(20)
    )
    count = 0
    for attempt in recent:
        if not attempt.request_line.startswith("GET") or not attempt.error:
            break
        count += 1
    return count


def _fail(task: FulfillmentTask, reason: str) -> None:
    move_task(SYSTEM, task, TaskStatus.FAILED, reason=reason, told=JOB_FAILED)
