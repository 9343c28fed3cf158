"""Support agents and the tiers they work: 1 help desk, 2 technical support, 3 development."""

from __future__ import annotations

import sqlalchemy as sa

from ...accounts.models import Role, User, UserRole
from ...extensions import db
from ..models import SupportRequest


def is_agent(user: User) -> bool:
    return user.has_role(Role.SUPPORT_AGENT)


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
