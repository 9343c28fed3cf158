"""Portable SQL expressions for time arithmetic (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


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


class month_of(FunctionElement):  # noqa: N801
    """'YYYY-MM' of a timestamp (UTC)."""

    type = sa.String()
    inherit_cache = True
    name = "month_of"


@compiles(month_of)
def _month_default(element, compiler, **kw):
    (moment,) = list(element.clauses)
    return f"to_char({compiler.process(moment, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM')"


@compiles(month_of, "sqlite")
def _month_sqlite(element, compiler, **kw):
    (moment,) = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(moment, **kw)})"


class week_of(FunctionElement):  # noqa: N801
    """Monday of the ISO week of a timestamp, as 'YYYY-MM-DD'."""

    type = sa.String()
    inherit_cache = True
    name = "week_of"


@compiles(week_of)
def _week_default(element, compiler, **kw):
    (moment,) = list(element.clauses)
    return f"to_char(date_trunc('week', {compiler.process(moment, **kw)} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"


@compiles(week_of, "sqlite")
def _week_sqlite(element, compiler, **kw):
    (moment,) = list(element.clauses)
    value = compiler.process(moment, **kw)
    return f"date({value}, '-' || ((CAST(strftime('%w', {value}) AS INTEGER) + 6) % 7) || ' days')"


class day_of(FunctionElement):  # noqa: N801
    """'YYYY-MM-DD' of a timestamp (UTC)."""

    type = sa.String()
    inherit_cache = True
    name = "day_of"


@compiles(day_of)
def _day_default(element, compiler, **kw):
    (moment,) = list(element.clauses)
    return f"to_char({compiler.process(moment, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(day_of, "sqlite")
def _day_sqlite(element, compiler, **kw):
    (moment,) = list(element.clauses)
    return f"strftime('%Y-%m-%d', {compiler.process(moment, **kw)})"


def greatest(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    return sa.case((a > b, a), else_=b)


def least(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    return sa.case((a < b, a), else_=b)
