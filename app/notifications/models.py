from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..accounts.models import User
from ..extensions import db
from ..models_base import UTCDateTime


class NotificationKind(enum.StrEnum):
    """What a notification is about; a user chooses a channel per kind."""

    ORDER_UPDATES = "order_updates"  # orders, fulfillment, tasks for fulfillers
    APPROVALS = "approvals"  # no source yet: kept so that preferences exist when one comes
    SUPPORT_REPLIES = "support_replies"  # support requests, incidents, SLA, backlog
    SERVICE_NOTICES = "service_notices"  # outages, maintenance, quota warnings
    RELEASE_ANNOUNCEMENTS = "release_announcements"  # offers published, changed, retired


class Channel(enum.StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    BOTH = "both"
    DIGEST = "digest"  # one e-mail a day with the day's events
    NONE = "none"


def _values(enum_type) -> str:
    return ", ".join(f"'{member.value}'" for member in enum_type)


def kind_check(name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"kind IN ({_values(NotificationKind)})", name=name)


def channel_check(name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"channel IN ({_values(Channel)})", name=name)


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
        sa.Index("ix_notifications_user_kind", "user_id", "kind"),
        kind_check("notification_kind_values"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(30), default=NotificationKind.ORDER_UPDATES.value)
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class OutboxEmail(db.Model):
    """An e-mail waiting to go out; sent over SMTP only when MAIL_SERVER is set."""

    __tablename__ = "outbox_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a sender is on it
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")


class NotificationDefault(db.Model):
    """The channel an admin chose for a kind, for every user who has not chosen one."""

    __tablename__ = "notification_defaults"
    __table_args__ = (
        kind_check("notification_default_kind_values"),
        channel_check("notification_default_channel_values"),
    )

    kind: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class NotificationPreference(db.Model):
    """A user's own channel for a kind."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        kind_check("notification_preference_kind_values"),
        channel_check("notification_preference_channel_values"),
    )

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class NotificationDigest(db.Model):
    """The one digest e-mail of a user and day: the row is the guard (unique per user and
    day), so a second run that day sends nothing more."""

    __tablename__ = "notification_digests"
    __table_args__ = (sa.UniqueConstraint("user_id", "day", name="uq_notification_digest_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    entries: Mapped[int] = mapped_column(default=0)
    email_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outbox_emails.id", ondelete="SET NULL")
    )


class DigestEntry(db.Model):
    """An event kept for a user's next digest; `digest_id` is set when a digest takes it."""

    __tablename__ = "digest_entries"
    __table_args__ = (
        sa.Index("ix_digest_entries_user_pending", "user_id", "digest_id"),
        kind_check("digest_entry_kind_values"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(30))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    digest_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("notification_digests.id", ondelete="SET NULL")
    )
