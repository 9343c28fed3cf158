"""`flask subscriptions ...`: operator commands of the Consume stream."""

import click

from .services import orders


@click.group()
def subscriptions() -> None:
    """Subscriptions and their fulfillment."""


@subscriptions.command("process")
def process() -> None:
    """Start the terminations whose date has come (run it from cron, e.g. every 5 minutes)."""
    started = orders.process_due()
    click.echo(f"Started {started} scheduled termination{'' if started == 1 else 's'}.")
