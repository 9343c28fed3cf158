"""Command line for operators and scripts: flask seed, flask users ..., flask outbox ..."""

from __future__ import annotations

import click
from flask import Flask

from .accounts import services as accounts
from .accounts.models import Role
from .errors import DomainError
from .extensions import db


def _fail(error: DomainError) -> None:
    details = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.fields.items())
    raise click.ClickException(f"{error.message} {details}".strip())


def register(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(users)
    app.cli.add_command(outbox)


@click.command("seed")
@click.option("--dir", "directory", default=None, help="Folder of seed files (default: seeds/).")
def seed_command(directory: str | None) -> None:
    """Load the demo users, groups and catalog; running it again changes nothing."""
    from .seeding import load_seeds

    try:
        report = load_seeds(directory)
    except DomainError as error:
        db.session.rollback()
        _fail(error)
    for line in report:
        click.echo(line)


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
            accounts.update_user(None, existing.id, email=email, password=password, **fields)
            click.echo(f"Updated {accounts.normalise_email(email)}")
        else:
            accounts.create_user(None, email=email, password=password, **fields)
            click.echo(f"Created {accounts.normalise_email(email)}")
    except DomainError as error:
        db.session.rollback()
        _fail(error)


def _group_id(name: str) -> int:
    group = accounts.find_group_by_name(name) or accounts.save_group(None, name=name, commit=False)
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
        _, plaintext = accounts.create_token(None, user.id, label)
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
