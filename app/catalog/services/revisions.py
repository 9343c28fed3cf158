"""Reading an offer's revisions, its per-code settings, and the offer's version lock."""

from __future__ import annotations

import sqlalchemy as sa

from ... import clock
from ...audit import services as audit
from ...errors import Conflict, NotFound
from ...extensions import db, get_by_id
from ..models import EDITABLE_STATUSES, LIVE_STATUSES, OfferSettings, ServiceOffer


def get_offer(offer_id: int) -> ServiceOffer:
    offer = get_by_id(ServiceOffer, offer_id)
    if offer is None:
        raise NotFound("No such offer.")
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


def check_version(offer: ServiceOffer, expected_version: int | None) -> None:
    if expected_version is None:
        return
    try:
        expected_version = int(expected_version)
    except (TypeError, ValueError):
        raise Conflict(
            "The form did not say which version of the offer you edited. Reload and try again.",
            fields={"version": [f"Unknown version: now version {offer.version}."]},
        ) from None
    if expected_version == offer.version:
        return
    events = db.session.scalars(
        sa.select(audit.AuditEvent)
        .where(audit.AuditEvent.object_type == "offer", audit.AuditEvent.object_id == str(offer.id))
        .order_by(audit.AuditEvent.id)
    ).all()
    changed: list[str] = []
    who: set[str] = set()
    for event in events:
        if int((event.changes.get("version") or {}).get("after") or 0) > int(expected_version):
            changed += [field for field in event.changes if field not in ("version", "updated_at")]
            who.add(event.actor.name if event.actor else "someone")
    fields = ", ".join(dict.fromkeys(changed)) or "the offer"
    raise Conflict(
        f"{' and '.join(sorted(who)) or 'Someone'} changed {fields} since you opened this offer "
        f"(your copy is version {expected_version}, the saved one is version {offer.version}). "
        "Reload to see their changes, then apply yours again.",
        fields={"version": [f"Stale: now version {offer.version}."]},
    )


def bump(offer: ServiceOffer) -> dict:
    before = offer.version
    offer.version += 1
    offer.updated_at = clock.now()
    return {"version": {"before": before, "after": offer.version}}


def live_revision_excluding(offer: ServiceOffer) -> ServiceOffer | None:
    return db.session.scalar(
        sa.select(ServiceOffer).where(
            ServiceOffer.code == offer.code,
            ServiceOffer.id != offer.id,
            ServiceOffer.status.in_(LIVE_STATUSES),
        )
    )
