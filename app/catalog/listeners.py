"""What the catalog's events tell people: followers hear of a publication, a new revision, a
price change and a retirement, staff of a planned release, the rest of an audience of a canary's
end. Connected once by `register_listeners` (create_app); they run in the sender's transaction."""

from __future__ import annotations

import sqlalchemy as sa

from .. import clock
from ..accounts.models import Role, group_members
from ..extensions import db
from ..i18n import Localized, _l, format_when, lazy_day, lazy_money
from ..notifications.models import NotificationKind
from ..notifications.services import notify
from . import signals
from .models import OfferStatus, PriceChange, ServiceOffer
from .services import catalog_versions
from .services.bundles import bundles_containing
from .services.followers import audience_users, offer_followers, users_with_roles
from .services.revisions import live_revision


def _orderable_from(offer: ServiceOffer) -> str:
    if offer.valid_from is not None and offer.valid_from > clock.now():
        return f" Orderable from {offer.valid_from:%Y-%m-%d}."
    return ""


def tell_release_planned(offer: ServiceOffer, **_) -> None:
    if offer.planned_release_date is None:
        return
    notify(
        users_with_roles(Role.CATALOG_MANAGER, Role.SUPPORT_AGENT),
        _l("Upcoming release: %(name)s", name=offer.name),
        _l(
            "%(name)s (%(code)s) is planned for %(day)s.",
            name=offer.name,
            code=offer.code,
            day=lazy_day(offer.planned_release_date),
        ),
        f"/catalog/manage/offers/{offer.id}",
        kind=NotificationKind.RELEASE_ANNOUNCEMENTS,
    )


def tell_followers_published(offer: ServiceOffer, **_) -> None:
    body = (offer.summary or f"{offer.name} is now in the catalog.") + _orderable_from(offer)
    notify(
        offer_followers(offer.code),
        _l("New offer: %(name)s", name=offer.name),
        body,
        f"/catalog/offers/{offer.id}",
        kind=NotificationKind.RELEASE_ANNOUNCEMENTS,
    )


def tell_followers_changed(offer: ServiceOffer, **_) -> None:
    body = (
        f"{offer.name} has a new revision ({offer.revision}). "
        "Subscriptions keep the terms they agreed to."
    ) + _orderable_from(offer)
    notify(
        offer_followers(offer.code),
        _l("Changed: %(name)s", name=offer.name),
        body,
        f"/catalog/offers/{offer.id}",
        kind=NotificationKind.RELEASE_ANNOUNCEMENTS,
    )


def tell_followers_retired(
    offer: ServiceOffer, *, replacement: ServiceOffer | None, **_kwargs
) -> None:
    retiring = offer.valid_to is not None and offer.valid_to > clock.now()
    if retiring:
        text = _l(
            "%(name)s will be retired on %(day)s: no new orders after %(moment)s.",
            name=offer.name,
            day=lazy_day(offer.valid_to),
            moment=Localized(format_when, offer.valid_to),
        )
    else:
        text = _l("%(name)s is retired: it takes no new orders.", name=offer.name)
    if replacement is not None:
        text = _l("%(text)s Its replacement is %(name)s.", text=text, name=replacement.name)
    notify(
        offer_followers(offer.code),
        _l("Retiring: %(name)s", name=offer.name),
        text,
        f"/catalog/offers/{offer.id}",
        kind=NotificationKind.RELEASE_ANNOUNCEMENTS,
    )
    flagged = bundles_containing(offer.code)
    if flagged:
        notify(
            users_with_roles(Role.CATALOG_MANAGER),
            _l("Bundle member retired: %(code)s", code=offer.code),
            _l(
                "%(name)s will be retired on %(day)s; check the bundles that contain it: "
                "%(bundles)s.",
                name=offer.name,
                day=lazy_day(offer.valid_to),
                bundles=", ".join(b.code for b in flagged),
            )
            if retiring
            else _l(
                "%(name)s is retired; check the bundles that contain it: %(names)s.",
                name=offer.name,
                names=", ".join(b.code for b in flagged),
            ),
            f"/catalog/manage/offers/{flagged[0].id}",
            kind=NotificationKind.RELEASE_ANNOUNCEMENTS,
        )


def tell_followers_price_change(change: PriceChange, *, backdated: bool = False, **_) -> None:
    live = live_revision(change.offer_code)
    if backdated or live is None or live.status != OfferStatus.PUBLISHED:
        return
    notify(
        offer_followers(change.offer_code),
        _l("Price change: %(name)s", name=live.name),
        _l(
            "From %(day)s the price of %(name)s is %(price)s.",
            day=lazy_day(change.effective_from),
            name=live.name,
            price=lazy_money(change.price, live.currency),
        ),
        f"/catalog/offers/{live.id}",
        kind=NotificationKind.RELEASE_ANNOUNCEMENTS,
    )


def tell_the_rest(code: str, *, canary_ended: bool, pilot_group_ids: list[int], **_) -> None:
    """A canary ended: the audience that did not see the published offer yet (every member of
    its pilot groups did) hears of it."""
    live = live_revision(code)
    if not canary_ended or live is None or live.status != OfferStatus.PUBLISHED:
        return
    told = set(
        db.session.scalars(
            sa.select(group_members.c.user_id).where(group_members.c.group_id.in_(pilot_group_ids))
        )
    )
    notify(
        [user for user in audience_users(code) if user.id not in told],
        _l("Now available: %(name)s", name=live.name),
        live.summary or live.name,
        f"/catalog/offers/{live.id}",
        kind=NotificationKind.RELEASE_ANNOUNCEMENTS,
    )


RECEIVERS = (
    (signals.offer_planned, tell_release_planned),
    (signals.offer_published, tell_followers_published),
    (signals.offer_changed, tell_followers_changed),
    (signals.offer_retired, tell_followers_retired),
    (signals.price_change_scheduled, tell_followers_price_change),
    (signals.audience_changed, tell_the_rest),
)


def register_listeners() -> None:
    """Connect the catalog's notification listeners (idempotent: blinker keeps one of each)
    and the engine event that marks the kept parts of the catalog changed."""
    catalog_versions.watch_writes()
    for signal, receiver in RECEIVERS:
        signal.connect(receiver)
