"""Reporting periods: the [start, end) ranges every status figure is measured over."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ... import clock
from ... import validation as check
from ...errors import ValidationFailed
from ...i18n import _

FIRST_YEAR, LAST_YEAR = 1970, 2999


@dataclass
class Period:
    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


def parse_period(start: Any = None, end: Any = None, *, default_days: int = 30) -> Period:
    """A [start, end) range from dates; the last `default_days` days by default. A bare date as
    the end means the whole of that day. Field errors (never a crash) on bad or far-off dates."""
    errors: check.Errors = {}
    now = clock.now()
    finish = _range_moment(errors, "to", end)
    begin = _range_moment(errors, "from", start)
    if "to" in errors or "from" in errors:
        raise ValidationFailed(_("The date range is not valid."), fields=errors)
    if finish is None:
        finish = now
    elif _is_bare_date(end):
        finish = finish + timedelta(days=1)  # a date means the whole of that day
    if begin is None:
        begin = finish - timedelta(days=default_days)
    if finish <= begin:
        check.add(errors, "to", _("The end of the range must come after its start."))
    elif (finish - begin) > timedelta(days=3 * 366):
        check.add(errors, "from", _("Choose a range of at most three years."))
    if errors:
        raise ValidationFailed(_("The date range is not valid."), fields=errors)
    return Period(begin, finish)


def bounded_moment(errors: check.Errors, field: str, value: Any, *, expected: str, noun: str):
    """A moment from a form or JSON value, in UTC, between FIRST_YEAR and LAST_YEAR; None (and
    a field error: "Enter <expected>." or "Enter <noun> between ...") when it is not one."""
    if isinstance(value, str) and len(value) > 40:
        check.add(errors, field, _("Enter %(expected)s.", expected=expected))
        return None
    moment = check.moment(errors, field, value)
    if moment is not None and not in_years(moment):
        check.add(
            errors,
            field,
            _(
                "Enter %(noun)s between %(FIRST_YEAR)s and %(LAST_YEAR)s.",
                noun=noun,
                FIRST_YEAR=FIRST_YEAR,
                LAST_YEAR=LAST_YEAR,
            ),
        )
        return None
    return moment.astimezone(UTC) if moment is not None else None


def in_years(moment: datetime) -> bool:
    return FIRST_YEAR <= moment.astimezone(UTC).year <= LAST_YEAR


def _range_moment(errors: check.Errors, field: str, value: Any) -> datetime | None:
    return bounded_moment(errors, field, value, expected="a date as YYYY-MM-DD", noun="a date")


def _is_bare_date(value: Any) -> bool:
    if isinstance(value, str):
        return len(value.strip()) == 10
    return isinstance(value, date) and not isinstance(value, datetime)


def month_period(year: int, month: int) -> Period:
    days = calendar.monthrange(year, month)[1]
    start = datetime(year, month, 1, tzinfo=UTC)
    return Period(start, start + timedelta(days=days))


def months_of(period: Period) -> list[tuple[str, datetime]]:
    """The months the period touches, as ('YYYY-MM', end of that month within the period); at
    most 48."""
    months, cursor = [], datetime(period.start.year, period.start.month, 1, tzinfo=UTC)
    while cursor < period.end and len(months) < 48:
        following = month_period(cursor.year, cursor.month).end
        months.append((cursor.strftime("%Y-%m"), min(following, period.end)))
        cursor = following
    return months
