"""Load seeds/ (YAML data files) idempotently: groups, users, then the demo catalog.

Groups and users that exist are left as they are. The catalog (seeds/catalog.yaml, in the
catalog-as-code format of app/catalog/exchange/) is imported by offer code, so a second
run reports every offer "unchanged" and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from .. import unit_of_work
from ..accounts import services as accounts
from ..accounts.models import SYSTEM
from ..config import ROOT
from ..extensions import db
from ..notifications.services import silenced
from .status import load_status_seeds
from .support import load_support_seeds

CATALOG_FILE = "catalog.yaml"


def read_yaml(directory: Path, name: str) -> list[dict]:
    path = directory / name
    if not path.exists():
        return []
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def seed_folder(directory: str | Path | None = None) -> Path:
    return Path(directory) if directory else ROOT / "seeds"


def load_groups(folder: Path) -> str:
    created = 0
    for item in read_yaml(folder, "groups.yaml"):
        if accounts.find_group_by_name(item["name"]) is None:
            accounts.save_group(SYSTEM, name=item["name"], description=item.get("description", ""))
            created += 1
    db.session.flush()
    return f"groups: {created} created"


def load_users(folder: Path) -> str:
    created = 0
    for item in read_yaml(folder, "users.yaml"):
        if accounts.find_user_by_email(item["email"]) is not None:
            continue
        group_ids = [accounts.find_group_by_name(name).id for name in item.get("groups", [])]
        accounts.create_user(
            SYSTEM,
            email=item["email"],
            name=item["name"],
            password=item["password"],
            roles=item["roles"],
            group_ids=group_ids,
            support_tier=item.get("tier"),
        )
        created += 1
    db.session.flush()
    return f"users: {created} created"


def load_group_managers(folder: Path) -> str:
    """The managers seeds/groups.yaml names, set on a group that has none yet (a group whose
    managers an admin chose is left as it is)."""
    from ..accounts.services import groups

    changed = 0
    for item in read_yaml(folder, "groups.yaml"):
        group = accounts.find_group_by_name(item["name"])
        if group is None or group.managers or not item.get("managers"):
            continue
        groups.set_managers_by_email(SYSTEM, group.id, item["managers"])
        changed += 1
    db.session.flush()
    return f"group managers: {changed} groups set"


def load_integrations(folder: Path) -> str:
    """The integrations the demo's automatic steps call (seeds/integrations.yaml), created as
    the system when missing. One whose URL INTEGRATION_ALLOWED_HOSTS refuses is skipped (the
    catalog import then reports the offers whose steps name it as refused)."""
    from ..errors import ValidationFailed
    from ..integrations.services import integrations

    created, skipped = 0, []
    for item in read_yaml(folder, "integrations.yaml"):
        if integrations.find_by_name(item["name"]) is not None:
            continue
        try:
            integrations.create_integration(SYSTEM, **item)
        except ValidationFailed as error:
            skipped.append(f"{item['name']} ({'; '.join(sum(error.fields.values(), []))})")
            continue
        created += 1
    db.session.flush()
    line = f"integrations: {created} created"
    return line + (f"; skipped {', '.join(skipped)}" if skipped else "")


def load_catalog(folder: Path, *, progress: Callable[[str], None] | None = None) -> list[str]:
    """Import seeds/catalog.yaml as the system (SYSTEM acts); the report's summary lines. The
    caller commits."""
    from ..catalog.exchange import import_catalog, parse_yaml

    path = folder / CATALOG_FILE
    if not path.exists():
        return []
    data, lines = parse_yaml(path.read_text(encoding="utf-8"))
    report = import_catalog(SYSTEM, data, lines=lines, progress=progress)
    offers = report["summary"]
    parts = [
        f"{report[name]['created']} {name} created"
        for name in ("categories", "products", "releases", "articles")
        if report[name]["created"]
    ]
    return [
        f"catalog: {offers['created']} offers created, {offers['updated']} updated, "
        f"{offers['unchanged']} unchanged" + (f" ({', '.join(parts)})" if parts else "")
    ]


def load_seeds(
    directory: str | None = None, *, progress: Callable[[str], None] | None = None
) -> list[str]:
    """Groups, users, then the catalog, in one transaction: a failure leaves nothing behind."""
    folder = seed_folder(directory)
    report = [load_groups(folder), load_users(folder), load_group_managers(folder)]
    report.append(load_integrations(folder))
    with silenced():  # a catalog that was there before its users: history, not news
        report += load_catalog(folder, progress=progress)
    unit_of_work.commit()
    report += load_status_seeds(folder)  # metrics, demo usage, notices (commits itself)
    report += load_support_seeds(folder)  # articles, demo requests (commits itself)
    return report
