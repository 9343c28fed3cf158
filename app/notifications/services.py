"""In-app inbox and e-mail outbox. notify() joins the caller's transaction."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app

from .. import clock
from ..accounts.models import User
from ..errors import NotFound
from ..extensions import db, get_by_id
from ..i18n import DEFAULT_LANGUAGE, _, force_locale
from .models import Notification, OutboxEmail

log = logging.getLogger(__name__)


def notify(recipients: Iterable[User], subject: str, body: str = "", link: str = "") -> int:
    """Queue an inbox entry and an outbox e-mail for each distinct active recipient.

    A subject or body made with `_l` is written in each recipient's language."""
    return notify_each([(recipients, subject, body, link)])


def notify_each(messages: Iterable[tuple[Iterable[User], str, str, str]]) -> int:
    """`notify` for many messages (recipients, subject, body, link) in two statements, however
    many messages and recipients: a batch job tells hundreds of people at once."""
    now = clock.now()
    inbox, outbox = [], []
    for recipients, subject, body, link in messages:
        seen: set[int] = set()
        for user in recipients:
            if user is None or user.id in seen or not user.active:
                continue
            seen.add(user.id)
            with force_locale(user.locale or DEFAULT_LANGUAGE):
                text, words = str(subject)[:200], str(body)
            inbox.append({"user_id": user.id, "subject": text, "body": words, "link": link})
            outbox.append(
                {"recipient": user.email, "subject": text, "body": _email_body(words, link)}
            )
    if inbox:
        db.session.execute(sa.insert(Notification), [{**row, "created_at": now} for row in inbox])
        db.session.execute(sa.insert(OutboxEmail), [{**row, "created_at": now} for row in outbox])
    return len(inbox)


def _email_body(body: str, link: str) -> str:
    return f"{body}\n\n{link}".strip() if link else body


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def inbox_query(user: User, *, unread_only: bool = False) -> sa.Select:
    query = sa.select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query.order_by(Notification.created_at.desc(), Notification.id.desc())


def mark_read(user: User, notification_id: int) -> Notification:
    notification = get_by_id(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound(_("No such notification."))
    if notification.read_at is None:
        notification.read_at = clock.now()
    db.session.flush()
    return notification


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=clock.now())
    )
    db.session.flush()
    return result.rowcount


def outbox_query(*, pending_only: bool = False) -> sa.Select:
    query = sa.select(OutboxEmail).order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
    if pending_only:
        query = query.where(OutboxEmail.sent_at.is_(None))
    return query


def mail_enabled() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


CLAIM_LEASE = timedelta(minutes=10)  # a sender that died holding e-mails frees them after this
MAX_ATTEMPTS = 5


def _sendable(now):
    return sa.and_(
        OutboxEmail.sent_at.is_(None),
        OutboxEmail.attempts < MAX_ATTEMPTS,
        sa.or_(OutboxEmail.claimed_at.is_(None), OutboxEmail.claimed_at < now - CLAIM_LEASE),
    )


def claim_outbox(limit: int = 100) -> list[OutboxEmail]:
    """Take up to `limit` pending e-mails for this sender, oldest first, and commit the claim,
    so that two senders (two workers, or a worker and `flask outbox send`) never take the same
    one: a guarded UPDATE, with FOR UPDATE SKIP LOCKED on PostgreSQL so that they do not wait
    for each other either."""
    now = clock.now()
    candidates = (
        sa.select(OutboxEmail.id)
        .where(_sendable(now))
        .order_by(OutboxEmail.created_at, OutboxEmail.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    # Two statements: as a subquery of the UPDATE, PostgreSQL's LIMIT ... FOR UPDATE was seen
    # claiming more than `limit` rows.
    ids = db.session.scalars(candidates).all()
    claimed = []
    if ids:
        claimed = db.session.scalars(
            sa.update(OutboxEmail)
            .where(OutboxEmail.id.in_(ids), _sendable(now))
            .values(claimed_at=now)
            .returning(OutboxEmail.id)
            .execution_options(synchronize_session=False)
        ).all()
    db.session.commit()
    if not claimed:
        return []
    return list(
        db.session.scalars(
            sa.select(OutboxEmail)
            .where(OutboxEmail.id.in_(claimed))
            .order_by(OutboxEmail.created_at, OutboxEmail.id)
        )
    )


def send_outbox(limit: int = 100) -> tuple[int, int]:
    """Send pending e-mails over SMTP when MAIL_SERVER is set. Returns (sent, failed)."""
    if not mail_enabled():
        return 0, 0
    config = current_app.config
    pending = claim_outbox(limit)
    if not pending:
        return 0, 0
    try:
        smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10)
    except OSError as error:
        log.warning("Mail server unreachable: %s", error)
        for email in pending:
            _attempted(email, error=str(error))
        db.session.commit()
        return 0, len(pending)
    sent = failed = 0
    with smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        for email in pending:
            try:
                smtp.send_message(_message(email, config["MAIL_DEFAULT_SENDER"]))
            except smtplib.SMTPException as error:
                _attempted(email, error=str(error))
                failed += 1
            else:
                _attempted(email, sent_at=clock.now())
                sent += 1
            db.session.commit()  # e-mail by e-mail: a sender that dies resends at most one
    return sent, failed


def _message(email: OutboxEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message.set_content(email.body or email.subject)
    return message


def _attempted(email: OutboxEmail, *, error: str = "", sent_at=None) -> None:
    email.attempts += 1
    email.claimed_at = None
    email.last_error = error[:500]
    if sent_at is not None:
        email.sent_at = sent_at
