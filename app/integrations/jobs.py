"""Background jobs of the integrations: sending deliveries, off the request path, and sending
again the deliveries whose job a killed worker lost."""

from __future__ import annotations

from .. import unit_of_work
from ..i18n import _l
from ..jobs import PeriodicJob, register_periodic, task
from .services import deliveries


@task(retries=2, retry_delay=30, name="integrations.deliver")
def deliver(delivery_id: int) -> None:
    """One attempt; the next one, when needed, is scheduled once this one is committed."""
    delay = deliveries.attempt(delivery_id)
    if delay is not None:
        unit_of_work.on_commit(lambda: deliver.schedule(args=(delivery_id,), delay=delay))


deliveries.register_job(deliver)
register_periodic(
    PeriodicJob(
        "integrations.lost_deliveries",
        deliveries.requeue_lost,
        1,
        _l("Send again the pending webhook deliveries whose job a killed worker lost."),
        at_start=True,
    )
)
