"""What automatic steps share, whichever kind of integration does them (a webhook receiver
or an AWX job): the lock a delivery's answer is recorded under, a step starting, and a step
given up on after its delivery's last attempt."""

from __future__ import annotations

import sqlalchemy as sa

from ...accounts.models import SYSTEM
from ...extensions import db
from ...i18n import _l
from ..models import FulfillmentTask, StepDelivery, StepDeliveryStatus, TaskStatus
from ..states import STEP_DELIVERY
from .fulfillment import move_task

RUNNING = (TaskStatus.QUEUED.value, TaskStatus.IN_PROGRESS.value)
UNREACHABLE = _l("The system that does this step could not be reached; support can run it again.")


def give_up(delivery: StepDelivery, task: FulfillmentTask, *, told: str = UNREACHABLE) -> None:
    """The delivery's last attempt failed: so does its step, with the last error for agents."""
    STEP_DELIVERY.move(delivery, StepDeliveryStatus.FAILED)
    reason = f"{delivery.integration}: no success after {delivery.attempts} attempt" + (
        "s" if delivery.attempts != 1 else ""
    )
    move_task(
        SYSTEM, task, TaskStatus.FAILED, reason=f"{reason} ({delivery.last_error})", told=told
    )


def lock_delivery(delivery_id: int) -> tuple[StepDelivery, FulfillmentTask]:
    """The delivery and its task as committed now, held until this transaction ends: the job
    recording an answer and the receiver's callback, which may come at the same moment, take
    their turns instead of one failing on the other's version. A write takes the lock (a row
    lock on PostgreSQL, the database's write lock on SQLite) before anything is read."""
    db.session.execute(
        sa.update(StepDelivery)
        .where(StepDelivery.id == delivery_id)
        .values(attempts=StepDelivery.attempts)
    )
    delivery = db.session.get(StepDelivery, delivery_id, populate_existing=True)
    task = db.session.get(
        FulfillmentTask, delivery.task_id, with_for_update=True, populate_existing=True
    )
    return delivery, task


def start_task(task: FulfillmentTask) -> None:
    if task.status == TaskStatus.QUEUED:
        move_task(SYSTEM, task, TaskStatus.IN_PROGRESS)
