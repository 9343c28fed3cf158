"""Background jobs of the integrations: sending deliveries, off the request path."""

from __future__ import annotations

from .. import unit_of_work
from ..jobs import task
from .services import deliveries


@task(retries=2, retry_delay=30, name="integrations.deliver")
def deliver(delivery_id: int) -> None:
    """One attempt; the next one, when needed, is scheduled once this one is committed."""
    delay = deliveries.attempt(delivery_id)
    if delay is not None:
        unit_of_work.on_commit(lambda: deliver.schedule(args=(delivery_id,), delay=delay))


deliveries.register_job(deliver)
