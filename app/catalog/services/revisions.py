"""Reading an offer's revisions, its per-code settings, and the offer's version lock."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ... import clock, versioning
from ...errors import NotFound
from ...extensions import db, get_by_id
from ...i18n import _
from ..models import EDITABLE_STATUSES, LIVE_STATUSES, OfferSettings, ServiceOffer


def get_offer(offer_id: int) -> ServiceOffer:
    offer = get_by_id(ServiceOffer, offer_id)
    if offer is None:
        raise NotFound(_("No such offer."))
    return offer


def revisions_of(code: str) -> list[ServiceOffer]:
    return list(
        db.session.scalars(
            sa.select(ServiceOffer).where(ServiceOffer.code == code).order_by(ServiceOffer.revision)
        )
    )


def live_revision(code: str) -> ServiceOffer | None:
    return db.session.scalar(
        sa.select(ServiceOffer).where(
            ServiceOffer.code == code, ServiceOffer.status.in_(LIVE_STATUSES)
        )
    )


def live_revisions(codes: set[str]) -> dict[str, ServiceOffer]:
    """The live revision of each of these codes that has one, in one statement."""
    if not codes:
        return {}
    rows = db.session.scalars(
        sa.select(ServiceOffer).where(
            ServiceOffer.code.in_(sorted(codes)), ServiceOffer.status.in_(LIVE_STATUSES)
        )
    )
    return {offer.code: offer for offer in rows}


def draft_revision(code: str) -> ServiceOffer | None:
    return db.session.scalar(
        sa.select(ServiceOffer).where(
            ServiceOffer.code == code, ServiceOffer.status.in_(EDITABLE_STATUSES)
        )
    )


def settings_for(code: str) -> OfferSettings:
    settings = db.session.get(OfferSettings, code)
    if settings is None:
        settings = OfferSettings(offer_code=code, canary=False, featured=False)
        db.session.add(settings)
    return settings


def check_version(offer: ServiceOffer, expected_version: Any) -> None:
    """Refuse an edit made to an older version of the offer than the saved one, naming who
    saved in between, when and what."""
    versioning.check_version(
        offer, expected_version, noun="offer", object_type="offer", refusal=versioning.stale_edit
    )


def flush_offer(offer: ServiceOffer) -> None:
    """Flush the offer's change; a writer who saved it first (the database's `WHERE version`)
    is refused as `check_version` refuses a stale form."""
    versioning.flush_versioned(
        offer, noun="offer", object_type="offer", refusal=versioning.stale_edit
    )


def bump(offer: ServiceOffer) -> dict:
    """The audit entry of the version this edit's flush writes (version_id_col bumps it)."""
    offer.updated_at = clock.now()
    return versioning.version_change(offer)


def live_revision_excluding(offer: ServiceOffer) -> ServiceOffer | None:
    return db.session.scalar(
        sa.select(ServiceOffer).where(
            ServiceOffer.code == offer.code,
            ServiceOffer.id != offer.id,
            ServiceOffer.status.in_(LIVE_STATUSES),
        )
    )
