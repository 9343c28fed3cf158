"""`flask status rebuild-rollups`: recount the dashboards' daily rollups from the facts."""

from __future__ import annotations

import click
import sqlalchemy as sa

from .. import unit_of_work
from ..extensions import db
from ..subscriptions.models import Subscription
from .services import rollups


@click.group("status")
def status() -> None:
    """Publish Service Status: the dashboards' daily rollups."""


@status.command("rebuild-rollups")
@click.option(
    "--batch",
    default=rollups.REBUILD_BATCH,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Subscriptions counted per step.",
)
def rebuild_rollups(batch: int) -> None:
    """Rebuild every daily rollup from the facts, in one transaction (running it again gives the
    same rollups)."""
    span = db.session.execute(
        sa.select(sa.func.min(Subscription.id), sa.func.max(Subscription.id))
    ).one()
    length = (span[1] - span[0] + 1) if span[0] is not None else 1
    with click.progressbar(length=length, label="Rebuilding rollups", show_pos=True) as bar:
        counts = rollups.rebuild(db.session, progress=bar.update, batch=batch)
        if span[0] is None:
            bar.update(1)
    unit_of_work.commit()
    click.echo(", ".join(f"{name}: {count} rows" for name, count in counts.items()))
