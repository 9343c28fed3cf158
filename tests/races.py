"""Orders that race: each on its own thread, connection and session, all let go together at
their first write, so every one has read the same committed state before any writes."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from app import unit_of_work
from app.accounts.models import User
from app.errors import InvalidTransition
from app.extensions import db
from app.subscriptions import services as subs


def orders_racing_at_first_write(
    app, user_id: int, offer_id: int, keys: list[str], options: dict
) -> dict[str, str]:
    """Each key's order: "ordered", the refusal's message, or the repr of anything else."""
    barrier = threading.Barrier(len(keys))
    outcomes: dict[str, str] = {}
    waited: set[str] = set()

    def all_have_read(conn, cursor, statement, parameters, context, executemany):
        name = threading.current_thread().name
        if name in keys and name not in waited and not _reads(statement):
            waited.add(name)
            barrier.wait(timeout=60)

    def order(key: str) -> None:
        with app.app_context():
            try:
                subs.subscribe(
                    db.session.get(User, user_id),
                    offer_id,
                    options=options,
                    accept_terms=True,
                    idempotency_key=key,
                )
                unit_of_work.commit()
                outcomes[key] = "ordered"
            except InvalidTransition as error:
                db.session.rollback()
                outcomes[key] = error.message
            except Exception as error:  # noqa: BLE001 - the test reports any other failure
                db.session.rollback()
                outcomes[key] = repr(error)
            finally:
                db.session.remove()

    old_pool = db.engine.pool
    pool = old_pool.recreate()
    pool._max_overflow = len(keys) * 2  # every racer holds its own connection at the barrier
    db.engine.pool = pool
    sa.event.listen(db.engine, "before_cursor_execute", all_have_read)
    try:
        threads = [threading.Thread(target=order, args=(key,), name=key) for key in keys]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", all_have_read)
        db.engine.pool = old_pool
        pool.dispose()
    return outcomes


def _reads(statement: str) -> bool:
    return statement.lstrip().upper().startswith("SELECT")


def racing_at_first_write(app, work: dict) -> dict[str, str]:
    """Run each named callable (no arguments, in its own app context, connection and session)
    on its own thread, all let go together at their first write, then commit; each name's
    outcome is "committed" or the repr of what went wrong."""
    names = list(work)
    barrier = threading.Barrier(len(names))
    outcomes: dict[str, str] = {}
    waited: set[str] = set()

    def all_have_read(conn, cursor, statement, parameters, context, executemany):
        name = threading.current_thread().name
        if name in names and name not in waited and not _reads(statement):
            waited.add(name)
            barrier.wait(timeout=60)

    def run(name: str) -> None:
        with app.app_context():
            try:
                work[name]()
                unit_of_work.commit()
                outcomes[name] = "committed"
            except Exception as error:  # noqa: BLE001 - the test reports any failure
                db.session.rollback()
                outcomes[name] = repr(error)
            finally:
                db.session.remove()

    old_pool = db.engine.pool
    pool = old_pool.recreate()
    pool._max_overflow = len(names) * 2
    db.engine.pool = pool
    sa.event.listen(db.engine, "before_cursor_execute", all_have_read)
    try:
        threads = [threading.Thread(target=run, args=(name,), name=name) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", all_have_read)
        db.engine.pool = old_pool
        pool.dispose()
    return outcomes
