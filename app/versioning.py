"""Optimistic locking for aggregates that people and workers change at the same time.

Each versioned model maps its `version` column as SQLAlchemy's `version_id_col`, so every UPDATE
says `WHERE id = … AND version = …` and bumps the version: of two writers that read the same
version, the second one's UPDATE matches no row. `check_version` refuses a form or API call
that was based on an older version before anything changes; `flush_versioned` turns the race
that slips past it (both read version n at the same moment) into the same refusal. Both say who
changed what since, from the audit trail, whose events for these objects carry the version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from .audit.models import AuditEvent
from .errors import Conflict
from .extensions import db
from .i18n import _
from .inputs import whole_number


def version_change(row: Any) -> dict:
    """The audit `changes` entry for the version this flush will write (version_id_col bumps
    it by one)."""
    return {"version": {"before": row.version, "after": row.version + 1}}


Refusal = Callable[..., Conflict]


def check_version(
    row: Any, expected: Any, *, noun: str, object_type: str, refusal: Refusal | None = None
) -> None:
    """Refuse a change made to `expected`, an older version of `row` than the saved one
    (`refusal` words the Conflict; `stale` by default)."""
    if expected is None:
        return
    number = whole_number(expected)
    if number is None:
        raise Conflict(
            _(
                "The form did not say which version of the %(noun)s you edited. Reload and try again.",
                noun=noun,
            ),
            fields={
                "version": [_("Unknown version: now version %(version)s.", version=row.version)]
            },
        )
    if number != row.version:
        raise (refusal or stale)(row, number, noun=noun, object_type=object_type)


def flush_versioned(
    row: Any, *, noun: str, object_type: str, refusal: Refusal | None = None
) -> None:
    """Flush `row`'s change; if another writer saved it first, refuse with who and what."""
    model, key, read_version = type(row), row.id, row.version
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        saved = db.session.get(model, key, populate_existing=True)
        raise (refusal or stale)(saved, read_version, noun=noun, object_type=object_type) from None


def stale(row: Any, expected: int, *, noun: str, object_type: str) -> Conflict:
    who, fields = changed_since(object_type, row.id, expected)
    people = " and ".join(who) or _("Someone")
    what = ", ".join(fields) or f"the {noun}"
    return Conflict(
        _(
            "%(people)s changed %(what)s since you opened this %(noun)s (your copy is version %(expected)s, the saved one is version %(version)s). Nothing of yours was saved: reload to see their changes, then apply yours again.",
            people=people,
            what=what,
            noun=noun,
            expected=expected,
            version=row.version,
        ),
        fields={"version": [_("Stale: now version %(version)s.", version=row.version)]},
    )


def changed_since(object_type: str, object_id: Any, version: int) -> tuple[list[str], list[str]]:
    """Who changed the object after `version`, and which fields, from its audit events."""
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
        .order_by(AuditEvent.id)
    ).all()
    who: list[str] = []
    fields: list[str] = []
    for event in events:
        after = whole_number((event.changes.get("version") or {}).get("after") or 0) or 0
        if after > version:
            name = event.actor.name if event.actor else "Offerdesk"
            who += [name] if name not in who else []
            fields += [f for f in event.changes if f not in ("version", "updated_at", *fields)]
    return sorted(who), fields


def stale_edit(row: Any, expected: int, *, noun: str, object_type: str) -> Conflict:
    """The refusal of an editor's save: who saved in between, when (the latest save) and which
    fields; the editor shows it above the form it keeps, the API as the problem's detail."""
    events = _events_after(object_type, row.id, expected)
    who = list(dict.fromkeys(_actor_name(event) for event in events)) or ["someone"]
    fields = list(
        dict.fromkeys(
            field
            for event in events
            for field in event.changes
            if field not in ("version", "updated_at")
        )
    )
    when = f" at {events[-1].occurred_at:%Y-%m-%d %H:%M} UTC" if events else ""
    message = _(
        "This %(noun)s was changed since you opened it by %(names)s%(when)s: %(value)s. Nothing of yours was saved.",
        noun=noun,
        names=" and ".join(who),
        when=when,
        value=", ".join(fields) or "its status",
    )
    return Conflict(message, fields={"version": [message]})


def _events_after(object_type: str, object_id: Any, version: int) -> list[AuditEvent]:
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
        .order_by(AuditEvent.id)
    ).all()
    return [
        event
        for event in events
        if (whole_number((event.changes.get("version") or {}).get("after") or 0) or 0) > version
    ]


def _actor_name(event: AuditEvent) -> str:
    return event.actor.name if event.actor else "Offerdesk"
