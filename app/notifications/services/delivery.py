"""Telling people: notify() joins the caller's transaction and delivers each message by the
channel its recipient chose for its kind (in-app, e-mail, both, the daily digest, or not at
all). A critical message (a service notice marked critical) ignores "none" and "digest": it
goes to the inbox and by e-mail at once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa

from ... import clock
from ...accounts.models import User
from ...extensions import db
from ...i18n import DEFAULT_LANGUAGE, force_locale
from ..models import Channel, DigestEntry, Notification, NotificationKind, OutboxEmail
from .outbox import email_body
from .preferences import channels_for

Message = tuple[Iterable[User], str, str, str]  # recipients, subject, body, link
IN_APP = {Channel.IN_APP.value, Channel.BOTH.value}
BY_EMAIL = {Channel.EMAIL.value, Channel.BOTH.value}
_silenced: ContextVar[bool] = ContextVar("notifications_silenced", default=False)


@contextmanager
def silenced() -> Iterator[None]:
    """Nobody is told of what happens inside: the demo seeding builds a catalog that was there
    before its users, which is history, not news."""
    token = _silenced.set(True)
    try:
        yield
    finally:
        _silenced.reset(token)


def notify(
    recipients: Iterable[User],
    subject: str,
    body: str = "",
    link: str = "",
    *,
    kind: NotificationKind | str,
    critical: bool = False,
) -> int:
    """Tell each distinct active recipient, by the channel each chose for `kind`. A subject or
    body made with `_l` is written in each recipient's language."""
    return notify_each([(recipients, subject, body, link)], kind=kind, critical=critical)


def notify_each(
    messages: Iterable[Message], *, kind: NotificationKind | str, critical: bool = False
) -> int:
    """`notify` for many messages of one kind in a bounded number of statements, however many
    messages and recipients: a batch job tells hundreds of people at once. Returns how many
    recipients were told by any channel."""
    kind = NotificationKind(kind).value
    if _silenced.get():
        return 0
    batch = [
        (_distinct_active(recipients), subject, body, link)
        for recipients, subject, body, link in messages
    ]
    channels = channels_for((user.id for users, *_ in batch for user in users), kind)
    now = clock.now()
    inbox, outbox, digest = [], [], []
    for users, subject, body, link in batch:
        for user in users:
            channel = _channel(channels[user.id], critical)
            with force_locale(user.locale or DEFAULT_LANGUAGE):  # in the recipient's language
                text, words = str(subject)[:200], str(body)
                mail = email_body(words, link) if channel in BY_EMAIL else ""
            row = {"user_id": user.id, "kind": kind, "subject": text, "body": words, "link": link}
            if channel in IN_APP:
                inbox.append(row)
            if channel in BY_EMAIL:
                outbox.append({"recipient": user.email, "subject": text, "body": mail})
            if channel == Channel.DIGEST.value:
                digest.append(row)
    for model, rows in ((Notification, inbox), (OutboxEmail, outbox), (DigestEntry, digest)):
        if rows:
            db.session.execute(sa.insert(model), [{**row, "created_at": now} for row in rows])
    return sum(
        1 for users, *_ in batch for user in users if channels[user.id] != Channel.NONE or critical
    )


def _channel(chosen: str, critical: bool) -> str:
    return Channel.BOTH.value if critical else chosen


def _distinct_active(recipients: Iterable[User]) -> list[User]:
    seen: set[int] = set()
    users = []
    for user in recipients:
        if user is None or user.id in seen or not user.active:
            continue
        seen.add(user.id)
        users.append(user)
    return users
