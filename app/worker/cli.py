"""`flask jobs ...`: the job worker and what it is doing."""

from __future__ import annotations

import click
from flask import current_app


@click.group("jobs")
def jobs() -> None:
    """The job engine (Huey): the worker, its queue and the periodic jobs."""


@jobs.command("worker")
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker threads."
)
def worker_command(workers: int) -> None:
    """Run the jobs: worker threads and the periodic schedule, until Ctrl-C."""
    from .. import jobs as engine

    engine.start_worker(current_app._get_current_object(), workers=workers)


@jobs.command("status")
def status_command() -> None:
    """Queue depth, scheduled tasks, failed runs and the last run of each periodic job."""
    from .. import jobs as engine

    for line in status_lines(engine.overview()):
        click.echo(line)


@jobs.command("run")
@click.argument("name")
def run_command(name: str) -> None:
    """Enqueue one extra run of the periodic job NAME for the worker."""
    from .. import jobs as engine

    if name not in engine.JOBS:
        raise click.ClickException(f"No periodic job {name!r}; one of: {', '.join(engine.JOBS)}.")
    engine.run_now(name)
    click.echo(f"Enqueued {name}.")


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "-"


def status_lines(overview: dict) -> list[str]:
    queue = overview["queue"]
    lines = [f"Storage: {overview['backend']} ({overview['url']})"]
    if not queue["available"]:
        lines.append(f"Storage unreachable: {queue['error']}")
    lines.append(f"Queued: {queue['pending']}  Scheduled: {queue['scheduled']}")
    lines += [f"  queued     {name}" for name in queue["pending_tasks"]]
    lines += [f"  scheduled  {name} at {_when(eta)}" for name, eta in queue["scheduled_tasks"]]
    lines.append("Periodic jobs (last run):")
    for row in overview["jobs"]:
        run = row["last_run"]
        last = "never" if run is None else f"{_when(run.started_at)} {run.status}"
        detail = "" if run is None else f" - {run.error or run.summary}"
        lines.append(f"  {row['job'].name:<28} every {row['every']:>3} min  {last}{detail}")
    lines.append(f"Failed runs (latest {len(overview['failures'])}):")
    lines += [f"  {_when(run.started_at)} {run.name}: {run.error}" for run in overview["failures"]]
    return lines
