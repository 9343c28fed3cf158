"""Comparing offers side by side before selecting one: price, status, service levels, options
and fulfillment time of up to MAX_COMPARED offers the user may see. List pages (catalog,
search) carry the offers chosen so far in ?compare=."""

from __future__ import annotations

from collections.abc import Iterable

from ...accounts.models import Role, User
from ...catalog import services as catalog
from ...catalog.models import ServiceOffer
from ...extensions import db
from ...i18n import gettext
from .fulfillment import plan_hours

MAX_COMPARED = 4
MAX_REQUESTED = 20  # ids read from a request; the rest are dropped with a message
CANDIDATE_LIMIT = 300


def _is_offer_number(token: str) -> bool:
    return token.isascii() and token.isdigit() and len(token) <= 12


def requested_ids(values: Iterable[str]) -> tuple[list[int], list[str]]:
    """The offer numbers in ?ids=1,2,3 (or ?ids=1&ids=2, as checkboxes on offer cards send them),
    each once and in order, and messages about what was left out."""
    raw = ",".join(values)[:2000]
    tokens = [token.strip() for token in raw.split(",") if token.strip()]
    messages: list[str] = []
    if len(tokens) > MAX_REQUESTED:
        messages.append(gettext("That is too many offers to compare; showing the first ones."))
        tokens = tokens[:MAX_REQUESTED]
    not_numbers = [token for token in tokens if not _is_offer_number(token)]
    if not_numbers:
        messages.append(
            gettext(
                "These are not offer numbers: %(names)s.",
                names=", ".join(t[:20] for t in not_numbers),
            )
        )
    ids = list(dict.fromkeys(int(token) for token in tokens if token not in not_numbers))
    return ids, messages


def ids_with(values: Iterable[str], added: str) -> str:
    """The requested ids with one more offer (if it is a number not chosen yet), for a link."""
    ids, _ = requested_ids(values)
    added = added.strip()
    if _is_offer_number(added) and int(added) not in ids:
        ids.append(int(added))
    return ",".join(str(offer_id) for offer_id in ids)


def compare(user: User, values: Iterable[str]) -> dict:
    """The comparison page: the chosen offers the user may see (MAX_COMPARED at most), messages about
    any left out, and the other offers that may still be added."""
    ids, messages = requested_ids(values)
    found = {
        offer.id: offer
        for offer in db.session.scalars(
            catalog.visible_offers_query(user).where(ServiceOffer.id.in_(ids or [-1]))
        )
    }
    missing = [str(offer_id) for offer_id in ids if offer_id not in found]
    if missing:
        messages.append(
            gettext("Not available to you, so left out: offer %(names)s.", names=", ".join(missing))
        )
    offers = [found[offer_id] for offer_id in ids if offer_id in found]
    if len(offers) > MAX_COMPARED:
        messages.append(
            gettext(
                "You can compare up to %(max)s offers at a time; showing the first %(max)s of %(count)s.",
                max=MAX_COMPARED,
                count=len(offers),
            )
        )
        offers = offers[:MAX_COMPARED]
    return {
        "compared": [_compared(offer, offers) for offer in offers],
        "messages": messages,
        "candidates": _candidates(user, offers) if len(offers) < MAX_COMPARED else [],
        "ids": ",".join(str(offer.id) for offer in offers),
        "can_order": user.has_role(Role.CONSUMER),
    }


def chosen_ids(values: Iterable[str]) -> list[int]:
    """The offers chosen for a comparison on a list page (?compare=1,2): numbers only, each
    once, at most MAX_COMPARED; whether the user may see them is checked on the compare page."""
    return requested_ids(values)[0][:MAX_COMPARED]


def _compared(offer: ServiceOffer, offers: list[ServiceOffer]) -> dict:
    return {
        "offer": offer,
        "price": catalog.current_price(offer)[0],
        "plan_hours": plan_hours(offer),
        "target_hours": (offer.service_levels or {}).get("fulfillment_target_hours"),
        "status": offer.display_status(),
        "keep": ",".join(str(other.id) for other in offers if other.id != offer.id),
    }


def _candidates(user: User, chosen: list[ServiceOffer]) -> list[ServiceOffer]:
    """Visible offers not chosen yet, by name: filtered in SQL, then at most CANDIDATE_LIMIT."""
    return list(
        db.session.scalars(
            catalog.visible_offers_query(user)
            .where(ServiceOffer.id.not_in([offer.id for offer in chosen]))
            .order_by(ServiceOffer.name, ServiceOffer.id)
            .limit(CANDIDATE_LIMIT)
        )
    )
