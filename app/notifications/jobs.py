"""Periodic jobs of the notifications: the e-mail outbox."""

from __future__ import annotations

from ..i18n import _
from . import services


def send_outbox() -> str:
    """What `flask outbox send` does; each e-mail is claimed first, so two senders never send
    one twice."""
    if not services.mail_enabled():
        return _("Mail is not configured (MAIL_SERVER is empty): e-mails stay in the outbox.")
    sent, failed = services.send_outbox()
    return _("Sent %(sent)s, failed %(failed)s.", sent=sent, failed=failed)
