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


def commit() -> None:
    db.session.commit()


def on_commit(action: Callable[[], None]) -> None:
    db.session.info.setdefault(_COMMIT, []).append(action)


def on_rollback(action: Callable[[], None]) -> None:
    db.session.info.setdefault(_ROLLBACK, []).append(action)


def _run(session: Session, key: str, *, drop: str) -> None:
    session.info.pop(drop, None)
    for action in session.info.pop(key, []):
        action()


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    _run(session, _COMMIT, drop=_ROLLBACK)


@sa.event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction ended
        _run(session, _ROLLBACK, drop=_COMMIT)
