"""What a transaction adds to the daily rollups, kept until it commits, then written at once.

Each flush's deltas are summed per rollup row; the commit writes them all, the tables in one
fixed order and each table's rows in key order. Two transactions touching the same rows so take
their locks in the same order, whatever order their flushes came in: when every flush wrote its
own rows, two carts of one group holding the same two offers in opposite orders deadlocked on
PostgreSQL. A released savepoint's deltas join its parent's; a rolled-back one's are dropped.

A row is changed by `UPDATE … SET n = n + :delta` (after an `INSERT … ON CONFLICT DO NOTHING`
creates it), which the database serialises on the row: two writers to one row both count."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from ..sqltime import greatest

DELTAS = "status.rollups.deltas"  # {transaction: {model: (key columns, {row key: amounts})}}
Frame = dict[type, tuple[tuple[str, ...], dict[tuple, dict]]]


def insert(connection: sa.Connection, table: sa.Table):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def defer(session: Session, model, key: tuple[str, ...], deltas: dict[tuple, dict]) -> None:
    """Add these deltas to what the transaction (or its innermost savepoint) writes on commit."""
    frames = session.info.setdefault(DELTAS, {})
    innermost = session.get_nested_transaction() or session.get_transaction()
    _merge(frames.setdefault(innermost, {}), {model: (key, deltas)})


def discard(session: Session) -> None:
    session.info.pop(DELTAS, None)


def _merge(into: Frame, frame: Frame) -> None:
    for model, (key, deltas) in frame.items():
        rows = into.setdefault(model, (key, {}))[1]
        for row_key, amounts in deltas.items():
            row = rows.setdefault(row_key, {})
            for name, value in amounts.items():
                row[name] = row.get(name, 0) + (value or 0)


def _enclosing(transaction: SessionTransaction) -> SessionTransaction:
    parent = transaction.parent
    while parent.parent is not None and not parent.nested:
        parent = parent.parent
    return parent


@event.listens_for(Session, "before_commit")
def _write_on_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: its deltas belong here
    nested = session.get_nested_transaction()
    frames = session.info.get(DELTAS)
    if not frames:
        return
    if nested is not None:  # a savepoint is released, the transaction goes on
        released = frames.pop(nested, None)
        if released:
            _merge(frames.setdefault(_enclosing(nested), {}), released)
        return
    merged: Frame = {}
    for frame in session.info.pop(DELTAS).values():
        _merge(merged, frame)
    connection = session.connection()
    for model in sorted(merged, key=lambda model: model.__tablename__):
        add_to_rollup(connection, model, *merged[model])


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        discard(session)
    elif previous_transaction.nested and session.info.get(DELTAS):
        session.info[DELTAS].pop(previous_transaction, None)


@event.listens_for(Session, "after_transaction_create")
def _start_clean(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        discard(session)


def add_to_rollup(
    connection: sa.Connection, model, key: tuple[str, ...], deltas: dict[tuple, dict]
) -> None:
    """Add each key's deltas to its row (creating it first), in key order so that writers lock
    rows in the same order. A total never goes below zero: before a rebuild, facts written
    earlier are not in the rollups yet, and taking them out must not refuse the write."""
    deltas = {
        row_key: amounts
        for row_key, amounts in deltas.items()
        if any(value for value in amounts.values())
    }
    if not deltas:
        return
    table = model.__table__
    keys = sorted(deltas, key=lambda row_key: tuple(str(part) for part in row_key))
    connection.execute(
        insert(connection, table).on_conflict_do_nothing(index_elements=list(key)),
        [dict(zip(key, row_key, strict=True)) for row_key in keys],
    )
    names = sorted({name for amounts in deltas.values() for name in amounts})
    update = (
        table.update()
        .where(*[table.c[part] == sa.bindparam(f"k_{part}") for part in key])
        .values(
            {
                name: greatest(table.c[name] + sa.bindparam(f"d_{name}"), sa.literal(0))
                for name in names
            }
        )
    )
    connection.execute(
        update,
        [
            {
                **{f"k_{part}": value for part, value in zip(key, row_key, strict=True)},
                **{f"d_{name}": deltas[row_key].get(name, 0) for name in names},
            }
            for row_key in keys
        ],
    )
