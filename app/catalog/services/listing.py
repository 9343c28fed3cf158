"""The consumer catalog's list: its sort orders and price filter (the price in force now, as
search filters it), and which offers the page lists besides its featured and new strips."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ... import clock
from ...accounts.models import User
from ...errors import ValidationFailed
from ...extensions import db
from ...i18n import _, _l
from ...inputs import price_bounds
from ..models import Category, ServiceOffer
from ..prices import price_in_force
from . import catalog_versions
from .visibility import audience_key, visible_offers_query

# What an offer card shows (offer_card_html in app/catalog/views/templating.py, and the price looked up by
# code and id): a list page loads a few dozen offers, and the whole row with its JSON columns and
# three joined rows (category, release, product) cost more to load than the page's SQL itself.
CARD_LOAD = (
    sa.orm.load_only(
        ServiceOffer.id,
        ServiceOffer.code,
        ServiceOffer.name,
        ServiceOffer.summary,
        ServiceOffer.kind,
        ServiceOffer.status,
        ServiceOffer.category_id,
        ServiceOffer.valid_from,
        ServiceOffer.valid_to,
        ServiceOffer.currency,
        ServiceOffer.billing_period,
        ServiceOffer.price,  # the price in force falls back on it (pricing.in_force_by_id)
        ServiceOffer.cost,
        ServiceOffer.published_at,
    ),
    sa.orm.joinedload(ServiceOffer.category).load_only(Category.name),
    sa.orm.lazyload(ServiceOffer.release),
    sa.orm.lazyload(ServiceOffer.product),
)
DEFAULT_SORT = "name"
CATALOG_SORTS: dict[str, Any] = {
    "name": _l("Name"),
    "price_asc": _l("Price, low to high"),
    "price_desc": _l("Price, high to low"),
    "newest": _l("Newest first"),
}


@dataclass(frozen=True)
class Listing:
    """How the catalog's list is sorted and filtered."""

    sort: str = DEFAULT_SORT
    min_price: Decimal | None = None
    max_price: Decimal | None = None

    @property
    def is_default(self) -> bool:
        """Sorted by name with no price filter: the catalog as it opens."""
        return self.sort == DEFAULT_SORT and self.min_price is None and self.max_price is None


def parse_listing(sort: Any = None, min_price: Any = None, max_price: Any = None) -> Listing:
    """The list's sort and price bounds from text (a query string); ValidationFailed with a
    message under each bad field otherwise."""
    low, high, errors = price_bounds(min_price, max_price)
    chosen = str(sort or "").strip() or DEFAULT_SORT
    if chosen not in CATALOG_SORTS:
        errors["sort"] = [_("Choose a sort order from the list.")]
    if errors:
        raise ValidationFailed(_("Check the sort order and price filter."), fields=errors)
    return Listing(sort=chosen, min_price=low, max_price=high)


def listed_offers(
    user: User,
    listing: Listing,
    *,
    exclude_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> sa.Select:
    """The offers the user may see now, filtered by the price in force and sorted as chosen
    (offers without a price last; then by name), leaving out `exclude_ids`."""
    now = now or clock.now()
    price = price_in_force(now)
    query = visible_offers_query(user, now).options(*CARD_LOAD)
    excluded = sorted(set(exclude_ids))
    if excluded:
        query = query.where(ServiceOffer.id.not_in(excluded))
    if listing.min_price is not None:
        query = query.where(price >= listing.min_price)
    if listing.max_price is not None:
        query = query.where(price <= listing.max_price)
    by_name = (ServiceOffer.name, ServiceOffer.id)
    if listing.sort == "price_asc":
        return query.order_by(price.is_(None), price, *by_name)
    if listing.sort == "price_desc":
        return query.order_by(price.is_(None), price.desc(), *by_name)
    if listing.sort == "newest":
        published = ServiceOffer.published_at
        return query.order_by(published.is_(None), published.desc(), ServiceOffer.id.desc())
    return query.order_by(*by_name)


@dataclass(frozen=True)
class _Count:
    total: int
    since: datetime  # counted at this moment; it holds until the next offer's window opens
    until: datetime | None  # or closes (None: no window ahead)

    def holds(self, now: datetime) -> bool:
        return self.since <= now and (self.until is None or now < self.until)


def listed_count(
    user: User,
    listing: Listing,
    markers: dict[str, str],
    *,
    exclude_ids: Iterable[int] = (),
) -> int:
    """How many offers listed_offers lists, for the pager's "Page 1 of N (M in all)". Without a
    price filter it is kept per audience and left-out offers until an offer, its audience or
    settings change (the "offers" marker) or an offer's validity window opens or closes; the
    price in force changes on its own dates, so a price-filtered count is counted every time."""
    now = clock.now()
    excluded = tuple(sorted(set(exclude_ids)))

    def counted() -> sa.Select:  # built only when counted: building it costs as much as a hit
        listed = listed_offers(user, listing, exclude_ids=excluded, now=now)
        return sa.select(sa.func.count()).select_from(
            listed.options(sa.orm.lazyload("*")).order_by(None).subquery()
        )

    if listing.min_price is not None or listing.max_price is not None:
        return db.session.scalar(counted()) or 0

    def count() -> _Count:
        opens = sa.select(sa.func.min(ServiceOffer.valid_from)).where(ServiceOffer.valid_from > now)
        closes = sa.select(sa.func.min(ServiceOffer.valid_to)).where(ServiceOffer.valid_to > now)
        total, *ahead = db.session.execute(
            sa.select(
                counted().scalar_subquery(), opens.scalar_subquery(), closes.scalar_subquery()
            )
        ).one()
        return _Count(total or 0, now, min((moment for moment in ahead if moment), default=None))

    key = (audience_key(user), excluded)
    return catalog_versions.kept("offers", markers, key, count, lambda kept: kept.holds(now)).total
