"""Choice lists in the catalog file: exported by name with their entries, imported before the
offers (whose order forms may take them) through the same service as the pages and the API."""

from __future__ import annotations

from ...errors import DomainError
from ..services import choice_lists

__all__ = ["apply_choice_lists", "export_choice_lists"]


def _entry(entry) -> str | dict:
    return {"value": entry.value, "label": entry.label} if entry.label else entry.value


def export_choice_lists() -> list[dict]:
    out = []
    for choice_list, _count in choice_lists.all_choice_lists():
        item = {"name": choice_list.name, "label": choice_list.label}
        if choice_list.description:
            item["description"] = choice_list.description
        item["entries"] = [_entry(entry) for entry in choice_list.entries]
        out.append(item)
    return out


def _normalised(entries: list) -> list[tuple[str, str]]:
    pairs = []
    for entry in entries:
        if isinstance(entry, dict):
            value, label = str(entry.get("value") or "").strip(), str(entry.get("label") or "")
        else:
            value, label = str(entry).strip(), ""
        pairs.append((value, label.strip() if label.strip() != value else ""))
    return pairs


def apply_choice_lists(run) -> None:
    """Create or update each list of the file; an unchanged list is counted, not written."""
    counts = run.tally["choice_lists"]
    for index, item in enumerate(run.doc.get("choice_lists") or []):
        existing = choice_lists.find_choice_list(str(item.get("name") or "").strip())
        if existing is not None and (
            existing.label,
            existing.description,
            [(entry.value, entry.label) for entry in existing.entries],
        ) == (item["label"].strip(), item["description"].strip(), _normalised(item["entries"])):
            counts.unchanged += 1
            continue
        data = {
            "name": item.get("name"),
            "label": item["label"],
            "description": item["description"],
            "entries": item["entries"],
        }
        try:
            choice_lists.save_choice_list(
                run.actor, data, name=existing.name if existing is not None else None
            )
        except DomainError as error:
            run.fail(f"choice_lists[{index}]", error)
            continue
        if existing is None:
            counts.created += 1
        else:
            counts.updated += 1
