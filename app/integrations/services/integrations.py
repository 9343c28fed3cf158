"""Integrations: named outbound endpoints (admin only). The secret is write-only: encrypted at
rest, never returned, never logged, never in the audit trail (the audit says it changed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from ... import clock
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ...inputs import whole_number
from ..models import Integration, IntegrationKind, MessageFormat
from . import secrets

MAX_NAME = 120
MAX_URL = 2000
MAX_SECRET = 500
TIMEOUT_RANGE = (1, 60)
ATTEMPTS_RANGE = (1, 10)
AUDITED = ("name", "kind", "url", "timeout_seconds", "max_attempts", "format")


@dataclass(frozen=True)
class Created:
    integration: Integration
    secret: str | None  # the generated secret, shown this once; None when the admin gave it


def require_admin(actor: User | None) -> None:
    require_role(actor, Role.ADMIN, message=_("Only administrators manage integrations."))


def allowed_hosts() -> list[str]:
    text = current_app.config.get("INTEGRATION_ALLOWED_HOSTS") or ""
    return [host.strip().lower() for host in text.split(",") if host.strip()]


def host_allowed(host: str) -> bool:
    """Any host when INTEGRATION_ALLOWED_HOSTS is empty; else one listed, or a subdomain of an
    entry written `.example.com`."""
    listed = allowed_hosts()
    host = host.lower().rstrip(".")
    return not listed or any(
        host == entry or (entry.startswith(".") and host.endswith(entry)) for entry in listed
    )


def url_problem(url: str) -> str | None:
    """Why an outbound URL is refused, or None."""
    if not url:
        return _("Enter the URL.")
    if len(url) > MAX_URL:
        return _("Keep the URL to %(MAX_URL)s characters.", MAX_URL=MAX_URL)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return _("Enter a valid URL.")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Use an http:// or https:// URL with a host.")
    if parts.username is not None or parts.password is not None:
        return _("Do not put credentials in the URL: use the secret.")
    if not host_allowed(parts.hostname):
        return _(
            "The host %(hostname)s is not in INTEGRATION_ALLOWED_HOSTS.", hostname=parts.hostname
        )
    return None


def _bounded(value: Any, bounds: tuple[int, int], label: str) -> tuple[int | None, str | None]:
    number = whole_number(value, minimum=bounds[0], maximum=bounds[1])
    if number is None:
        return None, f"{label} must be a whole number from {bounds[0]} to {bounds[1]}."
    return number, None


def _text_errors(values: dict, integration_id: int | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    name = values["name"]
    if not name:
        errors["name"] = [_("Enter a name.")]
    elif len(name) > MAX_NAME:
        errors["name"] = [_("Keep the name to %(MAX_NAME)s characters.", MAX_NAME=MAX_NAME)]
    else:
        clash = find_by_name(name)
        if clash is not None and clash.id != integration_id:
            errors["name"] = [_("Another integration already has this name.")]
    if values["kind"] not in {kind.value for kind in IntegrationKind}:
        errors["kind"] = [_("Choose webhook or awx.")]
    if values["format"] not in {item.value for item in MessageFormat}:
        errors["format"] = [_("Choose json, slack or teams.")]
    elif values["kind"] == IntegrationKind.AWX and values["format"] != MessageFormat.JSON:
        errors["format"] = [_("An AWX integration sends JSON.")]
    problem = url_problem(values["url"])
    if problem:
        errors["url"] = [problem]
    return errors


def _validated(values: dict, integration_id: int | None) -> dict:
    errors = _text_errors(values, integration_id)
    for key, bounds, label in (
        ("timeout_seconds", TIMEOUT_RANGE, _("The timeout")),
        ("max_attempts", ATTEMPTS_RANGE, _("Max attempts")),
    ):
        values[key], problem = _bounded(values[key], bounds, label)
        if problem:
            errors[key] = [problem]
    secret = values.get("secret")
    if secret is not None and not (1 <= len(secret) <= MAX_SECRET):
        errors["secret"] = [
            _("Use 1 to %(MAX_SECRET)s characters, or leave it empty.", MAX_SECRET=MAX_SECRET)
        ]
    if errors:
        raise ValidationFailed(_("The integration has invalid fields."), fields=errors)
    return values


def _clean(fields: dict, current: Integration | None) -> dict:
    def text(key: str, default: str = "") -> str:
        if key in fields and fields[key] is not None:
            return str(fields[key]).strip()
        return getattr(current, key) if current is not None else default

    values = {
        "name": text("name"),
        "kind": text("kind", IntegrationKind.WEBHOOK.value),
        "url": text("url"),
        "format": text("format", MessageFormat.JSON.value),
    }
    for key, default in (("timeout_seconds", 10), ("max_attempts", 5)):
        given = fields.get(key)
        values[key] = given if given not in (None, "") else getattr(current, key, default)
    secret = fields.get("secret")
    values["secret"] = secret if secret not in (None, "") else None
    return values


def _snapshot(integration: Integration) -> dict:
    return {key: getattr(integration, key) for key in AUDITED}


def find_by_name(name: str) -> Integration | None:
    return db.session.scalar(sa.select(Integration).where(Integration.name == name))


def get_integration(actor: User, integration_id: int) -> Integration:
    require_admin(actor)
    integration = get_by_id(Integration, integration_id)
    if integration is None:
        raise NotFound(_("No such integration."))
    return integration


def list_integrations(actor: User) -> list[Integration]:
    require_admin(actor)
    return list(db.session.scalars(sa.select(Integration).order_by(Integration.name)))


def create_integration(actor: User, **fields) -> Created:
    require_admin(actor)
    values = _validated(_clean(fields, None), None)
    generated = None if values["secret"] else secrets.generate()
    secret = values.pop("secret") or generated
    integration = Integration(**values, secret_encrypted=secrets.encrypt(secret))
    db.session.add(integration)
    db.session.flush()
    changes = {
        key: {"before": None, "after": value} for key, value in _snapshot(integration).items()
    }
    changes["secret"] = {"before": None, "after": "set"}
    audit.record(actor, "integration", integration.id, "created", changes=changes)
    return Created(integration, generated)


def update_integration(actor: User, integration_id: int, **fields) -> Integration:
    integration = get_integration(actor, integration_id)
    before = _snapshot(integration)
    values = _validated(_clean(fields, integration), integration.id)
    secret = values.pop("secret")
    for key, value in values.items():
        setattr(integration, key, value)
    changes = audit.diff(before, _snapshot(integration))
    if secret is not None:
        integration.secret_encrypted = secrets.encrypt(secret)
        changes["secret"] = {"before": "set", "after": "changed"}
    if changes:
        integration.updated_at = clock.now()
        db.session.flush()
        audit.record(actor, "integration", integration.id, "updated", changes=changes)
    return integration


def delete_integration(actor: User, integration_id: int) -> None:
    integration = get_integration(actor, integration_id)
    audit.record(
        actor,
        "integration",
        integration.id,
        "deleted",
        summary=f"Integration {integration.name}",
    )
    db.session.delete(integration)
    db.session.flush()
