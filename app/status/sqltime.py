"""Portable SQL expressions for time arithmetic (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from ..models_base import UTCDateTime


def at(value) -> sa.BindParameter:
    """A moment as a bound parameter of the UTC timestamp type, to compare with timestamp columns."""
    return sa.literal(value, UTCDateTime())


class seconds_between(FunctionElement):  # noqa: N801 - reads like the SQL function it is
    """seconds_between(start, end): end − start in seconds, as a float."""

    type = sa.Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between_default(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0)"


def _bucket(
    name: str, doc: str, postgres: str, sqlite: str, kind: sa.types.TypeEngine | None = None
) -> type[FunctionElement]:
    """A one-argument SQL function over a timestamp; `{0}` in each template is the argument."""
    function = type(
        name,
        (FunctionElement,),
        {"type": kind or sa.String(), "inherit_cache": True, "name": name, "__doc__": doc},
    )

    @compiles(function)
    def _default(element, compiler, **kw):
        return postgres.format(compiler.process(list(element.clauses)[0], **kw))

    @compiles(function, "sqlite")
    def _sqlite(element, compiler, **kw):
        return sqlite.format(compiler.process(list(element.clauses)[0], **kw))

    return function


month_of = _bucket(
    "month_of",
    "'YYYY-MM' of a timestamp (UTC).",
    "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM')",
    "strftime('%Y-%m', {0})",
)
week_of = _bucket(
    "week_of",
    "Monday of the ISO week of a timestamp, as 'YYYY-MM-DD'.",
    "to_char(date_trunc('week', {0} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
    "date({0}, '-' || ((CAST(strftime('%w', {0}) AS INTEGER) + 6) % 7) || ' days')",
)
day_of = _bucket(
    "day_of",
    "'YYYY-MM-DD' of a timestamp (UTC).",
    "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    "strftime('%Y-%m-%d', {0})",
)
date_of = _bucket(
    "date_of",
    "The UTC calendar day of a timestamp, as a DATE (SQLite: 'YYYY-MM-DD').",
    "CAST(({0} AT TIME ZONE 'UTC') AS DATE)",
    "date({0})",
    sa.Date(),
)
# SQLite's clock has millisecond steps: a moment less than 1 ms after midnight counts as before it.
date_up_to = _bucket(
    "date_up_to",
    "The UTC day up to whose end a moment falls: its day, except that a midnight is the end of the "
    "day before (so the days before a midnight hold exactly the moments at or before it).",
    "CAST((({0} AT TIME ZONE 'UTC') - INTERVAL '1 microsecond') AS DATE)",
    "date({0}, '-0.001 seconds')",
    sa.Date(),
)


def greatest(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    return sa.case((a > b, a), else_=b)


def least(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    return sa.case((a < b, a), else_=b)
