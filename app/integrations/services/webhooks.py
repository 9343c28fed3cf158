"""Event webhooks: an integration subscribed to events. `publish` is what a domain calls inside
its transaction: it records a delivery for every webhook subscribed to the event, and their
sending is enqueued once the transaction commits, so nothing leaves before it."""

from __future__ import annotations

import json

import sqlalchemy as sa

from ...accounts.models import User
from ...audit import services as audit
from ...errors import Conflict, NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ..models import (
    DELIVERY_STATES,
    DeliveryStatus,
    IntegrationKind,
    Webhook,
    WebhookDelivery,
)
from . import deliveries
from .integrations import find_by_name, require_admin

EVENTS = (
    "offer.published",
    "offer.retired",
    "subscription.ordered",
    "subscription.activated",
    "subscription.terminated",
    "support_request.opened",
    "support_request.escalated",
    "support_request.resolved",
    "notice.published",
    "sla.breached",
)
DELIVERIES_LISTED = 100


def _events_problem(events) -> str | None:
    if not isinstance(events, list | tuple) or not events:
        return _("Choose at least one event.")
    if not all(isinstance(event, str) for event in events):
        return _("Events are names such as offer.published.")
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        return _("Unknown event: %(names)s.", names=", ".join(name[:60] for name in unknown))
    return None


def subscribe(actor: User, *, integration: str, events) -> Webhook:
    require_admin(actor)
    errors: dict[str, list[str]] = {}
    target = find_by_name(integration) if isinstance(integration, str) and integration else None
    if target is None:
        errors["integration"] = [_("Name an existing integration.")]
    elif target.kind != IntegrationKind.WEBHOOK:
        errors["integration"] = [_("Only a webhook integration receives events.")]
    problem = _events_problem(events)
    if problem:
        errors["events"] = [problem]
    if errors:
        raise ValidationFailed(_("The webhook has invalid fields."), fields=errors)
    webhook = Webhook(integration=target, events=sorted(set(events), key=EVENTS.index))
    db.session.add(webhook)
    db.session.flush()
    audit.record(
        actor,
        "webhook",
        webhook.id,
        "created",
        changes={
            "integration": {"before": None, "after": target.name},
            "events": {"before": None, "after": webhook.events},
        },
    )
    return webhook


def list_webhooks(actor: User) -> list[Webhook]:
    require_admin(actor)
    return list(db.session.scalars(sa.select(Webhook).order_by(Webhook.id)))


def get_webhook(actor: User, webhook_id: int) -> Webhook:
    require_admin(actor)
    webhook = get_by_id(Webhook, webhook_id)
    if webhook is None:
        raise NotFound(_("No such webhook."))
    return webhook


def delete_webhook(actor: User, webhook_id: int) -> None:
    webhook = get_webhook(actor, webhook_id)
    audit.record(
        actor,
        "webhook",
        webhook.id,
        "deleted",
        summary=f"Webhook of {webhook.integration.name}",
    )
    db.session.delete(webhook)
    db.session.flush()


def list_deliveries(actor: User, webhook_id: int) -> list[WebhookDelivery]:
    """The latest deliveries of a webhook, newest first, each with its attempts."""
    webhook = get_webhook(actor, webhook_id)
    return list(
        db.session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(DELIVERIES_LISTED)
        )
    )


def redeliver(actor: User, webhook_id: int, delivery_id: int) -> WebhookDelivery:
    """Queue a delivery again, with a fresh budget of attempts (same delivery id)."""
    webhook = get_webhook(actor, webhook_id)
    delivery = get_by_id(WebhookDelivery, delivery_id)
    if delivery is None or delivery.webhook_id != webhook.id:
        raise NotFound(_("No such delivery of this webhook."))
    if delivery.status == DeliveryStatus.PENDING:
        raise Conflict(_("This delivery is already queued."))
    DELIVERY_STATES.move(delivery, DeliveryStatus.PENDING)
    delivery.attempts, delivery.delivered_at = 0, None
    db.session.flush()
    audit.record(
        actor, deliveries.AUDITED_AS, delivery.id, deliveries.REDELIVERED, summary=delivery.event
    )
    deliveries.send_after_commit(delivery.id)
    return delivery


def publish(event: str, payload: dict) -> list[WebhookDelivery]:
    """Record a delivery of `event` for every webhook subscribed to it; they are sent by jobs
    after the caller's transaction commits (and never if it rolls back)."""
    return publish_many(event, [payload])


def publish_many(event: str, payloads: list[dict]) -> list[WebhookDelivery]:
    """`publish` for several occurrences of one event, reading the webhooks once."""
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}.")
    if not payloads:
        return []
    documents = [json.loads(json.dumps(payload, default=str)) for payload in payloads]
    subscribed = [
        webhook
        for webhook in db.session.scalars(sa.select(Webhook).order_by(Webhook.id))
        if event in webhook.events
    ]
    recorded = [
        WebhookDelivery(webhook=webhook, event=event, payload=document)
        for document in documents
        for webhook in subscribed
    ]
    db.session.add_all(recorded)
    db.session.flush()
    for delivery in recorded:
        deliveries.send_after_commit(delivery.id)
    return recorded
