"""The daily digest: one e-mail per user who chose it, with the events kept since the last
one. A user's digest of a day is a row unique per (user, day), claimed before anything is
written, so a second run that day (another worker, `flask notifications send-digest` again)
sends nothing more; the events are taken by a guarded update, so none is sent twice."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ... import clock
from ...accounts.models import User
from ...extensions import db
from ...i18n import DEFAULT_LANGUAGE, force_locale, ngettext
from ..models import DigestEntry, NotificationDigest, OutboxEmail
from .outbox import absolute, email_body
from .preferences import KIND_LABELS


def send_digests(now: datetime | None = None) -> tuple[int, int]:
    """Queue today's digest e-mail of every user with events waiting. Returns (e-mails, events)."""
    now = now or clock.now()
    waiting = (
        sa.select(DigestEntry.user_id)
        .where(DigestEntry.digest_id.is_(None), DigestEntry.created_at <= now)
        .distinct()
    )
    users = db.session.scalars(
        sa.select(User).where(User.id.in_(waiting), User.active.is_(True)).order_by(User.id)
    ).all()
    sent = events = 0
    for user in users:
        taken = _send_one(user, now.date(), now)
        if taken:
            sent += 1
            events += taken
    db.session.flush()
    return sent, events


def _send_one(user: User, day: date, now: datetime) -> int:
    digest_id = _claim_day(user.id, day, now)
    if digest_id is None:  # this day's digest went out already: the events wait for tomorrow
        return 0
    db.session.execute(
        sa.update(DigestEntry)
        .where(
            DigestEntry.user_id == user.id,
            DigestEntry.digest_id.is_(None),
            DigestEntry.created_at <= now,
        )
        .values(digest_id=digest_id)
        .execution_options(synchronize_session=False)
    )
    entries = db.session.scalars(
        sa.select(DigestEntry)
        .where(DigestEntry.digest_id == digest_id)
        .order_by(DigestEntry.created_at, DigestEntry.id)
    ).all()
    if not entries:  # another run took them between our two statements
        return 0
    with force_locale(user.locale or DEFAULT_LANGUAGE):  # the digest in its reader's language
        subject, body = _subject(len(entries), day), email_body(_text(entries))
    email_id = db.session.scalar(
        sa.insert(OutboxEmail)
        .values(
            recipient=user.email,
            subject=subject,
            body=body,
            created_at=now,
            attempts=0,
            last_error="",
        )
        .returning(OutboxEmail.id)
    )
    db.session.execute(
        sa.update(NotificationDigest)
        .where(NotificationDigest.id == digest_id)
        .values(entries=len(entries), email_id=email_id)
    )
    return len(entries)


def _claim_day(user_id: int, day: date, now: datetime) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING: the new digest's id, or None if the day has one."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    statement = (
        insert(NotificationDigest)
        .values(user_id=user_id, day=day, created_at=now, entries=0)
        .on_conflict_do_nothing(index_elements=["user_id", "day"])
        .returning(NotificationDigest.id)
    )
    return db.session.scalar(statement)


def _subject(count: int, day: date) -> str:
    return ngettext(
        "Your Offerdesk digest for %(day)s: %(num)d event",
        "Your Offerdesk digest for %(day)s: %(num)d events",
        count,
        day=day.isoformat(),
    )


def _text(entries: list[DigestEntry]) -> str:
    sections = []
    for kind, label in KIND_LABELS.items():
        items = [entry for entry in entries if entry.kind == kind]
        if not items:
            continue
        lines = [f"{label} ({len(items)})", ""]
        for entry in items:
            lines.append(f"- {entry.created_at:%Y-%m-%d %H:%M} UTC  {entry.subject}")
            if entry.body:
                lines.append(f"  {entry.body}")
            if entry.link:
                lines.append(f"  {absolute(entry.link)}")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)
