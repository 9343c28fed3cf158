"""Periodic jobs of the notifications: the e-mail outbox and the daily digest."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from .. import clock
from ..i18n import _
from .services import digest, outbox


def send_outbox() -> str:
    """What `flask outbox send` does; each e-mail is claimed first, so two senders never send
    one twice."""
    if not outbox.mail_enabled():
        return _("Mail is not configured (MAIL_SERVER is empty): e-mails stay in the outbox.")
    sent, failed = outbox.send_outbox()
    return _("Sent %(sent)s, failed %(failed)s.", sent=sent, failed=failed)


def digest_hour() -> int:
    hour = int(current_app.config.get("NOTIFICATIONS_DIGEST_HOUR", 7))
    if not 0 <= hour <= 23:
        raise RuntimeError(f"NOTIFICATIONS_DIGEST_HOUR must be an hour from 0 to 23, not {hour}.")
    return hour


def send_digests(now: datetime | None = None, *, any_hour: bool = False) -> str:
    """Scheduled hourly: from NOTIFICATIONS_DIGEST_HOUR (UTC) on, each digest user's one
    e-mail of the day (a worker that was down at that hour catches up later that day). With
    `any_hour` (the command), whatever the hour. A second run the same day sends nothing more."""
    now = now or clock.now()
    hour = digest_hour()
    if not any_hour and now.hour < hour:
        return f"Not yet: the digests go out from {hour:02d}:00 UTC."
    emails, events = digest.send_digests(now)
    return (
        f"Queued {emails} digest e-mail{'' if emails == 1 else 's'} "
        f"({events} event{'' if events == 1 else 's'})."
    )
