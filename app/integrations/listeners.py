"""Domain events become webhook events: each listener turns a domain's signal into a small JSON
document (ids, codes, names, times; no secrets, no internal notes) and hands it to
`webhooks.publish`, in the sender's transaction, so a delivery exists only if the change commits.
Connected once by `register_listeners` (create_app)."""

from __future__ import annotations

from datetime import UTC, datetime

from ..catalog import signals as catalog
from ..catalog.models import ServiceOffer
from ..status import signals as status
from ..subscriptions import signals as subscriptions
from ..subscriptions.models import Subscription
from ..support import signals as support
from ..support.models import SupportRequest
from .services.webhooks import publish, publish_many


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _offer(offer: ServiceOffer) -> dict:
    return {
        "offer_id": offer.id,
        "code": offer.code,
        "name": offer.name,
        "revision": offer.revision,
        "status": offer.status,
    }


def offer_published(offer: ServiceOffer, previous: ServiceOffer | None = None, **_) -> None:
    publish(
        "offer.published",
        {
            **_offer(offer),
            "published_at": _time(offer.published_at),
            "orderable_from": _time(offer.valid_from),
            "superseded_revision": previous.revision if previous is not None else None,
        },
    )


def offer_retired(offer: ServiceOffer, *, replacement: ServiceOffer | None = None, **_) -> None:
    publish(
        "offer.retired",
        {
            **_offer(offer),
            "retired_at": _time(offer.retired_at),
            "orderable_until": _time(offer.valid_to),
            "replacement_code": replacement.code if replacement is not None else None,
        },
    )


def _subscription(subscription: Subscription) -> dict:
    return {
        "subscription_id": subscription.id,
        "offer_id": subscription.offer_id,
        "offer_code": subscription.offer_code,
        "offer_name": subscription.offer.name,
        "group_id": subscription.group_id,
        "status": subscription.status,
    }


def subscription_ordered(subscription: Subscription, **_) -> None:
    publish(
        "subscription.ordered",
        {**_subscription(subscription), "ordered_at": _time(subscription.created_at)},
    )


def subscription_activated(subscription: Subscription, **_) -> None:
    publish(
        "subscription.activated",
        {**_subscription(subscription), "active_since": _time(subscription.active_since)},
    )


def subscription_terminated(subscription: Subscription, **_) -> None:
    publish(
        "subscription.terminated",
        {**_subscription(subscription), "terminated_at": _time(subscription.terminated_at)},
    )


def _request(request: SupportRequest) -> dict:
    """A request's public facts: its description, messages and notes stay in Offerdesk."""
    return {
        "request_id": request.id,
        "subscription_id": request.subscription_id,
        "type": request.request_type,
        "priority": request.priority,
        "subject": request.subject,
        "status": request.status,
        "tier": request.tier,
    }


def request_opened(request: SupportRequest, **_) -> None:
    publish("support_request.opened", {**_request(request), "opened_at": _time(request.created_at)})


def request_escalated(request: SupportRequest, *, from_tier: int, **_) -> None:
    publish("support_request.escalated", {**_request(request), "from_tier": from_tier})


def request_resolved(request: SupportRequest, **_) -> None:
    publish(
        "support_request.resolved", {**_request(request), "resolved_at": _time(request.resolved_at)}
    )


def sla_breached(target: str, *, requests: list[SupportRequest], **_) -> None:
    def due(request: SupportRequest) -> datetime | None:
        return request.first_response_due if target == "first response" else request.resolution_due

    publish_many(
        "sla.breached",
        [
            {**_request(request), "target": target, "due_at": _time(due(request))}
            for request in requests
        ],
    )


def notice_published(notice, *, product, **_) -> None:
    publish(
        "notice.published",
        {
            "notice_id": notice.id,
            "product_id": product.id,
            "product_name": product.name,
            "kind": notice.kind,
            "title": notice.title,
            "starts_at": _time(notice.starts_at),
            "ends_at": _time(notice.ends_at),
        },
    )


RECEIVERS = (
    (catalog.offer_published, offer_published),
    (catalog.offer_changed, offer_published),
    (catalog.offer_retired, offer_retired),
    (subscriptions.subscription_ordered, subscription_ordered),
    (subscriptions.subscription_activated, subscription_activated),
    (subscriptions.subscription_terminated, subscription_terminated),
    (support.request_opened, request_opened),
    (support.request_escalated, request_escalated),
    (support.request_resolved, request_resolved),
    (support.sla_breached, sla_breached),
    (status.notice_published, notice_published),
)


def register_listeners() -> None:
    """Connect the webhook listeners (idempotent: blinker keeps one connection of each)."""
    for signal, receiver in RECEIVERS:
        signal.connect(receiver)
