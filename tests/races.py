"""Orders that race: each on its own thread, connection and session, all let go together at
their first write, so every one has read the same committed state before any writes."""

from __future__ import annotations

import threading
from collections.abc import Callable

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

    def order(key: str):
        def place() -> str:
            subs.subscribe(
                db.session.get(User, user_id),
                offer_id,
                options=options,
                accept_terms=True,
                idempotency_key=key,
            )
            return "ordered"

        return place

    return racing_at_first_write(
        app,
        {key: order(key) for key in keys},
        refused=lambda error: error.message if isinstance(error, InvalidTransition) else None,
    )


def _reads(statement: str) -> bool:
    return statement.lstrip().upper().startswith("SELECT")


def racing_at_first_write(
    app, work: dict[str, object], refused: Callable[[Exception], object | None] = lambda e: None
) -> dict[str, object]:
    """Run each named `work()` on its own thread, connection and session, let go together at
    their first write, then committed. Each name's outcome: what `work` returned, or, when it
    failed (and was rolled back), what `refused(error)` makes of the failure, else its repr."""
    names = list(work)
    barrier = threading.Barrier(len(names))
    outcomes: dict[str, object] = {}
    waited: set[str] = set()

    def all_have_read(conn, cursor, statement, parameters, context, executemany):
        name = threading.current_thread().name
        if name in names and name not in waited and not _reads(statement):
            waited.add(name)
            barrier.wait(timeout=60)

    def run(name: str) -> None:
        with app.app_context():
            try:
                outcomes[name] = work[name]()
                unit_of_work.commit()
            except Exception as error:  # noqa: BLE001 - the test reports any failure
                db.session.rollback()
                described = refused(error)
                outcomes[name] = repr(error) if described is None else described
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
