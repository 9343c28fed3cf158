"""Prices: the price in force, price history and dated price changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ... import clock
from ... import validation as check
from ...accounts.models import User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _
from .. import prices, signals
from ..models import EDITABLE_STATUSES, BillingPeriod, PriceChange, ServiceOffer
from .access import CATALOG_ROLES
from .revisions import revisions_of


def effective_prices(codes: Iterable[str], at: datetime | None = None) -> dict[str, PriceChange]:
    """The latest price change in force at `at` for each code that has one, in one query."""
    codes = sorted(set(codes))
    if not codes:
        return {}
    at = at or clock.now()
    by_code: dict[str, list[PriceChange]] = {}
    for change in db.session.scalars(
        sa.select(PriceChange).where(
            PriceChange.offer_code.in_(codes), PriceChange.effective_from <= at
        )
    ):
        by_code.setdefault(change.offer_code, []).append(change)
    return {code: prices.change_in_force(changes, at) for code, changes in by_code.items()}


def current_price(
    offer: ServiceOffer, at: datetime | None = None
) -> tuple[Decimal | None, Decimal]:
    """(price, cost) in force now: the latest effective price change, else the offer's own."""
    return prices.in_force(offer, price_history(offer.code), at or clock.now())


def in_force_by_id(
    offers: Iterable[ServiceOffer], at: datetime | None = None
) -> dict[int, tuple[Decimal | None, Decimal | None]]:
    """(price, cost) in force at `at` for each offer (revision), by id, in one query."""
    offers = list(offers)
    found = {
        offer_id: (price, cost)
        for offer_id, price, cost in db.session.execute(
            sa.select(
                ServiceOffer.id,
                prices.price_in_force(at or clock.now()),
                prices.cost_in_force(at or clock.now()),
            ).where(ServiceOffer.id.in_([offer.id for offer in offers if offer.id is not None]))
        )
    }
    return {offer.id: found.get(offer.id, (offer.price, offer.cost)) for offer in offers}


def price_history(code: str) -> list[PriceChange]:
    return list(
        db.session.scalars(
            sa.select(PriceChange)
            .where(PriceChange.offer_code == code)
            .order_by(PriceChange.effective_from.desc())
        )
    )


def price_of_revision(actor: User | None, offer: ServiceOffer, previous: ServiceOffer) -> None:
    """A revision whose price or cost differs from the ones in force when it is published makes
    them the price from its publication; otherwise the price history (which belongs to the
    code) would keep an older price. (A new revision starts from the price in force, so one
    whose price nobody touched changes nothing.)"""
    moment = offer.published_at
    in_force_then = prices.in_force(previous, price_history(offer.code), moment)
    if (offer.price, offer.cost) == in_force_then or offer.price is None:
        return
    if db.session.scalar(
        sa.select(PriceChange.id).where(
            PriceChange.offer_code == offer.code, PriceChange.effective_from == moment
        )
    ):
        return
    change = PriceChange(
        offer_code=offer.code,
        price=offer.price,
        cost=offer.cost,
        effective_from=moment,
        reason=_("Revision %(revision)s", revision=offer.revision),
        created_at=moment,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(change)
    db.session.flush()
    audit.record(
        actor,
        "price_change",
        change.id,
        "created",
        changes=audit.diff(
            {}, {"price": offer.price, "cost": offer.cost, "effective_from": moment}
        ),
        summary=offer.code,
    )


def add_price_change(
    actor: User | None,
    code: str,
    *,
    price: Any,
    cost: Any = None,
    effective_from: Any,
    reason: str = "",
    confirm_backdated: bool = False,
) -> PriceChange:
    """A price (and cost) from a moment on. A moment before today (UTC) is a back-dated change:
    refused unless `confirm_backdated`, and then recorded (in the history, marked back-dated)
    but told to no one, since it is a correction of the record and not news; contracts keep
    the price they agreed to either way."""
    require_role(actor, *CATALOG_ROLES, message=_("Only catalog managers change prices."))
    if not revisions_of(code):
        raise NotFound(_("No such offer."))
    amount, cost_amount, effective, reason = _checked_price_change(
        code, price, cost, effective_from, reason, confirm_backdated
    )
    backdated = is_backdated(effective)
    change = PriceChange(
        offer_code=code,
        price=amount,
        cost=cost_amount,
        effective_from=effective,
        reason=reason,
        created_at=clock.now(),
        created_by_id=actor.id if actor else None,
    )
    db.session.add(change)
    db.session.flush()
    audit.record(
        actor,
        "price_change",
        change.id,
        "created",
        changes=audit.diff(
            {},
            {
                "price": amount,
                "cost": cost_amount,
                "effective_from": effective,
                "reason": reason,
                "backdated": backdated or None,
            },
        ),
        summary=code,
    )
    db.session.flush()
    signals.price_change_scheduled.send(change, backdated=backdated)
    return change


def _checked_price_change(
    code: str, price: Any, cost: Any, effective_from: Any, reason: str, confirm_backdated: bool
) -> tuple[Decimal, Decimal | None, datetime, str]:
    """The price change's values, or ValidationFailed with a message under each bad field."""
    errors: check.Errors = {}
    amount = check.money(errors, "price", price, required=True)
    cost_amount = check.money(errors, "cost", cost)
    effective = check.moment(errors, "effective_from", effective_from)
    if effective is None and "effective_from" not in errors:
        check.add(errors, "effective_from", _("Enter the date the price takes effect."))
    reason = check.text(errors, "reason", reason, max_length=300)
    if effective is not None and db.session.scalar(
        sa.select(PriceChange).where(
            PriceChange.offer_code == code, PriceChange.effective_from == effective
        )
    ):
        check.add(
            errors, "effective_from", _("A price change already takes effect at that moment.")
        )
    if is_backdated(effective) and not confirm_backdated and "effective_from" not in errors:
        check.add(
            errors,
            "effective_from",
            _(
                "This date is in the past: subscribers would be shown a price that applied "
                "before anyone was told. Choose today or a later date, or confirm the back-dated "
                "change below."
            ),
        )
    if errors:
        raise ValidationFailed(_("The price change could not be saved."), fields=errors)
    return amount, cost_amount, effective, reason


def is_backdated(moment: datetime | None) -> bool:
    """Whether a price change's moment lies before today (UTC): today itself is not."""
    if moment is None:
        return False
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return clock.as_utc(moment) < today


def margin_in_force(offer: ServiceOffer) -> tuple[Decimal | None, Decimal | None]:
    """(margin, margin %) the editor shows: of the price and cost in force for a live
    revision, of the ones it proposes for a revision still being edited."""
    if offer.status in EDITABLE_STATUSES:
        return prices.margin(offer.price, offer.cost)
    return prices.margin(*current_price(offer))


SUM_ORDER = (BillingPeriod.MONTHLY.value, BillingPeriod.YEARLY.value, BillingPeriod.ONE_TIME.value)


def bundle_sums(offers: Iterable[ServiceOffer]) -> dict[str, Decimal]:
    """The prices in force of `offers` summed per billing period (monthly, yearly, one-time
    never add up into one number), in lifecycle order of the periods."""
    offers = list(offers)
    in_force = in_force_by_id(offers)
    sums: dict[str, Decimal] = {}
    for offer in offers:
        price = in_force[offer.id][0]
        if price is not None:
            sums[offer.billing_period] = sums.get(offer.billing_period, Decimal("0.00")) + price
    return {period: sums[period] for period in sorted(sums, key=SUM_ORDER.index)}


def prices_in_force(offers: Iterable[ServiceOffer]) -> dict[str, Decimal | None]:
    """The price in force now for each offer's code, in one query."""
    offers = list(offers)
    in_force = in_force_by_id(offers)
    return {offer.code: in_force[offer.id][0] for offer in offers}


def next_price_change(code: str) -> PriceChange | None:
    """The soonest price change still to take effect, if any."""
    upcoming = [change for change in price_history(code) if change.effective_from > clock.now()]
    return upcoming[-1] if upcoming else None
