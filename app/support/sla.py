"""Working-time arithmetic for SLA clocks.

Support hours are either "24x7" or "business": Monday to Friday, 08:00 to 18:00 UTC.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

BUSINESS_START = time(8, 0)
BUSINESS_END = time(18, 0)


def _day_window(moment: datetime) -> tuple[datetime, datetime] | None:
    if moment.weekday() >= 5:
        return None
    start = moment.replace(hour=BUSINESS_START.hour, minute=0, second=0, microsecond=0)
    end = moment.replace(hour=BUSINESS_END.hour, minute=0, second=0, microsecond=0)
    return start, end


def add_working_time(start: datetime, seconds: float, business_only: bool) -> datetime:
    """The moment `seconds` of working time after `start`."""
    if not business_only:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=seconds)
    cursor = start
    while True:
        window = _day_window(cursor)
        if window is None or cursor >= window[1]:
            cursor = (cursor + timedelta(days=1)).replace(
                hour=BUSINESS_START.hour, minute=0, second=0, microsecond=0
            )
            continue
        open_at, close_at = window
        cursor = max(cursor, open_at)
        available = close_at - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = close_at


def working_seconds_between(start: datetime, end: datetime, business_only: bool) -> int:
    """Working seconds in [start, end)."""
    if end <= start:
        return 0
    if not business_only:
        return int((end - start).total_seconds())
    total = timedelta()
    cursor = start
    while cursor < end:
        window = _day_window(cursor)
        next_day = (cursor + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        if window is not None:
            open_at, close_at = window
            low, high = max(cursor, open_at), min(end, close_at)
            if high > low:
                total += high - low
        cursor = next_day
    return int(total.total_seconds())
