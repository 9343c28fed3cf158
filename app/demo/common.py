"""Helpers the demo loaders share: acting users by e-mail, and a clock set back in time so
the demo has a history."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

from .. import clock, unit_of_work
from ..accounts import services as accounts
from ..accounts.models import User
from ..catalog import services as catalog
from ..errors import DomainError
from ..extensions import db
from ..subscriptions import services as subscriptions


def find_user(email: str | None) -> User | None:
    return accounts.find_user_by_email(email) if email else None


@contextmanager
def clock_at(moment: datetime):
    """Run the services at a moment in the past; a frozen test clock is restored after."""
    previous = clock._frozen  # noqa: SLF001 - a frozen test clock must survive the seed
    clock.freeze(moment)
    try:
        yield
    finally:
        clock.freeze(previous)


def complete_manual_steps(order, agent: User | None, moment: datetime, *, hours: int) -> None:
    """Steps queue one after another: the agent starts each manual step an hour after it comes
    up and completes it `hours` after it came up."""
    if agent is None:
        return
    for _ in range(len(order.tasks)):
        db.session.refresh(order)
        pending = [
            task for task in order.tasks if task.mode == "manual" and task.status == "queued"
        ]
        if not pending:
            return
        with clock_at(moment + timedelta(hours=1)):
            subscriptions.transition_task(agent, pending[0].id, "start")
        with clock_at(moment + timedelta(hours=hours)):
            subscriptions.transition_task(agent, pending[0].id, "complete")
        moment += timedelta(hours=hours)


def order_and_fulfil(
    consumer: User, agent: User | None, item: dict, ordered_at: datetime, *, key: str, hours: int
) -> str | None:
    """Order `item["offer"]` for the consumer at `ordered_at` with the options of `item` the
    offer knows, and complete its manual steps; committed as one unit of work. The reason it
    was skipped, or None."""
    offer = catalog.live_revision(item["offer"])
    if offer is None:
        return "not in the catalog"
    defined = {option["key"] for option in offer.options or []}
    options = {key: value for key, value in (item.get("options") or {}).items() if key in defined}
    try:
        with clock_at(ordered_at):  # the demo history starts when the subscriptions did
            order, _ = subscriptions.subscribe(
                consumer, offer.id, options=options, accept_terms=True, idempotency_key=key
            )
        complete_manual_steps(order, agent, ordered_at, hours=hours)
        unit_of_work.commit()
    except DomainError as error:
        db.session.rollback()
        return error.message
    return None
