"""Load seeds/ (YAML data files) idempotently: what exists is left as it is."""

from __future__ import annotations

from pathlib import Path

import yaml

from .accounts import services as accounts
from .config import ROOT
from .extensions import db


def read_yaml(directory: Path, name: str) -> list[dict]:
    path = directory / name
    if not path.exists():
        return []
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def load_seeds(directory: str | None = None) -> list[str]:
    folder = Path(directory) if directory else ROOT / "seeds"
    report = []
    created_groups = 0
    for item in read_yaml(folder, "groups.yaml"):
        if accounts.find_group_by_name(item["name"]) is None:
            accounts.save_group(
                None, name=item["name"], description=item.get("description", ""), commit=False
            )
            created_groups += 1
    db.session.flush()
    report.append(f"groups: {created_groups} created")
    created_users = 0
    for item in read_yaml(folder, "users.yaml"):
        if accounts.find_user_by_email(item["email"]) is not None:
            continue
        group_ids = [accounts.find_group_by_name(name).id for name in item.get("groups", [])]
        accounts.create_user(
            None,
            email=item["email"],
            name=item["name"],
            password=item["password"],
            roles=item["roles"],
            group_ids=group_ids,
            support_tier=item.get("tier"),
            commit=False,
        )
        created_users += 1
    report.append(f"users: {created_users} created")
    db.session.commit()
    return report
