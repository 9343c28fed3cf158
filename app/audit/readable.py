"""The audit trail in words a person reads: field labels instead of column names, names instead
of ids, Yes/No, dates and amounts instead of Python or JSON values.

Audit is a bottom domain and knows no other's fields, so each domain registers its own: the
labels of its fields (`register_labels`) and, for fields that hold ids, how to find the names
of many ids at once (`register_names`). `describe` turns a page of events into rows with one
query per kind of name, however many events there are."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ..i18n import _
from ..labels import LABELS as VALUE_LABELS
from ..labels import capital_label

Namer = Callable[[set[int]], dict[int, str]]

LABELS: dict[str, Any] = {}  # field → label (a lazy string)
NAMERS: dict[str, Namer] = {}  # field holding an id or ids → names of many ids at once
MONEY_FIELDS: set[str] = set()
VALUES: dict[str, dict[str, Any]] = {}  # field → {stored value: label}, e.g. a role's name

ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")
MAX_TEXT = 300


def register_labels(labels: dict[str, Any], *, money: Iterable[str] = ()) -> None:
    LABELS.update(labels)
    MONEY_FIELDS.update(money)


def register_values(field: str, labels: dict[str, Any]) -> None:
    VALUES.setdefault(field, {}).update(labels)


def register_names(field: str, namer: Namer) -> None:
    NAMERS[field] = namer


@dataclass(frozen=True)
class Change:
    """One changed field: its label and the values before and after (None when the event
    records a value, not a change)."""

    label: str
    before: str | None
    after: str


def label_of(field: str) -> str:
    if field in LABELS:
        return str(LABELS[field])
    if field in VALUE_LABELS:  # a key that is a stored value, e.g. a priority: "Critical"
        return capital_label(field)
    words = field.removesuffix("_id").removesuffix("_ids").replace("_", " ")
    return words[:1].upper() + words[1:]


def describe(events: Iterable[Any]) -> dict[int, list[Change]]:
    """Each event's changes in words, by event id."""
    events = list(events)
    names = _names(events)
    described = {}
    for event in events:
        changes = [
            _change(field, value, names.get(field, {}))
            for field, value in (event.changes or {}).items()
        ]
        if all(_is_change(value) and value["before"] is None for value in event.changes.values()):
            # a creation: nothing was there before, so only the values it began with
            changes = [Change(change.label, None, change.after) for change in changes]
        described[event.id] = changes
    return described


def _names(events: list[Any]) -> dict[str, dict[int, str]]:
    wanted: dict[str, set[int]] = {}
    for event in events:
        for field, value in (event.changes or {}).items():
            if field not in NAMERS:
                continue
            sides = (value.get("before"), value.get("after")) if _is_change(value) else (value,)
            for side in sides:
                wanted.setdefault(field, set()).update(_ids(side))
    return {field: NAMERS[field](ids) if ids else {} for field, ids in wanted.items()}


def _ids(value: Any) -> set[int]:
    items = value if isinstance(value, list) else [value]
    return {item for item in items if isinstance(item, int) and not isinstance(item, bool)}


def _is_change(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"before", "after"}


def _change(field: str, value: Any, names: dict[int, str]) -> Change:
    if _is_change(value):
        before, after = value["before"], value["after"]
        if before is None and isinstance(after, bool):
            before = False  # a flag that was never set was off
        return Change(
            label_of(field), readable(field, before, names), readable(field, after, names)
        )
    return Change(label_of(field), None, readable(field, value, names))


def readable(field: str, value: Any, names: dict[int, str] | None = None) -> str:
    """One stored value as text: none, Yes/No, a name for an id, a date, an amount, a list."""
    names = names or {}
    if value is None or value == "" or value == [] or value == {}:
        return str(_("none"))
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if field in NAMERS and isinstance(value, int):
        return names.get(value, f"#{value}")
    if field in MONEY_FIELDS:
        return _money(value)
    if isinstance(value, str) and value in VALUES.get(field, {}):
        return str(VALUES[field][value])
    if isinstance(value, str):
        return _moment(value) if ISO_MOMENT.match(value) else _shorten(value)
    if isinstance(value, list):
        return _shorten(", ".join(_item(field, item, names) for item in value))
    if isinstance(value, dict):
        return _shorten(
            "; ".join(f"{label_of(key)}: {readable(key, item)}" for key, item in value.items())
        )
    return str(value)


def _item(field: str, item: Any, names: dict[int, str]) -> str:
    """A list's item: a name for an id, the label (or key) of an object such as an option."""
    if isinstance(item, dict):
        return str(item.get("label") or item.get("name") or item.get("key") or readable("", item))
    return readable(field, item, names)


def _money(value: Any) -> str:
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def _moment(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
