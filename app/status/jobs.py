"""Periodic jobs of the status domain: quota warnings, sent instead of only shown.

The subscription's status page shows the same warning (this month's usage trend crossing a
quota) whenever someone looks; this job tells the owner once per subscription, quota and
month, even if nobody looks."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from .. import clock
from ..extensions import db
from ..notifications.services import notify
from ..subscriptions.models import Subscription, SubscriptionStatus
from ..worker.services import once
from . import services
from .models import UsageRecord


def warn_quotas(now: datetime | None = None) -> str:
    now = now or clock.now()
    month = services.month_period(now.year, now.month)
    known = services.metrics()
    used_this_month = sa.select(UsageRecord.subscription_id).where(
        UsageRecord.period_start >= month.start, UsageRecord.period_start < month.end
    )
    candidates = db.session.scalars(
        sa.select(Subscription)
        .where(
            Subscription.id.in_(used_this_month),
            Subscription.status == SubscriptionStatus.ACTIVE.value,
        )
        .order_by(Subscription.id)
    )
    warned = 0
    for subscription in candidates:
        limits = {m: q for m, q in services.quotas(subscription).items() if m in known}
        if not limits or subscription.owner is None:
            continue
        series = services.usage_series(
            [subscription.id],
            services.Period(month.start, min(month.end, now + timedelta(days=1))),
        )
        for metric, quota in sorted(limits.items()):
            crossing = services.predict_quota_crossing(
                series.get(metric, []), quota, today=now.date()
            )
            if crossing is None:
                continue
            if not once(f"quota:{subscription.id}:{month.start:%Y-%m}:{metric}"):
                continue
            notify(
                [subscription.owner],
                f"Quota warning: {subscription.offer.name}",
                _warning(known[metric], quota, crossing, reached=crossing <= now.date()),
                f"/status/subscriptions/{subscription.id}",
            )
            warned += 1
    return f"Sent {warned} quota warning{'' if warned == 1 else 's'}."


def _warning(metric, quota: float, crossing, *, reached: bool) -> str:
    unit = f" {metric.unit}" if metric.unit else ""
    if reached:
        return f"{metric.label} has reached its monthly quota of {quota:g}{unit} ({crossing:%Y-%m-%d})."
    return (
        f"At the current rate, {metric.label} will reach its monthly quota of {quota:g}{unit} "
        f"on {crossing:%Y-%m-%d}."
    )
