"""The notifications: delivery by each user's preferences, the inbox, the e-mail outbox and
the daily digest. One module per concept; the names callers use are here."""

from .delivery import notify, notify_each, silenced
from .inbox import (
    grouped,
    inbox_query,
    kind_counts,
    kind_or_none,
    mark_all_read,
    mark_read,
    unread_count,
)
from .outbox import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    claim_outbox,
    email_body,
    email_status,
    get_email,
    mail_enabled,
    outbox_query,
    preferences_url,
    send_outbox,
)

__all__ = [
    "CLAIM_LEASE",
    "MAX_ATTEMPTS",
    "claim_outbox",
    "email_body",
    "email_status",
    "get_email",
    "inbox_query",
    "kind_counts",
    "kind_or_none",
    "grouped",
    "mail_enabled",
    "mark_all_read",
    "mark_read",
    "notify",
    "notify_each",
    "outbox_query",
    "preferences_url",
    "send_outbox",
    "silenced",
    "unread_count",
]
