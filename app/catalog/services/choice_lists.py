"""Choice lists: named lists of choices catalog managers keep (cost centres, locations), which
an order-form choice field takes with `"choice_list": "<name>"`. A list of more than
`INLINE_LIMIT` entries is never put in a page whole: the form searches it as one types."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from ... import clock
from ... import validation as check
from ...accounts.models import User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import Conflict, NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _
from ...inputs import search_text
from ..models import EDITABLE_STATUSES, LIVE_STATUSES, ChoiceList, ChoiceListEntry, ServiceOffer
from .access import CATALOG_ROLES

INLINE_LIMIT = 50  # up to this many entries a form shows them all; beyond, it searches
SEARCH_LIMIT = 20
MAX_ENTRIES = 20_000
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,59}$")


def _require_manager(actor: User | None) -> None:
    require_role(actor, *CATALOG_ROLES, message=_("Only catalog managers manage choice lists."))


def all_choice_lists() -> list[tuple[ChoiceList, int]]:
    """Every list with its number of entries, by name."""
    count = (
        sa.select(sa.func.count(ChoiceListEntry.id))
        .where(ChoiceListEntry.list_id == ChoiceList.id)
        .scalar_subquery()
    )
    return [
        (row[0], row[1])
        for row in db.session.execute(sa.select(ChoiceList, count).order_by(ChoiceList.name))
    ]


def find_choice_list(name: str) -> ChoiceList | None:
    return db.session.scalar(sa.select(ChoiceList).where(ChoiceList.name == name))


def get_choice_list(name: str) -> ChoiceList:
    found = find_choice_list(name) if isinstance(name, str) else None
    if found is None:
        raise NotFound(_("No such choice list."))
    return found


def entry_count(name: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(ChoiceListEntry.id))
        .join(ChoiceList, ChoiceList.id == ChoiceListEntry.list_id)
        .where(ChoiceList.name == name)
    )


def choice_list_has(name: str, value: str) -> bool:
    return (
        db.session.scalar(
            sa.select(ChoiceListEntry.id)
            .join(ChoiceList, ChoiceList.id == ChoiceListEntry.list_id)
            .where(ChoiceList.name == name, ChoiceListEntry.value == value.strip())
            .limit(1)
        )
        is not None
    )


def inline_entries(name: str) -> list[ChoiceListEntry] | None:
    """The entries a form shows whole, or None when the list is long (the form searches it)."""
    entries = list(
        db.session.scalars(
            sa.select(ChoiceListEntry)
            .join(ChoiceList, ChoiceList.id == ChoiceListEntry.list_id)
            .where(ChoiceList.name == name)
            .order_by(ChoiceListEntry.position, ChoiceListEntry.id)
            .limit(INLINE_LIMIT + 1)
        )
    )
    return entries if len(entries) <= INLINE_LIMIT else None


def search_entries(name: str, matching: str, limit: int = SEARCH_LIMIT) -> tuple[list, bool]:
    """Entries of a list with `matching` in their value or label, at most `limit`, in SQL; the
    flag says whether more matched."""
    choice_list = get_choice_list(name)
    query = sa.select(ChoiceListEntry).where(ChoiceListEntry.list_id == choice_list.id)
    text = search_text(matching)
    if text:
        query = query.where(
            sa.or_(
                ChoiceListEntry.value.icontains(text, autoescape=True),
                ChoiceListEntry.label.icontains(text, autoescape=True),
            )
        )
    found = list(
        db.session.scalars(
            query.order_by(ChoiceListEntry.position, ChoiceListEntry.id).limit(limit + 1)
        )
    )
    return found[:limit], len(found) > limit


def _entries(errors: check.Errors, raw: Any) -> list[tuple[str, str]]:
    """Entries as a list of {"value", "label"} (API, YAML) or text, one "value | label" a line."""
    if isinstance(raw, str):
        raw = [
            dict(
                zip(("value", "label"), (part.strip() for part in line.split("|", 1)), strict=False)
            )
            for line in raw.splitlines()
            if line.strip()
        ]
    if not isinstance(raw, list):
        check.add(errors, "entries", _("Give the entries as a list."))
        return []
    if len(raw) > MAX_ENTRIES:
        check.add(errors, "entries", _("Keep a list to %(count)s entries.", count=MAX_ENTRIES))
        return []
    cleaned, seen = [], set()
    for number, item in enumerate(raw, start=1):
        item = {"value": item} if isinstance(item, str) else item
        value = str(item.get("value") or "").strip() if isinstance(item, dict) else ""
        label = str(item.get("label") or "").strip() if isinstance(item, dict) else ""
        if not value or len(value) > 120 or len(label) > 200:
            check.add(
                errors,
                "entries",
                _("Entry %(number)s needs a value of up to 120 characters.", number=number),
            )
            continue
        if value in seen:
            check.add(errors, "entries", _("“%(value)s” is listed twice.", value=value[:60]))
            continue
        seen.add(value)
        cleaned.append((value, label if label != value else ""))
    return cleaned


def save_choice_list(
    actor: User | None, data: dict, *, name: str | None = None, partial: bool = False
) -> ChoiceList:
    """Create a list (name given in `data`) or replace the label, description and entries of
    the list called `name` (with `partial`, missing fields keep their value)."""
    _require_manager(actor)
    existing = get_choice_list(name) if name is not None else None
    errors: check.Errors = {}
    if existing is None:
        new_name = str(data.get("name") or "").strip()
        if not NAME_RE.match(new_name):
            check.add(
                errors,
                "name",
                _("Use lower-case letters, digits and hyphens, starting with a letter."),
            )
        elif find_choice_list(new_name) is not None:
            check.add(errors, "name", _("A choice list called “%(name)s” exists.", name=new_name))
    source = {"label": existing.label, "description": existing.description} if existing else {}
    if partial and existing is not None and "entries" not in data:
        source["entries"] = [{"value": e.value, "label": e.label} for e in existing.entries]
    source.update(data)
    label = check.text(errors, "label", source.get("label"), required=True, max_length=120)
    description = check.text(errors, "description", source.get("description"), max_length=2000)
    entries = _entries(errors, source.get("entries") or [])
    if errors:
        raise ValidationFailed(_("The choice list was not saved."), fields=errors)
    choice_list = existing or ChoiceList(name=new_name, created_at=clock.now())
    if existing is not None:  # the old entries go before the new ones (values are unique)
        existing.entries.clear()
        db.session.flush()
    choice_list.label, choice_list.description = label, description
    choice_list.updated_at = clock.now()
    choice_list.entries = [
        ChoiceListEntry(value=value, label=entry_label, position=index)
        for index, (value, entry_label) in enumerate(entries)
    ]
    db.session.add(choice_list)
    db.session.flush()
    audit.record(
        actor,
        "choice_list",
        choice_list.id,
        "updated" if existing else "created",
        summary=f"{choice_list.name}: {len(entries)} entries",
    )
    return choice_list


def offers_using(name: str) -> list[str]:
    """Codes of the offers (being edited or live) whose order form takes the list."""
    codes = []
    for offer in db.session.scalars(
        sa.select(ServiceOffer).where(ServiceOffer.status.in_(EDITABLE_STATUSES + LIVE_STATUSES))
    ):
        if any(option.get("choice_list") == name for option in offer.options or []):
            codes.append(offer.code)
    return sorted(set(codes))


def delete_choice_list(actor: User | None, name: str) -> None:
    _require_manager(actor)
    choice_list = get_choice_list(name)
    used = offers_using(name)
    if used:
        raise Conflict(
            _("The order forms of %(codes)s take this list.", codes=", ".join(used)),
            fields={"name": [_("Still in use.")]},
        )
    audit.record(actor, "choice_list", choice_list.id, "deleted", summary=choice_list.name)
    db.session.delete(choice_list)
    db.session.flush()


def unknown_lists(options: list[dict]) -> dict[str, list[str]]:
    """Field errors for order-form fields naming a choice list that does not exist."""
    errors: dict[str, list[str]] = {}
    for index, option in enumerate(options):
        name = option.get("choice_list")
        if name and find_choice_list(name) is None:
            errors[f"options.{index}.choice_list"] = [
                _("No choice list is called “%(name)s”.", name=name[:60])
            ]
    return errors
