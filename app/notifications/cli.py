"""`flask notifications ...`: the daily digest by hand."""

from __future__ import annotations

import click

from .. import unit_of_work
from . import jobs


@click.group("notifications")
def notifications() -> None:
    """Notifications: the daily digest."""


@notifications.command("send-digest")
def send_digest() -> None:
    """Queue today's digest e-mail of every digest user now, whatever the hour; a second run
    the same day sends nothing more."""
    summary = jobs.send_digests(any_hour=True)
    unit_of_work.commit()
    click.echo(summary)
