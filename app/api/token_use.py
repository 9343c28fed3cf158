"""An API token's last use, recorded by a job: authenticating a request (a GET included) only
reads, and the token's `last_used_at` is written off the request path."""

from __future__ import annotations

from datetime import datetime

from ..accounts import services as accounts
from ..jobs import task
from .core import register_token_use


@task(retries=2, retry_delay=30, name="accounts.token_used")
def record_token_use(token_id: int, at: str) -> None:
    accounts.record_token_use(token_id, datetime.fromisoformat(at))


def record_later(token_id: int, at: datetime) -> None:
    """Enqueued at once, not after a commit: a read-only request never commits."""
    record_token_use(token_id, at.isoformat())


register_token_use(record_later)
