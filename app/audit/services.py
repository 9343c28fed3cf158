"""Write and read the audit trail. Callers commit; an event joins the change's transaction."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .. import clock
from ..errors import NotAllowed
from ..extensions import db
from ..i18n import _
from .models import AuditEvent

if TYPE_CHECKING:
    from ..accounts.models import User


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, set | tuple):
        return sorted(_jsonable(item) for item in value)
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Fields whose values differ, as {field: {"before": ..., "after": ...}}."""
    return {
        key: {"before": _jsonable(before.get(key)), "after": _jsonable(after.get(key))}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def record(
    actor: User | None,
    object_type: str,
    object_id: Any,
    action: str,
    *,
    changes: dict | None = None,
    summary: str = "",
) -> AuditEvent:
    event = AuditEvent(
        occurred_at=clock.now(),
        actor_id=actor.id if actor else None,
        object_type=object_type,
        object_id=str(object_id),
        action=action,
        changes=_jsonable(changes or {}),
        summary=summary[:255],
    )
    db.session.add(event)
    return event


def record_many(
    actor: User | None, object_type: str, action: str, summaries: dict[Any, str]
) -> None:
    """One event per object (id → summary), written in one statement: the ORM would insert
    them one by one to learn their ids, which nobody needs here."""
    if summaries:
        now = clock.now()
        db.session.execute(
            sa.insert(AuditEvent),
            [
                {
                    "occurred_at": now,
                    "actor_id": actor.id if actor else None,
                    "object_type": object_type,
                    "object_id": str(object_id),
                    "action": action,
                    "changes": {},
                    "summary": summary[:255],
                }
                for object_id, summary in summaries.items()
            ],
        )


def audit_query(
    viewer: User,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    actor_email: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> sa.Select:
    if not viewer.has_role("admin"):
        raise NotAllowed(_("Only administrators may browse the audit trail."))
    query = sa.select(AuditEvent).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id:
        query = query.where(AuditEvent.object_id == object_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor_email:
        query = query.where(AuditEvent.actor.has(email=actor_email.strip().lower()))
    if since:
        query = query.where(AuditEvent.occurred_at >= since)
    if until:
        query = query.where(AuditEvent.occurred_at < until)
    return query


def object_types() -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)
        )
    )


def history(object_type: str, object_id: Any) -> list[AuditEvent]:
    """Events of one object, newest first (for pages that show an object's history)."""
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        )
    )
