"""Who may see which offer now: the audience and validity clauses, and the offer page."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ... import clock
from ...accounts.models import User
from ...errors import NotFound
from ...extensions import db, get_by_id
from ...i18n import _
from ..models import (
    LIVE_STATUSES,
    BundleMember,
    OfferSettings,
    OfferStatus,
    ServiceOffer,
    offer_audience,
)
from .access import can_manage_catalog
from .revisions import get_offer, live_revision


def _window_clause(now: datetime):
    return sa.and_(
        ServiceOffer.status.in_(LIVE_STATUSES),
        sa.or_(ServiceOffer.valid_from.is_(None), ServiceOffer.valid_from <= now),
        sa.or_(ServiceOffer.valid_to.is_(None), ServiceOffer.valid_to > now),
    )


def _code_in_audience(code, group_ids: list[int]):
    """SQL: the audience of the offer with this code includes a user of these groups
    (everyone, or one of the groups; pilot groups only while the offer is in canary)."""
    audience = offer_audience.alias()
    settings = aliased(OfferSettings)
    has_audience = sa.exists().where(audience.c.offer_code == code).correlate_except(audience)
    # Correlated explicitly: nested inside `member`, auto-correlation would not reach the
    # outer code and the test would ask whether ANY offer is in canary.
    in_canary = (
        sa.exists()
        .where(settings.offer_code == code, settings.canary.is_(True))
        .correlate_except(settings)
    )
    if not group_ids:
        return sa.and_(~has_audience, ~in_canary)
    member = (
        sa.exists()
        .where(
            audience.c.offer_code == code,
            audience.c.group_id.in_(group_ids),
            sa.or_(audience.c.is_pilot.is_(True), ~in_canary),
        )
        .correlate_except(audience)
    )
    return sa.or_(sa.and_(~has_audience, ~in_canary), member)


def audience_clause(user: User, *, as_consumer: bool = False):
    """SQL: the offer's audience includes this user and, for a bundle, so does every member's
    (a bundle never shows a canary or group-only offer beyond that offer's own audience)."""
    if can_manage_catalog(user) and not as_consumer:
        return sa.true()
    return _audience_of_groups(tuple(sorted(user.group_ids)))


def audience_key(user: User) -> tuple:
    """What audience_clause depends on: two users with the same key see the same offers."""
    if can_manage_catalog(user):
        return ("every offer",)
    return tuple(sorted(user.group_ids))


@lru_cache(maxsize=1024)
def _audience_of_groups(group_ids: tuple[int, ...]):
    """Built once per set of groups and process: constructing the expression costs more than
    running its (cached) compiled statement, and a clause is immutable, so it is shared."""
    hidden_member = (
        sa.exists()
        .where(
            BundleMember.bundle_id == ServiceOffer.id,
            ~_code_in_audience(BundleMember.member_code, list(group_ids)),
        )
        .correlate_except(BundleMember)
    )
    return sa.and_(_code_in_audience(ServiceOffer.code, list(group_ids)), ~hidden_member)


def visible_offers_query(user: User, now: datetime | None = None) -> sa.Select:
    """Offers this user may see and order now: live, inside validity, in the audience."""
    now = now or clock.now()
    return sa.select(ServiceOffer).where(_window_clause(now), audience_clause(user))


def is_visible(user: User, offer: ServiceOffer, now: datetime | None = None) -> bool:
    return db.session.scalar(
        sa.select(sa.func.count(ServiceOffer.id)).where(
            ServiceOffer.id == offer.id, audience_clause(user)
        )
    ) == 1 and (can_manage_catalog(user) or offer.is_live)


def in_consumer_audience(user: User, offer: ServiceOffer) -> bool:
    """Whether the offer's audience includes the user's groups, whatever the user's roles."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(ServiceOffer.id)).where(
                ServiceOffer.id == offer.id, audience_clause(user, as_consumer=True)
            )
        )
        == 1
    )


def audience_ids(user: User, offer_ids: set[int], *, as_consumer: bool = False) -> set[int]:
    """Which of these offers' audiences include the user (`is_visible`'s and
    `in_consumer_audience`'s audience test for many offers in one statement)."""
    if not offer_ids:
        return set()
    query = sa.select(ServiceOffer.id).where(
        ServiceOffer.id.in_(sorted(offer_ids)), audience_clause(user, as_consumer=as_consumer)
    )
    return set(db.session.scalars(query))


def offer_for_viewer(user: User, offer_id: int) -> ServiceOffer:
    """An offer page: managers see every revision; others see live revisions in their audience,
    including retired ones (which point to their replacement) but not future or hidden ones."""
    offer = get_by_id(ServiceOffer, offer_id)
    if offer is None or not is_visible(user, offer):
        raise NotFound(_("No such offer."))
    if not can_manage_catalog(user) and offer.display_status() == "scheduled":
        raise NotFound(_("No such offer."))
    return offer


def replacement_for(user: User, offer: ServiceOffer) -> ServiceOffer | None:
    if not offer.replacement_code:
        return None
    replacement = live_revision(offer.replacement_code)
    if replacement is None or not replacement.is_orderable() or not is_visible(user, replacement):
        return None
    return replacement


def newer_revision_for(user: User, offer_id: int) -> ServiceOffer | None:
    """An old link to a superseded revision leads to the live one, when the viewer may see it."""
    try:
        old = get_offer(offer_id)
        if old.status != OfferStatus.SUPERSEDED.value:
            return None
        live = live_revision(old.code)
        return offer_for_viewer(user, live.id) if live else None
    except NotFound:
        return None
