"""A lease's first end: `lease_days` after the subscription became active, or, for an offer
whose orderer chooses the end (`lease_end_chosen`), the day chosen in the order form (from
tomorrow to `lease_max_days`, or `lease_days`, after the day of the order), at 23:59 UTC.

A chosen day is a length from the order: when the subscription becomes active only on that day
or later (its fulfillment took that long), the lease runs as many days from its activation as
were chosen from the order, so it never ends before, or on the day, it began."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ... import clock
from ... import validation as check
from ...catalog.models import ServiceOffer
from ...i18n import _, format_day
from ..models import Subscription

FIELD = "lease_ends_on"


def end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59), tzinfo=UTC)


def asks_end(offer: ServiceOffer) -> bool:
    return bool(offer.lease_days and offer.lease_end_chosen)


def choice_bounds(offer: ServiceOffer, today: date | None = None) -> tuple[date, date, date]:
    """(earliest, default, latest) day the order form offers."""
    today = today or clock.now().date()
    longest = offer.lease_max_days or offer.lease_days
    return (
        today + timedelta(days=1),
        today + timedelta(days=offer.lease_days),
        today + timedelta(days=longest),
    )


def chosen_end(errors: check.Errors, offer: ServiceOffer, value: Any) -> datetime | None:
    """The end chosen in the order form (23:59 UTC that day), or None when the offer does not
    ask for one (a value sent anyway is ignored). Empty: the default, `lease_days` from today."""
    if not asks_end(offer):
        return None
    earliest, default, latest = choice_bounds(offer)
    if value is None or (isinstance(value, str) and not value.strip()):
        return end_of(default)
    if isinstance(value, str) and len(value.strip()) != 10:
        check.add(errors, FIELD, _("Enter a date as YYYY-MM-DD."))
        return None
    when = check.moment(errors, FIELD, value)
    if when is None:
        return None
    day = when.date()
    if day < earliest:
        check.add(errors, FIELD, _("Choose a day from %(day)s on.", day=format_day(earliest)))
    elif day > latest:
        check.add(
            errors,
            FIELD,
            _("The lease can run until %(day)s at the latest.", day=format_day(latest)),
        )
    return None if FIELD in errors else end_of(day)


def snapshot(offer: ServiceOffer, chosen: datetime | None) -> dict:
    """The lease as the contract records it (nothing for an offer without a lease)."""
    if not offer.lease_days:
        return {}
    lease = {
        "days": offer.lease_days,
        "max_days": offer.lease_max_days or offer.lease_days,
        "warn_days": offer.lease_warn_days,
        "extension_needs_approval": offer.lease_extension_needs_approval,
    }
    if chosen is not None:
        lease["ends_on"] = chosen.date().isoformat()
    return {"lease": lease}


def first_end(subscription: Subscription, started: datetime) -> datetime | None:
    """The lease's end when the subscription first becomes active at `started`."""
    offer = subscription.offer
    if not offer.lease_days or subscription.parent_id is not None:
        return None
    chosen = clock.as_utc(subscription.lease_chosen_end)
    if chosen is None:
        return started + timedelta(days=offer.lease_days)
    if chosen.date() > started.date():
        return chosen
    ordered = clock.as_utc(subscription.created_at) or started
    length = max((chosen.date() - ordered.date()).days, 1)
    return end_of(started.date() + timedelta(days=length))
