"""Periodic jobs of the status domain: quota warnings, sent instead of only shown.

The subscription's status page shows the same warning (this month's usage trend crossing a
quota) whenever someone looks; this job tells the owner once per subscription, quota and
month, even if nobody looks."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .. import clock
from ..extensions import db
from ..i18n import _l
from ..notifications.models import NotificationKind
from ..notifications.services import notify
from ..subscriptions.models import Subscription, SubscriptionStatus
from ..worker.services import once
from .models import UsageRecord
from .services import quotas, usage
from .services.periods import month_period


def warn_quotas(now: datetime | None = None) -> str:
    now = now or clock.now()
    month = month_period(now.year, now.month)
    known = usage.metrics()
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
        limits = {m: q for m, q in quotas.quotas(subscription).items() if m in known}
        if subscription.owner is None:
            continue
        for warning in quotas.quota_warnings(subscription, limits, known, now):
            if not once(f"quota:{subscription.id}:{month.start:%Y-%m}:{warning['metric']}"):
                continue
            notify(
                [subscription.owner],
                _l("Quota warning: %(name)s", name=subscription.offer.name),
                warning["message"],
                f"/status/subscriptions/{subscription.id}",
                kind=NotificationKind.SERVICE_NOTICES,
            )
            warned += 1
    return f"Sent {warned} quota warning{'' if warned == 1 else 's'}."
