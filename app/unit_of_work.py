"""The unit of work: services flush, the edge commits.

A web request, a job or a command is one transaction: services change rows and flush, and the
edge calls `commit()` once when the work has succeeded (or lets the session roll back when it
raised). What must only happen once the transaction is durable (files kept, index updates on
another system, messages leaving the process) is registered with `on_commit`; what must be undone
if it rolls back (a file already written) with `on_rollback`.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .extensions import db

_COMMIT = "offerdesk_on_commit"
_ROLLBACK = "offerdesk_on_rollback"
_WROTE = "offerdesk_wrote"


def commit() -> None:
    db.session.commit()


def has_changes() -> bool:
    """Whether this transaction wrote anything, flushed or not. A read-only request neither
    commits nor rolls back, so what it loaded is not expired under the page's feet."""
    session = db.session
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def finish(succeeded: bool) -> None:
    """End a unit of work: commit what it wrote if it succeeded, else undo it."""
    if not has_changes():
        return
    if succeeded:
        commit()
    else:
        db.session.rollback()


def on_commit(action: Callable[[], None]) -> None:
    db.session.info.setdefault(_COMMIT, []).append(action)


def on_rollback(action: Callable[[], None]) -> None:
    db.session.info.setdefault(_ROLLBACK, []).append(action)


def _run(session: Session, key: str, *, drop: str) -> None:
    session.info.pop(_WROTE, None)
    session.info.pop(drop, None)
    for action in session.info.pop(key, []):
        action()


@sa.event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context) -> None:
    session.info[_WROTE] = True


@sa.event.listens_for(Session, "do_orm_execute")
def _on_execute(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT was released: the transaction goes on
        return
    _run(session, _COMMIT, drop=_ROLLBACK)


@sa.event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction ended
        _run(session, _ROLLBACK, drop=_COMMIT)
