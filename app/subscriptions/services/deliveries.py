"""Deliveries of automatic fulfillment steps: the record of each (with its callback token),
the document a receiver gets, the job that sends it, and the step's log.

A delivery is opened when its task is queued and sent by a job once the transaction commits.
The callback token is random per delivery; it is kept as a SHA-256 hash (to check a callback)
and encrypted like the integration secrets (so the job can put it in every attempt's body),
never in clear."""

from __future__ import annotations

import hashlib
import json
import secrets as random
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from ... import clock, unit_of_work
from ...extensions import db
from ...i18n import _l
from ...integrations.models import Integration
from ...integrations.services import secrets, signing
from ..models import (
    FulfillmentTask,
    StepDelivery,
    StepDeliveryStatus,
    TaskLogEntry,
)
from ..states import STEP_DELIVERY

EVENT = "fulfillment.step"
USER_AGENT = "Offerdesk-Fulfillment/1"
_send_job: Callable[[int], object] | None = None


def register_job(job: Callable[[int], object]) -> None:
    """The background job that sends a step delivery; app.fulfillment_jobs registers itself,
    so the rules do not import the job engine."""
    global _send_job
    _send_job = job


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_delivery(task: FulfillmentTask) -> StepDelivery:
    """A new delivery of the task, sent by a job after the commit (never if it rolls back)."""
    token = random.token_urlsafe(32)
    delivery = StepDelivery(
        task_id=task.id,
        integration=task.integration,
        status=StepDeliveryStatus.PENDING.value,
        token_hash=hash_token(token),
        token_encrypted=secrets.encrypt(token),
        created_at=clock.now(),
    )
    db.session.add(delivery)
    db.session.flush()
    send_after_commit(delivery.id)
    return delivery


def send_after_commit(delivery_id: int) -> None:
    """Enqueue the delivery's job once the current transaction commits (never on a rollback)."""
    if _send_job is None:
        raise RuntimeError("No step delivery job: import app.fulfillment_jobs.")
    job = _send_job
    unit_of_work.on_commit(lambda: job(delivery_id))


def close_pending(
    task: FulfillmentTask, reason: str = _l("The task was finished another way.")
) -> None:
    """A task finished while a delivery was still being tried: stop trying it."""
    for delivery in task.deliveries:
        if delivery.status == StepDeliveryStatus.PENDING:
            STEP_DELIVERY.move(delivery, StepDeliveryStatus.FAILED)
            delivery.last_error = delivery.last_error or reason


def mark_delivered(delivery: StepDelivery) -> None:
    if delivery.status == StepDeliveryStatus.PENDING:
        STEP_DELIVERY.move(delivery, StepDeliveryStatus.DELIVERED)
        delivery.delivered_at = clock.now()


def log(task: FulfillmentTask, status: str, message: str, *, internal: bool = False) -> None:
    db.session.add(
        TaskLogEntry(
            task_id=task.id,
            status=status,
            message=message[:2000],
            internal=internal,
            created_at=clock.now(),
        )
    )


def latest_delivery(task: FulfillmentTask) -> StepDelivery | None:
    return task.deliveries[-1] if task.deliveries else None


# --- what is sent ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    url: str
    body: bytes
    headers: dict
    timeout: int
    max_attempts: int


def callback_url(task_id: int) -> str:
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    return f"{base}/api/v1/fulfillment-tasks/{task_id}/callback"


def document(delivery: StepDelivery, task: FulfillmentTask, attempt: int) -> dict:
    order, subscription = task.order, task.subscription
    return {
        "event": EVENT,
        "delivery_id": delivery.id,
        "task": {"id": task.id, "name": task.name, "attempt": attempt},
        "order": {"id": order.id, "type": order.order_type},
        "subscription": {
            "id": subscription.id,
            "offer_code": subscription.offer_code,
            "group": subscription.group.name,
            "owner_email": subscription.owner.email if subscription.owner else None,
        },
        "options": order.options or subscription.options or {},
        "callback": {
            "url": callback_url(task.id),
            "token": secrets.decrypt(delivery.token_encrypted),
        },
    }


def find_integration(name: str) -> Integration | None:
    return db.session.scalar(db.select(Integration).where(Integration.name == name))


def outgoing(delivery: StepDelivery, task: FulfillmentTask, integration: Integration) -> Outgoing:
    """The signed request of the delivery's next attempt."""
    body = json.dumps(
        document(delivery, task, delivery.attempts + 1), separators=(",", ":"), sort_keys=True
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.signed_headers(secrets.decrypt(integration.secret_encrypted), body, delivery.id),
    }
    return Outgoing(
        integration.url, body, headers, integration.timeout_seconds, integration.max_attempts
    )
