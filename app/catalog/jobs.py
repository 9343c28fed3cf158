"""Periodic jobs of the Release stream: the moments an offer's validity starts and ends.

The catalog derives "scheduled" and "expired" from valid_from and valid_to when it reads an
offer (ServiceOffer.display_status); no status is written at those moments, and these jobs
write none either. They only make each moment known, once (a job mark per offer revision)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from .. import clock
from ..accounts.models import Role, User, UserRole
from ..audit import services as audit
from ..extensions import db
from ..i18n import _l
from ..notifications.models import NotificationKind
from ..notifications.services import notify
from ..worker.services import once
from .models import LIVE_STATUSES, ServiceOffer
from .services.bundles import bundles_containing
from .services.followers import audience_users

# A moment older than this is history (a worker that was down for days, or a database that
# predates this job): nobody is told about it any more.
LOOK_BACK = timedelta(days=2)


def _offers_crossing(column, now: datetime) -> list[ServiceOffer]:
    return list(
        db.session.scalars(
            sa.select(ServiceOffer)
            .where(
                ServiceOffer.status.in_(LIVE_STATUSES),
                column <= now,
                column > now - LOOK_BACK,
            )
            .order_by(ServiceOffer.id)
        )
    )


def announce_orderable_offers(now: datetime | None = None) -> str:
    """Tell the audience of an offer that was published before its valid_from that it can be
    ordered now. One published with a past valid_from was announced at publication."""
    now = now or clock.now()
    told = 0
    for offer in _offers_crossing(ServiceOffer.valid_from, now):
        published_at = clock.as_utc(offer.published_at)
        if published_at is None or published_at >= clock.as_utc(offer.valid_from):
            continue
        if not offer.is_orderable(now) or not once(f"offer-orderable:{offer.id}"):
            continue
        notify(
            audience_users(offer.code),
            _l("Now orderable: %(name)s", name=offer.name),
            _l("%(name)s (%(code)s) can be ordered from today.", name=offer.name, code=offer.code),
            f"/catalog/offers/{offer.id}",
            kind=NotificationKind.RELEASE_ANNOUNCEMENTS,
        )
        audit.record(None, "offer", offer.id, "orderable", summary=f"{offer.code}: valid from now")
        told += 1
    return f"Announced {told} offer{'' if told == 1 else 's'} as orderable."


def expire_offers(now: datetime | None = None) -> str:
    """Record that an offer passed its valid_to (it takes no new orders: the catalog shows it
    expired, or retired) and tell the catalog managers, with the bundles it leaves short."""
    now = now or clock.now()
    expired = 0
    managers = None
    for offer in _offers_crossing(ServiceOffer.valid_to, now):
        if not once(f"offer-expired:{offer.id}"):
            continue
        if managers is None:
            managers = _catalog_managers()
        bundles = bundles_containing(offer.code)
        text = f"{offer.name} ({offer.code}) reached the end of its validity: no new orders."
        if bundles:
            text += f" Check the bundles that contain it: {', '.join(b.code for b in bundles)}."
        notify(
            managers,
            _l("Expired: %(name)s", name=offer.name),
            text,
            f"/catalog/manage/offers/{offer.id}",
            kind=NotificationKind.RELEASE_ANNOUNCEMENTS,
        )
        audit.record(None, "offer", offer.id, "expired", summary=f"{offer.code}: valid_to passed")
        expired += 1
    return f"Recorded {expired} expired offer{'' if expired == 1 else 's'}."


def _catalog_managers() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.active.is_(True), User.roles.any(UserRole.role == Role.CATALOG_MANAGER.value)
            )
        )
    )
