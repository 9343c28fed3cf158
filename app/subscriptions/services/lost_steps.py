"""Automatic steps whose job a killed worker lost. Huey takes a job off its queue before it
runs it, so a worker killed while it delivers a step (or polls its AWX job) loses the job, and
the step would wait for ever. `requeue_lost`, a periodic job that also runs when a worker
starts, enqueues it again: a pending delivery of a running step still pending well past the
moment its next attempt was due (its creation, or its last attempt plus the retry delay; then
the integration's timeout and INTEGRATION_LOST_AFTER), and a launched AWX job of a running
step whose next poll is that late (its last launch or poll plus the poll delay), polled again
with the poll number it is at, so a late original and the new poll make one poll between them.

A job merely late by more than that runs twice: the receiver gets the delivery twice (the same
Offerdesk-Delivery, at least once as ever), and its answer is recorded once, under the lock on
the delivery and its task (steps.lock_delivery): the second to record finds the delivery no
longer pending, or the step no longer running, and only logs the attempt."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from ... import clock
from ...extensions import db
from ...integrations.models import Integration
from ...integrations.services import deliveries as outbound
from ..models import (
    FulfillmentTask,
    StepDelivery,
    StepDeliveryAttempt,
    StepDeliveryStatus,
)
from . import awx_steps, deliveries
from .steps import RUNNING


def _latest_attempts():
    return (
        sa.select(
            StepDeliveryAttempt.delivery_id,
            sa.func.max(StepDeliveryAttempt.attempted_at).label("at"),
        )
        .group_by(StepDeliveryAttempt.delivery_id)
        .subquery()
    )


def _open_deliveries() -> list[sa.Row]:
    """(delivery, its last logged attempt, the integration's timeout) of every delivery that a
    running step still waits on a job for: pending, or an AWX job launched and being polled."""
    last = _latest_attempts()
    newer = aliased(StepDelivery)
    return db.session.execute(
        sa.select(StepDelivery, last.c.at, Integration.timeout_seconds)
        .join(StepDelivery.task)
        .outerjoin(Integration, Integration.name == StepDelivery.integration)
        .outerjoin(last, last.c.delivery_id == StepDelivery.id)
        .where(
            FulfillmentTask.status.in_(RUNNING),
            sa.or_(
                StepDelivery.status == StepDeliveryStatus.PENDING,
                sa.and_(
                    StepDelivery.status == StepDeliveryStatus.DELIVERED,
                    StepDelivery.job_id.is_not(None),
                    ~sa.exists().where(
                        newer.task_id == StepDelivery.task_id, newer.id > StepDelivery.id
                    ),
                ),
            ),
        )
        .order_by(StepDelivery.id)
    ).all()


def _next_job_due(delivery: StepDelivery, last_attempt: datetime | None) -> datetime:
    """When the delivery's next job should have run."""
    if delivery.status == StepDeliveryStatus.DELIVERED:  # an AWX job, polled
        since = last_attempt or delivery.delivered_at or delivery.created_at
        return since + timedelta(seconds=awx_steps.next_poll_delay(delivery))
    if delivery.attempts and last_attempt is not None:
        return last_attempt + timedelta(seconds=outbound.retry_delay(delivery.attempts))
    return delivery.created_at


def requeue_lost() -> str:
    """Enqueue again, after the commit, the delivery or poll of every step whose job was lost:
    still due INTEGRATION_LOST_AFTER seconds past its due time and the timeout of a request."""
    now = clock.now()
    grace = timedelta(seconds=current_app.config["INTEGRATION_LOST_AFTER"])
    deliveries_again = polls_again = 0
    for delivery, last_attempt, timeout in _open_deliveries():
        if now <= _next_job_due(delivery, last_attempt) + timedelta(seconds=timeout or 0) + grace:
            continue
        if delivery.status == StepDeliveryStatus.PENDING:
            deliveries.send_after_commit(delivery.id)
            deliveries_again += 1
        else:
            awx_steps.poll_again(delivery.id, delivery.polls)
            polls_again += 1
    return (
        f"Queued {deliveries_again} lost step deliver{'y' if deliveries_again == 1 else 'ies'}"
        f" and {polls_again} lost AWX poll{'' if polls_again == 1 else 's'} again."
    )
