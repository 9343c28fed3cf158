"""The e-mail outbox: e-mails wait here and go out over SMTP when MAIL_SERVER is set. Every
e-mail ends with an absolute link to the recipient's notification preferences."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app

from ... import clock
from ...errors import NotFound
from ...extensions import db, get_by_id
from ...i18n import _
from ..models import OutboxEmail
from .preferences import require_admin

log = logging.getLogger(__name__)
PREFERENCES_PATH = "/account/notifications"


def absolute(link: str) -> str:
    """A link of the portal as the recipient of an e-mail can open it (PUBLIC_URL first)."""
    if link.startswith("/"):
        return current_app.config["PUBLIC_URL"].rstrip("/") + link
    return link


def email_body(body: str, link: str = "") -> str:
    """The text of an e-mail: the message, its link, and the footer with the preferences."""
    text = f"{body}\n\n{absolute(link)}".strip() if link else body
    footer = _("Choose which notifications you get, and how: %(url)s", url=preferences_url())
    return f"{text}\n\n-- \n{footer}".lstrip()


def preferences_url() -> str:
    return absolute(PREFERENCES_PATH)


def require_outbox_reader(actor) -> None:
    require_admin(actor, _("Only an administrator reads the outbox."))


def get_email(actor, email_id: int) -> OutboxEmail:
    require_outbox_reader(actor)
    email = get_by_id(OutboxEmail, email_id)
    if email is None:
        raise NotFound(_("No such e-mail in the outbox."))
    return email


def email_status(email: OutboxEmail) -> str:
    """sent, failed (it will not be tried again), retrying or pending."""
    if email.sent_at is not None:
        return "sent"
    if email.attempts >= MAX_ATTEMPTS:
        return "failed"
    return "retrying" if email.last_error else "pending"


def outbox_query(actor, *, pending_only: bool = False) -> sa.Select:
    require_outbox_reader(actor)
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
