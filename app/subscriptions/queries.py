"""Read-only questions about subscriptions that other domains ask. Models only: no services, so
any domain may import it without an import circle."""

from __future__ import annotations

import sqlalchemy as sa

from ..accounts.models import User, group_members
from ..extensions import db
from .models import Subscription, SubscriptionStatus

S = SubscriptionStatus
OPEN_STATUSES = (S.REQUESTED, S.FULFILLING, S.ACTIVE, S.MODIFYING, S.TERMINATING, S.FAILED)


def subscribers_of(code: str) -> list[User]:
    """Owners and group members of open subscriptions of an offer (for catalog notifications)."""
    group_ids = sa.select(Subscription.group_id).where(
        Subscription.offer_code == code, Subscription.status.in_(OPEN_STATUSES)
    )
    owner_ids = sa.select(Subscription.owner_id).where(
        Subscription.offer_code == code, Subscription.status.in_(OPEN_STATUSES)
    )
    member_ids = sa.select(group_members.c.user_id).where(group_members.c.group_id.in_(group_ids))
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.active.is_(True), sa.or_(User.id.in_(owner_ids), User.id.in_(member_ids))
            )
        )
    )
