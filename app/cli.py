"""Command line for operators and scripts: flask seed, flask analyze, flask users ...,
flask outbox ..., flask catalog export / import."""

from __future__ import annotations

import sys

import click
from flask import Flask

from . import unit_of_work
from .accounts import services as accounts
from .accounts.models import SYSTEM, Role
from .errors import DomainError
from .extensions import db


def _fail(error: DomainError) -> None:
    details = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.fields.items())
    raise click.ClickException(f"{error.message} {details}".strip())


def register(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(analyze_command)
    app.cli.add_command(users)
    app.cli.add_command(outbox)
    app.cli.add_command(catalog_cli)
    from .search.cli import search as search_cli

    app.cli.add_command(search_cli)
    from .subscriptions.cli import subscriptions as subscriptions_cli

    app.cli.add_command(subscriptions_cli)
    from .status.cli import status as status_cli

    app.cli.add_command(status_cli)
    from .support.cli import support as support_cli

    app.cli.add_command(support_cli)
    from .worker.cli import jobs as jobs_cli

    app.cli.add_command(jobs_cli)
    from .notifications.cli import notifications as notifications_cli

    app.cli.add_command(notifications_cli)


@click.command("seed")
@click.option("--dir", "directory", default=None, help="Folder of seed files (default: seeds/).")
def seed_command(directory: str | None) -> None:
    """Load the demo users, groups and catalog; running it again changes nothing."""
    from .demo.seeds import load_seeds

    try:
        report = load_seeds(directory)
    except DomainError as error:
        db.session.rollback()
        _fail_lines(error)
    for line in report:
        click.echo(line)


@click.command("analyze")
def analyze_command() -> None:
    """Refresh the database's planner statistics (ANALYZE); run it after bulk loads on SQLite,
    which never does it by itself."""
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    click.echo(f"Planner statistics refreshed ({db.engine.dialect.name}).")


@click.group()
def users() -> None:
    """Manage users and their API tokens."""


@users.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice([role.value for role in Role]),
    default=["consumer"],
    show_default=True,
)
@click.option("--group", "groups", multiple=True, help="Consumer group name; created when missing.")
@click.option(
    "--tier", type=click.IntRange(1, 3), default=None, help="Support tier for support agents."
)
@click.option(
    "--name", default=None, help="Display name (default: the part of the e-mail before @)."
)
def create_user(
    email: str,
    password: str,
    roles: tuple[str, ...],
    groups: tuple[str, ...],
    tier: int | None,
    name: str | None,
) -> None:
    """Create a user, or update the one with this e-mail."""
    try:
        group_ids = [_group_id(group_name) for group_name in groups]
        existing = accounts.find_user_by_email(email)
        fields = {
            "name": name or (existing.name if existing else email.split("@")[0]),
            "roles": roles,
            "group_ids": group_ids,
            "support_tier": tier,
        }
        if existing:
            accounts.update_user(SYSTEM, existing.id, email=email, password=password, **fields)
            click.echo(f"Updated {accounts.normalise_email(email)}")
        else:
            accounts.create_user(SYSTEM, email=email, password=password, **fields)
            click.echo(f"Created {accounts.normalise_email(email)}")
        unit_of_work.commit()
    except DomainError as error:
        db.session.rollback()
        _fail(error)


def _group_id(name: str) -> int:
    group = accounts.find_group_by_name(name) or accounts.save_group(SYSTEM, name=name)
    return group.id


@users.command("token")
@click.argument("email")
@click.option("--label", default="command line", show_default=True)
def create_token(email: str, label: str) -> None:
    """Print a new API token for EMAIL, alone on its line."""
    user = accounts.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}.")
    try:
        _, plaintext = accounts.create_token(SYSTEM, user.id, label)
        unit_of_work.commit()
    except DomainError as error:
        db.session.rollback()
        _fail(error)
    click.echo(plaintext)


@click.group()
def outbox() -> None:
    """The e-mail outbox."""


@outbox.command("send")
def send_outbox() -> None:
    """Send pending e-mails (needs MAIL_SERVER)."""
    from .notifications.services import mail_enabled
    from .notifications.services import send_outbox as send

    if not mail_enabled():
        raise click.ClickException("MAIL_SERVER is not set: e-mails stay in the outbox.")
    sent, failed = send()
    click.echo(f"Sent {sent}, failed {failed}.")


# --- catalog as code -----------------------------------------------------------------------


def _fail_lines(error: DomainError) -> None:
    """One problem a line (`offers[3].price: line 57: ...`), for files with many items."""
    lines = [error.message] + [
        f"  {name}: {message}" for name, messages in error.fields.items() for message in messages
    ]
    raise click.ClickException("\n".join(lines))


@click.group("catalog")
def catalog_cli() -> None:
    """Export and import the catalog as YAML (catalog as code)."""


@catalog_cli.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to this file instead of standard output.",
)
def export_catalog_command(output: str | None) -> None:
    """Write the whole catalog as YAML."""
    from .catalog.exchange import dump_yaml, export_catalog

    data = export_catalog(SYSTEM)
    text = dump_yaml(data)
    if output is None:
        click.echo(text, nl=False)
        return
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(text)
    click.echo(f"Exported {len(data['offers'])} offers to {output}.")


@catalog_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--dry-run", is_flag=True, help="Show what would change; save nothing.")
def import_catalog_command(file, dry_run: bool) -> None:
    """Create or update offers from a catalog YAML FILE ("-" for standard input)."""
    from .catalog.exchange import import_catalog, parse_yaml

    try:
        data, lines = parse_yaml(file.read())
        total = len(data.get("offers") or []) if isinstance(data, dict) else 0
        with click.progressbar(
            length=total,
            label="Dry run" if dry_run else "Importing",
            file=sys.stderr,
        ) as bar:
            report = import_catalog(
                SYSTEM, data, dry_run=dry_run, lines=lines, progress=lambda _code: bar.update(1)
            )
        unit_of_work.commit()
    except DomainError as error:
        db.session.rollback()
        _fail_lines(error)
    for line in report["lines"]:
        click.echo(line)
    if dry_run:
        click.echo("Dry run: nothing was saved.")
