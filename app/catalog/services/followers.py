"""Who hears about an offer: its audience and its subscribers."""

from __future__ import annotations

import sqlalchemy as sa

from ...accounts.models import Role, User, UserRole, group_members
from ...extensions import db
from ...subscriptions.queries import subscribers_of
from ..models import OfferSettings, offer_audience


def users_with_roles(*roles: Role) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.active.is_(True),
                User.roles.any(UserRole.role.in_([str(role) for role in roles])),
            )
        )
    )


def audience_users(code: str) -> list[User]:
    """Who hears about an offer: its (pilot) groups' members, or every consumer when it has no audience."""
    settings = db.session.get(OfferSettings, code)
    canary = bool(settings and settings.canary)
    group_filter = [offer_audience.c.offer_code == code]
    if canary:
        group_filter.append(offer_audience.c.is_pilot.is_(True))
    has_audience = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(offer_audience)
        .where(offer_audience.c.offer_code == code)
    )
    if not has_audience and not canary:
        return users_with_roles(Role.CONSUMER)
    member_ids = (
        sa.select(group_members.c.user_id)
        .join(offer_audience, offer_audience.c.group_id == group_members.c.group_id)
        .where(*group_filter)
    )
    return list(
        db.session.scalars(sa.select(User).where(User.id.in_(member_ids), User.active.is_(True)))
    )


def offer_followers(code: str) -> list[User]:
    """Who hears of a publication, change, price change or retirement: the audience and,
    once subscriptions exist, the offer's subscribers."""
    audience = audience_users(code)
    known = {user.id for user in audience}
    return audience + [user for user in subscribers_of(code) if user.id not in known]
