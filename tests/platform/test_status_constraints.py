"""The database itself refuses a status that no state machine knows, on both engines."""

import datetime as dt
import decimal

import pytest
import sqlalchemy as sa

from app.extensions import db

# These tests open connections of their own, so they commit for real.
pytestmark = pytest.mark.committed

STATUS_TABLES = (
    "product_releases",
    "service_offers",
    "subscriptions",
    "orders",
    "fulfillment_tasks",
    "service_contracts",
    "support_requests",
    "incidents",
    "backlog_items",
    "knowledge_articles",
)


def _filler(column: sa.Column):
    """A value of the column's type; foreign keys are checked after the CHECK constraints, so
    any id will do for a statement that is refused before it."""
    column_type = column.type
    if isinstance(column_type, sa.types.TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, sa.JSON):
        return {}
    python_type = column_type.python_type
    samples = {
        float: 1.0,
        int: 1,
        str: "x",
        bool: False,
        decimal.Decimal: decimal.Decimal("1"),
        dt.datetime: dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        dt.date: dt.date(2026, 1, 1),
        dict: {},
        list: [],
    }
    return samples[python_type]


def _row_with_status(table: sa.Table, status: str) -> dict:
    row = {
        column.name: _filler(column)
        for column in table.columns
        if not column.nullable and not column.primary_key and column.name != "status"
    }
    row["status"] = status
    return row


@pytest.mark.parametrize("table_name", STATUS_TABLES)
def test_the_database_refuses_an_unknown_status(app, table_name):
    table = db.metadata.tables[table_name]
    with db.engine.connect() as connection:
        transaction = connection.begin()
        try:
            with pytest.raises(sa.exc.IntegrityError) as refused:
                connection.execute(
                    table.insert().values(_row_with_status(table, "bogus"))
                )  # short: fits every column
            message = str(refused.value.orig)
            assert (
                f"ck_{table_name}_status" in message or "CHECK constraint failed: status" in message
            )
        finally:
            transaction.rollback()
