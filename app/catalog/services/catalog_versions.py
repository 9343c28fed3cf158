"""What a host keeps of the catalog between requests (the category tree, the number of visible
offers) and how it knows that it still holds, on any number of hosts: each part of the catalog
has a marker (`catalog_versions`), and a transaction that ran an INSERT, UPDATE or DELETE on
that part's tables sets a new random one as it commits (an engine event notes the part, so ORM
flushes, bulk statements and cascades through the ORM alike; the session's commit writes it).
A page reads the markers (one statement) and uses what this application kept under them, or
computes it and keeps it. Written at the commit, not at the write: a marker row locked from a
transaction's first write to its commit would make two catalog writers touching the same
offers in different orders deadlock, where without it the second only waits.

Random markers rather than a counter: a write that is rolled back leaves the old marker, and
its own marker is never seen again, so nothing computed inside it can be taken for the truth.
The marker is read before what it guards, so a change committed in between is at worst kept
under the older marker, which the next request no longer sees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ...extensions import db
from ..models import CatalogVersion

# table → the part of the catalog whose kept figures a write to it changes
WATCHED = {
    "categories": "categories",
    "service_offers": "offers",
    "offer_audience": "offers",
    "offer_settings": "offers",  # the canary flag
    "bundle_members": "offers",
    "consumer_groups": "offers",  # a deleted group takes its audience rows (ON DELETE CASCADE)
}
WRITTEN = "catalog_versions.written"  # connection.info: the parts this transaction wrote
CONNECTION = "catalog_versions.connection"  # session.info: the transaction's connection
KEPT_PER_PART = 1024  # entries per part and application; all dropped past that


def _new_marker(connection: sa.Connection, part: str) -> None:
    insert = (postgresql if connection.dialect.name == "postgresql" else sqlite).insert
    statement = insert(CatalogVersion.__table__).values(part=part, marker=uuid4().hex)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["part"], set_={"marker": statement.excluded.marker}
        )
    )


def _after_execute(connection, statement, *_args) -> None:
    if not isinstance(statement, sa.sql.dml.UpdateBase):
        return
    part = WATCHED.get(getattr(getattr(statement, "table", None), "name", None))
    if part is not None:
        connection.info.setdefault(WRITTEN, set()).add(part)


def _begin(session: Session, _transaction, connection: sa.Connection) -> None:
    connection.info.pop(WRITTEN, None)  # a pooled connection's notes of an earlier transaction
    session.info[CONNECTION] = connection


def _mark_on_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint released: the transaction's commit writes the markers
    session.flush()  # the commit's own flush comes after this hook
    connection = session.info.pop(CONNECTION, None)
    for part in sorted(connection.info.pop(WRITTEN, ()) if connection is not None else ()):
        _new_marker(connection, part)


def watch_writes() -> None:
    """Connect the events (once per process, whatever the number of apps)."""
    for target, name, listener in (
        (sa.Engine, "after_execute", _after_execute),
        (Session, "after_begin", _begin),
        (Session, "before_commit", _mark_on_commit),
    ):
        if not sa.event.contains(target, name, listener):
            sa.event.listen(target, name, listener)


def read_markers() -> dict[str, str]:
    """Every part's marker as this transaction sees it, in one statement. Read it before what
    it guards, and again in each request (never kept: a write later in the same request would
    change it)."""
    return dict(db.session.execute(sa.select(CatalogVersion.part, CatalogVersion.marker)).all())


def kept(
    part: str,
    markers: dict[str, str],
    key: Any,
    compute: Callable[[], Any],
    holds: Callable[[Any], bool] = lambda _value: True,
) -> Any:
    """compute(), kept by this application under the part's marker and `key` while `holds`
    says it is still true (a value that also depends on the time); without a marker (a
    database whose rows were deleted) it is computed every time."""
    marker = markers.get(part)
    if marker is None:
        return compute()
    parts = current_app.extensions.setdefault("catalog_versions", {})
    held = parts.get(part)
    if held is None or held[0] != marker:
        held = parts[part] = (marker, {})
    entries = held[1]
    if key in entries and holds(entries[key]):
        return entries[key]
    if len(entries) >= KEPT_PER_PART:
        entries.clear()
    value = entries[key] = compute()
    return value
