"""A group as its managers see it: the group's subscriptions, whoever owns them. A manager (or
an admin, or the staff who see every subscription) may look; anyone else is told there is no
such group."""

from __future__ import annotations

import sqlalchemy as sa

from ...accounts.models import ConsumerGroup, Role, User
from ...accounts.services import groups
from ...errors import NotAllowed, NotFound
from ...extensions import db, get_by_id
from ...i18n import _
from ..models import Subscription
from .subscriptions import sees_all_subscriptions


def may_oversee(actor: User, group: ConsumerGroup) -> bool:
    """Whether `actor` sees the group as its manager does."""
    return (
        actor.has_role(Role.ADMIN)
        or sees_all_subscriptions(actor)
        or groups.is_group_manager(actor, group)
    )


def overseen_group(actor: User | None, group_id: int) -> ConsumerGroup:
    """The group, for its managers, admins and staff; NotFound for everyone else."""
    if actor is None or not actor.is_active:
        raise NotAllowed(_("You do not have permission to do that."))
    group = get_by_id(ConsumerGroup, group_id)
    if group is None or not may_oversee(actor, group):
        raise NotFound(_("No such group."))
    return group


def group_subscriptions_query(
    actor: User | None, group_id: int, *, owner_id: int | None = None, status: str = ""
) -> sa.Select:
    """The group's top-level subscriptions, newest first, optionally one member's or in one
    status. Checks that `actor` oversees the group."""
    group = overseen_group(actor, group_id)
    query = sa.select(Subscription).where(
        Subscription.group_id == group.id, Subscription.parent_id.is_(None)
    )
    if owner_id:
        query = query.where(Subscription.owner_id == owner_id)
    if status:
        query = query.where(Subscription.status == status)
    return query.order_by(Subscription.created_at.desc(), Subscription.id.desc())


def group_subscription_counts(actor: User | None, group_id: int) -> dict[int | None, int]:
    """How many top-level subscriptions each member owns in the group (owner id → count)."""
    group = overseen_group(actor, group_id)
    return dict(
        db.session.execute(
            sa.select(Subscription.owner_id, sa.func.count())
            .where(Subscription.group_id == group.id, Subscription.parent_id.is_(None))
            .group_by(Subscription.owner_id)
        ).all()
    )
