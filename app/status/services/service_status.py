"""Service status of one subscription: its usage against its quotas, its KPIs against the
service levels of its contract, the notices on its product, its open requests and warnings."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ... import clock
from ...accounts.models import User
from ...extensions import db
from ...subscriptions import services as subscriptions
from ...subscriptions.models import Order, Subscription
from ...support.models import RequestStatus, SupportRequest
from .kpis import availability, fulfillment_kpis, support_kpis
from .notices import current_notices, maintenance_warnings
from .periods import Period, parse_period
from .quotas import past_quota_breaches, quota_warnings, quotas
from .usage import metrics, usage_series


def subscription_status(viewer: User, subscription_id: int, period: Period | None = None) -> dict:
    """Everything the status page shows for one subscription, computed from stored facts."""
    subscription = subscriptions.subscription_for(viewer, subscription_id)
    period = period or parse_period()
    now = clock.now()
    contract = subscriptions.current_contract(subscription)
    product_ids = [subscription.offer.product_id] if subscription.offer.product_id else []
    series = usage_series([subscription.id], period)
    known = metrics()
    limits = {
        metric: quota for metric, quota in quotas(subscription).items() if metric in known
    }  # quotas on metrics we measure
    warnings = past_quota_breaches(subscription, limits, known, period, now)
    warnings += quota_warnings(subscription, limits, known, now)
    upcoming = current_notices(product_ids)
    warnings += maintenance_warnings(upcoming, now)
    levels = (contract.snapshot if contract else {}).get("service_levels") or {}
    return {
        "subscription": subscription,
        "contract": contract,
        "period": period,
        "orders": subscriptions.orders_of(subscription),
        "usage": series,
        "quotas": limits,
        "metrics": known,
        "notices": upcoming,
        "open_requests": _open_requests(subscription),
        "warnings": warnings,
        "running": running_within(subscription, period, now),
        "kpis": _kpis(subscription, product_ids, levels, period, now),
    }


def running_within(subscription: Subscription, period: Period, now: datetime) -> Period | None:
    """The part of the period in which the subscription was running (from its activation to its
    termination), or None when it did not run then: its figures are measured over this part."""
    running = Period(
        max(period.start, subscription.active_since or now),
        min(period.end, subscription.terminated_at or period.end, now),
    )
    return running if running.end > running.start else None


def _open_requests(subscription: Subscription) -> list[SupportRequest]:
    return list(
        db.session.scalars(
            sa.select(SupportRequest)
            .where(
                SupportRequest.subscription_id == subscription.id,
                SupportRequest.status.notin_(
                    [RequestStatus.RESOLVED.value, RequestStatus.CLOSED.value]
                ),
            )
            .order_by(SupportRequest.created_at.desc(), SupportRequest.id.desc())
        )
    )


def _kpis(
    subscription: Subscription, product_ids: list[int], levels: dict, period: Period, now: datetime
) -> dict:
    """The subscription's KPIs beside the targets agreed in its contract."""
    # Availability counts only the time the subscription was running within the range.
    running = running_within(subscription, period, now)
    return {
        "availability_pct": availability(product_ids, running)
        if product_ids and running is not None
        else None,
        "availability_target_pct": levels.get("availability_pct"),
        "fulfillment": fulfillment_kpis(
            sa.select(Order.id).where(Order.subscription_id == subscription.id),
            period=Period(
                subscription.created_at - timedelta(seconds=1), now + timedelta(seconds=1)
            ),
        ),
        "fulfillment_target_hours": levels.get("fulfillment_target_hours"),
        "support": support_kpis(
            sa.select(SupportRequest.id).where(SupportRequest.subscription_id == subscription.id),
            period,
        ),
    }
