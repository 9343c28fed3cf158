from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from ..models_base import UTCDateTime
from ..roles import Role

# The password hash of users created just in time by an OpenID Connect sign-in: no password
# matches it (check_password_hash refuses a hash without a method).
PROVIDER_ONLY_HASH = "!oidc:"

group_members = sa.Table(
    "group_members",
    db.metadata,
    sa.Column(
        "group_id", sa.ForeignKey("consumer_groups.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # False for a membership the identity provider's claims granted (and take away again);
    # True for one set in Offerdesk, which sign-ins leave alone.
    sa.Column("local", sa.Boolean, nullable=False, default=True, server_default=sa.true()),
)

# The members who manage a group: they see its subscriptions and requests and may order for its
# members. A manager is always a member too (app/accounts/services/groups.py keeps that rule).
group_managers = sa.Table(
    "group_managers",
    db.metadata,
    sa.Column(
        "group_id", sa.ForeignKey("consumer_groups.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    support_tier: Mapped[int | None] = mapped_column(
        sa.SmallInteger, sa.CheckConstraint("support_tier BETWEEN 1 AND 3", name="tier_range")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # the portal's language and time zone for this user; none = the browser's language, UTC
    locale: Mapped[str | None] = mapped_column(
        sa.String(8), sa.CheckConstraint("locale IN ('en', 'de')", name="known_locale")
    )
    timezone: Mapped[str | None] = mapped_column(sa.String(64))

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    groups: Mapped[list[ConsumerGroup]] = relationship(
        secondary=group_members,
        back_populates="members",
        lazy="selectin",
        order_by="ConsumerGroup.name",
    )
    managed_groups: Mapped[list[ConsumerGroup]] = relationship(
        secondary=group_managers,
        back_populates="managers",
        order_by="ConsumerGroup.name",
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def has_password(self) -> bool:
        """False for a user created at a first sign-in through the OpenID provider: they have
        no Offerdesk password to change (until an admin sets one)."""
        return not self.password_hash.startswith(PROVIDER_ONLY_HASH)

    @property
    def role_names(self) -> set[str]:
        return {role.role for role in self.roles}

    def has_role(self, *roles: Role | str) -> bool:
        return bool(self.role_names & {str(role) for role in roles})

    is_system = False

    @property
    def group_ids(self) -> set[int]:
        return {group.id for group in self.groups}

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    # False for a role the identity provider's claims granted (and take away again); True for
    # one granted in Offerdesk by an admin, which sign-ins leave alone.
    local: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    user: Mapped[User] = relationship(back_populates="roles")


class UserIdentity(db.Model):
    """A user's account at an OpenID provider: sign-ins find the user by (issuer, subject), never
    by e-mail alone."""

    __tablename__ = "user_identities"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject", name="uq_identity_issuer_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(sa.String(255))
    subject: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class ConsumerGroup(db.Model):
    __tablename__ = "consumer_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    members: Mapped[list[User]] = relationship(
        secondary=group_members, back_populates="groups", order_by="User.name"
    )
    managers: Mapped[list[User]] = relationship(
        secondary=group_managers, back_populates="managed_groups", order_by="User.name"
    )

    def __repr__(self) -> str:
        return f"<ConsumerGroup {self.name}>"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(120))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class LoginAttempt(db.Model):
    """Failed log-ins, counted per account and per address to rate-limit guessing."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    address: Mapped[str] = mapped_column(sa.String(64), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)


class SystemActor:
    """The portal itself acting (the demo seed, the command line, scheduled jobs), passed where a
    person would be. It holds every role, so a permission check passes because of who acts,
    never because the check was skipped; services given no actor refuse."""

    id = None
    name = "Offerdesk"
    email = "system@offerdesk.invalid"
    active = True
    is_active = True
    is_authenticated = True
    is_anonymous = False
    is_system = True
    support_tier = None
    groups: list = []
    managed_groups: list = []
    group_ids: frozenset = frozenset()
    role_names = frozenset(role.value for role in Role)

    def has_role(self, *roles: Role | str) -> bool:
        return bool(roles)

    def __repr__(self) -> str:
        return "<SystemActor>"


SYSTEM = SystemActor()
