"""Deliveries: sending one webhook delivery, signed, and logging each attempt.

An attempt that fails (no 2xx answer, a connection error, a timeout) is retried after the
INTEGRATION_RETRY_DELAY, doubled at each further attempt, up to the integration's max attempts;
then the delivery is failed, with its last error. Delivery is at-least-once: a receiver
de-duplicates by the Offerdesk-Delivery header.

Huey takes a job off its queue before running it, so a worker killed while sending (SIGKILL,
a lost host) loses the job, and the delivery would stay pending for ever. `requeue_lost`, a
periodic job that also runs when a worker starts, sends such a delivery again: one still
pending well past the moment its next attempt was due (its last attempt plus the retry delay,
or its creation or latest redelivery; then the integration's timeout and INTEGRATION_LOST_AFTER).
A job merely late by more than that is sent twice: at least once, as ever."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from ... import clock, unit_of_work
from ...audit.models import AuditEvent
from ...extensions import db
from ...i18n import _
from ..models import (
    DELIVERY_STATES,
    DeliveryAttempt,
    DeliveryStatus,
    Integration,
    MessageFormat,
    Webhook,
    WebhookDelivery,
)
from . import secrets, signing
from .integrations import host_allowed

EXCERPT = 500
AUDITED_AS = "webhook_delivery"  # the audit log's object type of a delivery
REDELIVERED = "redelivered"  # its action when an admin queues a delivery again
USER_AGENT = "Offerdesk-Webhooks/1"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead past the allow-list: it is an answer like any other."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)
_send_job: Callable[[int], object] | None = None


def register_job(job: Callable[[int], object]) -> None:
    """The background job that sends a delivery; app.integrations.jobs registers itself, so
    the rules do not import the job engine."""
    global _send_job
    _send_job = job


def send_after_commit(delivery_id: int) -> None:
    """Enqueue the sending once the current transaction commits (never if it rolls back)."""
    if _send_job is None:
        raise RuntimeError("No delivery job registered: import app.integrations.jobs.")
    job = _send_job
    unit_of_work.on_commit(lambda: job(delivery_id))


def event_document(delivery: WebhookDelivery) -> dict:
    return {
        "event": delivery.event,
        "delivery_id": delivery.id,
        "occurred_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }


def _title(event: str) -> str:
    return event.replace("_", " ").replace(".", " ").capitalize()


def _lines(payload: dict) -> list[str]:
    return [
        f"{key.replace('_', ' ')}: {value}"
        for key, value in payload.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ]


def body_for(delivery: WebhookDelivery, message_format: str) -> bytes:
    """The event document, or for Slack and Teams a readable message in their incoming-webhook
    JSON."""
    title = f"Offerdesk: {_title(delivery.event)}"
    lines = _lines(delivery.payload)
    if message_format == MessageFormat.SLACK:
        document: dict = {"text": "\n".join([f"*{title}*", *lines])}
    elif message_format == MessageFormat.TEAMS:
        document = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": title,
            "title": title,
            "text": "<br>".join(lines) or title,
        }
    else:
        document = event_document(delivery)
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def post(
    url: str, body: bytes, headers: dict, timeout: int, *, limit: int = EXCERPT
) -> tuple[int | None, str, str]:
    """POST without following redirects, to a host still allowed: (status code or None, the
    first `limit` bytes of the answer, error). Fulfillment steps send through it too."""
    return send("POST", url, body, headers, timeout, limit=limit)


def send(
    method: str, url: str, body: bytes | None, headers: dict, timeout: int, *, limit: int
) -> tuple[int | None, str, str]:
    """One request as `post` sends it, with any method (an AWX job is read with a GET)."""
    if not host_allowed(urlsplit(url).hostname or ""):
        return None, "", _("The host is no longer in INTEGRATION_ALLOWED_HOSTS.")
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, response.read(limit).decode(errors="replace"), ""
    except urllib.error.HTTPError as answer:
        excerpt = answer.read(limit).decode(errors="replace")
        return answer.code, excerpt, f"HTTP {answer.code}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return None, "", f"{type(reason).__name__}: {reason}"[:EXCERPT]


def retry_delay(attempt: int) -> float:
    """Seconds before the attempt after `attempt` (1, 2, ...): the base delay, doubled."""
    return current_app.config["INTEGRATION_RETRY_DELAY"] * 2 ** (attempt - 1)


def attempt(delivery_id: int) -> float | None:
    """Send a pending delivery once and log it. Returns the seconds to wait before the next
    attempt, or None when it is over (delivered, failed, gone, or not pending)."""
    # Locked while it is sent (PostgreSQL): a second worker given the same delivery waits, then
    # finds it no longer pending once it was delivered.
    delivery = db.session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    integration = delivery.webhook.integration
    body = body_for(delivery, integration.format)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.signed_headers(secrets.decrypt(integration.secret_encrypted), body, delivery.id),
    }
    started = time.monotonic()
    status_code, excerpt, error = post(integration.url, body, headers, integration.timeout_seconds)
    delivery.attempts += 1
    db.session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            attempted_at=clock.now(),
            status_code=status_code,
            duration_ms=round((time.monotonic() - started) * 1000),
            response_excerpt=excerpt,
            error=error,
        )
    )
    if status_code is not None and 200 <= status_code < 300:
        DELIVERY_STATES.move(delivery, DeliveryStatus.DELIVERED)
        delivery.delivered_at, delivery.last_error = clock.now(), ""
        return None
    delivery.last_error = error or f"HTTP {status_code}"
    if delivery.attempts >= integration.max_attempts:
        DELIVERY_STATES.move(delivery, DeliveryStatus.FAILED)
        return None
    return retry_delay(delivery.attempts)


def _next_attempt_due(
    attempts: int, queued_at: datetime, last_attempt: datetime | None
) -> datetime:
    """When the delivery's job should have run: at its (re)queueing, or after its last failed
    attempt and the retry delay."""
    if attempts and last_attempt is not None and last_attempt >= queued_at:
        return last_attempt + timedelta(seconds=retry_delay(attempts))
    return queued_at


def _pending_deliveries() -> list[sa.Row]:
    """(id, attempts, queued at, last attempt, timeout) of every pending delivery. It was
    queued at its creation or at its latest redelivery (the audit log has its time)."""
    last_attempt = (
        sa.select(
            DeliveryAttempt.delivery_id, sa.func.max(DeliveryAttempt.attempted_at).label("at")
        )
        .group_by(DeliveryAttempt.delivery_id)
        .subquery()
    )
    redelivered = (
        sa.select(AuditEvent.object_id, sa.func.max(AuditEvent.occurred_at).label("at"))
        .where(AuditEvent.object_type == AUDITED_AS, AuditEvent.action == REDELIVERED)
        .group_by(AuditEvent.object_id)
        .subquery()
    )
    return db.session.execute(
        sa.select(
            WebhookDelivery.id,
            WebhookDelivery.attempts,
            WebhookDelivery.created_at,
            redelivered.c.at,
            last_attempt.c.at,
            Integration.timeout_seconds,
        )
        .join(WebhookDelivery.webhook)
        .join(Webhook.integration)
        .outerjoin(last_attempt, last_attempt.c.delivery_id == WebhookDelivery.id)
        .outerjoin(redelivered, redelivered.c.object_id == sa.cast(WebhookDelivery.id, sa.String))
        .where(WebhookDelivery.status == DeliveryStatus.PENDING)
        .order_by(WebhookDelivery.id)
    ).all()


def requeue_lost() -> str:
    """Enqueue again, after the commit, every pending delivery whose job was lost: still
    pending INTEGRATION_LOST_AFTER seconds past its due attempt and the timeout of a send."""
    now = clock.now()
    grace = timedelta(seconds=current_app.config["INTEGRATION_LOST_AFTER"])
    lost = [
        delivery_id
        for delivery_id, attempts, created_at, redelivered_at, last_attempt, timeout in (
            _pending_deliveries()
        )
        if now
        > _next_attempt_due(attempts, max(created_at, redelivered_at or created_at), last_attempt)
        + timedelta(seconds=timeout)
        + grace
    ]
    for delivery_id in lost:
        send_after_commit(delivery_id)
    return f"Queued {len(lost)} lost deliver{'y' if len(lost) == 1 else 'ies'} again."
