"""`flask subscriptions ...`: operator commands of the Consume stream. Each command is one unit
of work, committed here at its edge."""

import click

from .. import unit_of_work
from ..accounts.models import SYSTEM
from ..errors import DomainError
from .services import approval_reminders, leases, orders


@click.group()
def subscriptions() -> None:
    """Subscriptions and their fulfillment."""


@subscriptions.command("process")
def process() -> None:
    """Start the terminations whose date has come (run it from cron, e.g. every 5 minutes)."""
    try:
        started = orders.process_due(SYSTEM)
    except DomainError as error:  # a lost race: nothing was started, the next run retries
        raise click.ClickException(error.message) from None
    unit_of_work.commit()
    click.echo(f"Started {started} scheduled termination{'' if started == 1 else 's'}.")


@subscriptions.command("approvals")
def approvals() -> None:
    """Remind approvers of steps past their reminder time, escalate those past their escalation
    time (the periodic job does the same every 5 minutes)."""
    reminded, escalated = approval_reminders.remind_and_escalate(SYSTEM)
    unit_of_work.commit()
    click.echo(f"Reminded {reminded}, escalated {escalated} approval step(s).")


@subscriptions.command("leases")
def lease_sweep() -> None:
    """Warn owners of leases ending soon (once each) and end the leases whose date has come (the
    periodic job `subscriptions.leases` does the same every 5 minutes)."""
    try:
        warned, ended = leases.sweep(SYSTEM)
    except DomainError as error:  # a lost race: nothing was ended, the next run retries
        raise click.ClickException(error.message) from None
    unit_of_work.commit()
    click.echo(f"Warned {warned}, ended {ended} lease(s).")
