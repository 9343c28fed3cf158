"""The in-app inbox: what a user reads, grouped by kind, and marks read."""

from __future__ import annotations

import sqlalchemy as sa

from ... import clock
from ...accounts.models import User
from ...errors import NotFound
from ...extensions import db, get_by_id
from ..models import Notification, NotificationKind

KINDS = [kind.value for kind in NotificationKind]


def unread_count_query(user: User) -> sa.Select:
    """How many of the user's notifications are unread (the header shows it)."""
    return sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )


def unread_count(user: User) -> int:
    return db.session.scalar(unread_count_query(user)) or 0


def inbox_query(user: User, *, unread_only: bool = False, kind: str | None = None) -> sa.Select:
    query = sa.select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return query.order_by(Notification.created_at.desc(), Notification.id.desc())


def kind_or_none(value: str | None) -> str | None:
    """A kind named in a query string, or None (all kinds) for anything else."""
    return value if value in KINDS else None


def kind_counts(user: User) -> list[dict]:
    """Per kind that has notifications, in the kinds' order: how many, how many unread."""
    rows = db.session.execute(
        sa.select(
            Notification.kind,
            sa.func.count(Notification.id),
            sa.func.count(Notification.id).filter(Notification.read_at.is_(None)),
        )
        .where(Notification.user_id == user.id)
        .group_by(Notification.kind)
    ).all()
    counts = {kind: (total, unread) for kind, total, unread in rows}
    return [
        {"kind": kind, "total": counts[kind][0], "unread": counts[kind][1]}
        for kind in KINDS
        if kind in counts
    ]


def grouped(user: User, *, unread_only: bool = False, per_kind: int = 5) -> list[dict]:
    """The inbox by kind: per kind that has notifications, its counts and its latest
    `per_kind` (unread ones only, if asked); one query a kind, five kinds at most."""
    groups = []
    for counts in kind_counts(user):
        if unread_only and not counts["unread"]:
            continue
        query = inbox_query(user, unread_only=unread_only, kind=counts["kind"])
        groups.append({**counts, "items": list(db.session.scalars(query.limit(per_kind)))})
    return groups


def mark_read(user: User, notification_id: int) -> Notification:
    notification = get_by_id(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = clock.now()
    db.session.flush()
    return notification


def mark_all_read(user: User, kind: str | None = None) -> int:
    """Mark the user's unread notifications read, all of them or those of one kind."""
    query = sa.update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if kind is not None:
        query = query.where(Notification.kind == kind)
    result = db.session.execute(query.values(read_at=clock.now()))
    db.session.flush()
    return result.rowcount
