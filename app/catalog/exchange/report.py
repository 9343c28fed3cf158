"""The report of an import or a dry run: per offer what was (or would be) created, updated or
left unchanged, with each changed field's before and after, the revision written, every
lifecycle transition and every notification sent; counts per kind; printable lines; and a
fingerprint of all of it, which an import can be held to (the dry run it follows)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ...audit.services import _jsonable

KINDS = ("categories", "products", "releases", "articles", "choice_lists")


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def build(
    codes: list[str],
    before: dict[str, dict],
    after: dict[str, dict],
    notes: list[tuple[str, str]],
    tally: dict[str, Counts],
    outcomes: dict | None = None,
) -> dict:
    """Compare the offers' catalog-file items before and after the import, per code, with what
    the import did to each (`outcomes`: code → outcome.Outcome)."""
    offers = []
    counts = Counts()
    for code in dict.fromkeys(codes):
        old, new = before.get(code), after.get(code)
        if old is None:
            action, changes = "create", _diff({}, new or {})
            counts.created += 1
        elif old == new:
            action, changes = "unchanged", {}
            counts.unchanged += 1
        else:
            action, changes = "update", _diff(old, new or {})
            counts.updated += 1
        done = (outcomes or {}).get(code)
        offers.append(
            {
                "code": code,
                "action": action,
                "changes": changes,
                **(done.as_dict() if done is not None else _NOTHING_DONE),
            }
        )
    report = {
        "offers": offers,
        "products_and_releases": [{"action": action, "what": what} for action, what in notes],
        "summary": counts.as_dict(),
        **{kind: tally[kind].as_dict() for kind in KINDS},
    }
    report["fingerprint"] = fingerprint(report)
    return report


_NOTHING_DONE = {"revision": "", "transitions": [], "notifications": []}


def fingerprint(report: dict) -> str:
    """A digest of everything the report says will change, to hold an import to its dry run."""
    said = {key: report[key] for key in ("offers", "products_and_releases", *KINDS)}
    text = json.dumps(said, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _diff(before: dict, after: dict) -> dict:
    return {
        key: {"before": _jsonable(before.get(key)), "after": _jsonable(after.get(key))}
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key)
    }


def _short(value) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _outcome_lines(line: dict, dry: bool) -> list[str]:
    """The revision written, each transition, each notification (in-app and e-mail)."""
    lines = []
    if line.get("revision"):
        lines.append(f"    {'writes' if dry else 'wrote'} {line['revision']}")
    lines += [f"    {step}" for step in line.get("transitions", [])]
    for sent in line.get("notifications", []):
        people = "1 person" if sent["recipients"] == 1 else f"{sent['recipients']} people"
        verb = "notifies" if dry else "notified"
        lines.append(f"    {verb} {people} (in-app and e-mail): {sent['subject']}")
    return lines


def report_lines(report: dict) -> list[str]:
    """Printable lines: one per offer (create / update: fields / unchanged), then counts.
    A dry run says "would" and shows each changed field's before and after."""
    dry = bool(report.get("dry_run"))
    lines = [
        f"{'would ' if dry else ''}{note['action']} {note['what']}"
        for note in report.get("products_and_releases", [])
    ]
    for line in report["offers"]:
        action, code = line["action"], line["code"]
        if action == "unchanged":
            lines.append(f"unchanged {code}")
            continue
        verb = f"would {action}" if dry else action
        if action == "update":
            lines.append(f"{verb} {code}: {', '.join(line['changes'])}")
            if dry:
                lines += [
                    f"    {name}: {_short(change['before'])} → {_short(change['after'])}"
                    for name, change in line["changes"].items()
                ]
        else:
            lines.append(f"{verb} {code}")
        lines += _outcome_lines(line, dry)
    created, updated = ("to create", "to update") if dry else ("created", "updated")
    for part in ("summary", *KINDS):
        counts = report.get(part)
        if counts is None:
            continue
        lines.append(
            f"{'offers' if part == 'summary' else part}: {counts['created']} {created}, "
            f"{counts['updated']} {updated}, {counts['unchanged']} unchanged"
        )
    return lines
