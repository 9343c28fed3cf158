"""`flask support ...`: operator commands of Provide Service Support. Each command is one unit of
work, committed here at its edge."""

from __future__ import annotations

import click

from .. import unit_of_work
from ..accounts.models import SYSTEM
from .services.sla import sla_check as check_slas


@click.group("support")
def support() -> None:
    """Support requests: SLA clocks and housekeeping."""


@support.command("sla-check")
def sla_check() -> None:
    """Record SLA breaches (telling the assignee or the tier) and close requests resolved 7 days ago."""
    result = check_slas(SYSTEM)
    unit_of_work.commit()
    click.echo(
        f"Response breaches: {result['response_breaches']}, resolution breaches: "
        f"{result['resolution_breaches']}, closed after 7 days resolved: {result['closed']}."
    )
