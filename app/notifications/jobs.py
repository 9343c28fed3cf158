"""Periodic jobs of the notifications: the e-mail outbox."""

from __future__ import annotations

from . import services


def send_outbox() -> str:
    """What `flask outbox send` does; each e-mail is claimed first, so two senders never send
    one twice."""
    if not services.mail_enabled():
        return "Mail is not configured (MAIL_SERVER is empty): e-mails stay in the outbox."
    sent, failed = services.send_outbox()
    return f"Sent {sent}, failed {failed}."
