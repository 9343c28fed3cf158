"""Automatic steps that call a webhook integration: one attempt at a delivery (run by a job),
what the receiver's answer does to the step, and the receiver's callback.

An attempt never holds a lock or an open transaction while it waits on the receiver: it reads
what to send, ends that read, sends, then records the answer under row locks (PostgreSQL) on the
delivery and its task. A callback that came first wins; the late answer is only logged."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ... import clock
from ...accounts.models import SYSTEM, Role, User
from ...accounts.services import require_role
from ...catalog.services.access import CATALOG_ROLES
from ...errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from ...extensions import db, get_by_id
from ...i18n import _, _l
from ...integrations.models import IntegrationKind
from ...integrations.services import deliveries as outbound
from ...labels import label
from ...versioning import check_version
from ..models import (
    FulfillmentTask,
    StepDelivery,
    StepDeliveryAttempt,
    StepDeliveryStatus,
    Subscription,
    TaskStatus,
)
from . import awx_steps, deliveries
from .fulfillment import can_work, move_task
from .steps import RUNNING, give_up, lock_delivery, start_task

READ_LIMIT = 64 * 1024  # of an answer, to read its {"status"}
MAX_CALLBACK_BYTES = 64 * 1024
CALLBACK_STATUSES = ("running", "done", "failed")
MAX_MESSAGE = 2000
MAX_OUTPUTS = 50


class PayloadTooLarge(DomainError):
    status = 413
    title = _l("Payload too large")


# --- one attempt -----------------------------------------------------------------------------


def attempt_delivery(delivery_id: int) -> float | None:
    """Send a pending delivery once and record what came of it. Returns the seconds to wait
    before the next attempt, or None when there is none to make."""
    delivery = db.session.get(StepDelivery, delivery_id)
    if delivery is None or delivery.status != StepDeliveryStatus.PENDING:
        return None
    task = delivery.task
    integration = deliveries.find_integration(delivery.integration)
    if task.status not in RUNNING:
        return None
    if integration is None:
        _record(
            delivery_id,
            None,
            "",
            _("No integration named “%(integration)s”.", integration=delivery.integration),
            0,
        )
        return None
    if integration.kind == IntegrationKind.AWX:
        return awx_steps.attempt_launch(delivery, task, integration)
    request = deliveries.outgoing(delivery, task, integration)
    db.session.rollback()  # nothing written: end the read before waiting on the receiver
    started = time.monotonic()
    status_code, answer, error = outbound.post(
        request.url, request.body, request.headers, request.timeout, limit=READ_LIMIT
    )
    duration = round((time.monotonic() - started) * 1000)
    return _record(delivery_id, status_code, answer, error, duration, request.max_attempts)


def _outcome(status_code: int | None, answer: str) -> str:
    """done, running, or retry: what the receiver's answer means for the step."""
    if status_code is None or not 200 <= status_code < 300:
        return "retry"
    try:
        reported = json.loads(answer).get("status") if answer.strip() else None
    except (ValueError, AttributeError):
        reported = None
    if reported == "done":
        return "done"
    if status_code == 202 or reported == "running":
        return "running"
    return "retry"


def _record(
    delivery_id: int,
    status_code: int | None,
    answer: str,
    error: str,
    duration_ms: int,
    max_attempts: int = 1,
) -> float | None:
    delivery, task = lock_delivery(delivery_id)
    delivery.attempts += 1
    db.session.add(
        StepDeliveryAttempt(
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            attempted_at=clock.now(),
            status_code=status_code,
            duration_ms=duration_ms,
            response_excerpt=answer[: outbound.EXCERPT],
            error=error[: outbound.EXCERPT],
        )
    )
    outcome = _outcome(status_code, answer)
    if delivery.status != StepDeliveryStatus.PENDING or task.status not in RUNNING:
        return None  # a callback (or an agent) finished it meanwhile
    if outcome == "done":
        deliveries.mark_delivered(delivery)
        deliveries.log(task, "done", "Done.")
        move_task(SYSTEM, task, TaskStatus.DONE)
    elif outcome == "running":
        deliveries.mark_delivered(delivery)
        start_task(task)
    else:
        delivery.last_error = error or f"HTTP {status_code}"
        deliveries.log(
            task, "retry", f"Attempt {delivery.attempts}: {delivery.last_error}", internal=True
        )
        if delivery.attempts < max_attempts:
            return outbound.retry_delay(delivery.attempts)
        give_up(delivery, task)
    return None


# --- the receiver's callback -----------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    status: str
    message: str
    outputs: dict[str, str]


def read_report(payload: Any) -> Report:
    """The callback body, or a 422 naming what is wrong with it."""
    if not isinstance(payload, dict):
        raise ValidationFailed(
            _("The request body must be a JSON object."),
            fields={"body": [_("Send a JSON object.")]},
        )
    errors: dict[str, list[str]] = {}
    status = payload.get("status")
    if status not in CALLBACK_STATUSES:
        errors["status"] = [_("Use one of: %(names)s.", names=", ".join(CALLBACK_STATUSES))]
    message = payload.get("message", "")
    if message is None:
        message = ""
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        errors["message"] = [
            _("Send text of up to %(MAX_MESSAGE)s characters.", MAX_MESSAGE=MAX_MESSAGE)
        ]
    outputs = payload.get("outputs", {})
    if outputs is None:
        outputs = {}
    if (
        not isinstance(outputs, dict)
        or len(outputs) > MAX_OUTPUTS
        or not all(
            isinstance(key, str) and 0 < len(key) <= 100 and isinstance(value, str)
            for key, value in outputs.items()
        )
    ):
        errors["outputs"] = [
            _(
                'Send a flat map of up to %(MAX_OUTPUTS)s names to text values, e.g. {"hostname": "vm-17.example.com"}.',
                MAX_OUTPUTS=MAX_OUTPUTS,
            )
        ]
    elif sum(len(value) for value in outputs.values()) > 16_000:
        errors["outputs"] = [_("Keep the outputs' values to 16,000 characters in all.")]
    if errors:
        raise ValidationFailed(_("The callback has invalid fields."), fields=errors)
    return Report(status, message.strip(), dict(outputs))


def check_size(content_length: int | None) -> None:
    if content_length is not None and content_length > MAX_CALLBACK_BYTES:
        raise PayloadTooLarge(_("Keep a callback body to 64 KB."))


def _authorized_delivery(task_id: int, token: str) -> StepDelivery:
    """The delivery the token was issued for, if it is the task's current one."""
    delivery = (
        db.session.scalar(
            db.select(StepDelivery).where(
                StepDelivery.token_hash == deliveries.hash_token(token),
                StepDelivery.task_id == task_id,
            )
        )
        if token
        else None
    )
    if delivery is None:
        raise Unauthorized(_("This callback token is not valid for this task."))
    delivery, task = lock_delivery(delivery.id)
    db.session.refresh(task, ["deliveries"])
    if deliveries.latest_delivery(task).id != delivery.id:
        raise Unauthorized(_("This callback token was replaced by a later delivery of the task."))
    return delivery


def callback(
    task_id: int, token: str, *, size: int | None, body: Callable[[], Any]
) -> FulfillmentTask:
    """A receiver reports on its step: running (with a message), done (with outputs kept on
    the subscription) or failed. The token is checked first (401), then whether the task is
    still running (409), then the body's size (413, `size` as announced, before `body()` reads
    it) and its fields (422)."""
    delivery = _authorized_delivery(task_id, token)
    task = delivery.task
    if task.status not in RUNNING:
        raise Conflict(_("This step is already %(replace)s.", replace=label(task.status)))
    check_size(size)
    report = read_report(body())
    deliveries.mark_delivered(delivery)
    if report.outputs:
        _keep_outputs(task.subscription, report.outputs)
    deliveries.log(task, report.status, report.message)
    if report.status == "running":
        start_task(task)
    elif report.status == "done":
        move_task(SYSTEM, task, TaskStatus.DONE)
    else:
        move_task(SYSTEM, task, TaskStatus.FAILED, reason=report.message or _("Reported failed."))
    return task


def _keep_outputs(subscription: Subscription, outputs: dict[str, str]) -> None:
    subscription.outputs = {**(subscription.outputs or {}), **outputs}
    db.session.flush()


# --- resuming a failed step ------------------------------------------------------------------


def retry_task(actor: User, task_id: int, *, version: Any = None) -> FulfillmentTask:
    """Run a failed step again, by an agent who works it or a catalog manager: only this task
    is queued again (the steps done before it stay done) and, if it calls an integration, it
    is delivered again, with a new delivery and callback token."""
    require_role(
        actor,
        Role.SUPPORT_AGENT,
        *CATALOG_ROLES,
        message=_("Only support agents and catalog managers retry fulfillment steps."),
    )
    task = get_by_id(FulfillmentTask, task_id)
    if task is None or not (can_work(actor, task) or actor.has_role(*CATALOG_ROLES)):
        raise NotFound(_("No such task in your queues."))
    check_version(task, version, noun="task", object_type="fulfillment_task")
    if task.status != TaskStatus.FAILED:
        raise InvalidTransition(
            _(
                "Only a failed step is retried; this one is %(replace)s.",
                replace=label(task.status),
            )
        )
    move_task(actor, task, TaskStatus.QUEUED)
    return task
