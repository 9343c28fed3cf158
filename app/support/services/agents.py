"""Support agents and the tiers they work: 1 help desk, 2 technical support, 3 development."""

from __future__ import annotations

import sqlalchemy as sa

from ...accounts.models import Role, User, UserRole
from ...errors import NotAllowed
from ...extensions import db
from ...i18n import _
from ..models import SupportRequest

TOP_TIER = 3


def require_actor(actor: User | None) -> None:
    """Refuse a call made for nobody (or for a deactivated account): the system acts as SYSTEM."""
    if actor is None or not actor.is_active:
        raise NotAllowed(_("Log in to use support."))


def is_agent(user: User | None) -> bool:
    return user is not None and user.has_role(Role.SUPPORT_AGENT)


def tier_of(agent: User) -> int:
    """The tier an agent works at; the system (SYSTEM) works every tier."""
    return TOP_TIER if agent.is_system else (agent.support_tier or 1)


def tier_agents(tier: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.active.is_(True),
                User.support_tier == tier,
                User.roles.any(UserRole.role == Role.SUPPORT_AGENT.value),
            )
        )
    )


def assignable_agents(request: SupportRequest) -> list[User]:
    """Active agents of the request's tier or above."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.active.is_(True),
                User.support_tier >= request.tier,
                User.roles.any(UserRole.role == Role.SUPPORT_AGENT.value),
            )
            .order_by(User.support_tier, User.name)
        )
    )
