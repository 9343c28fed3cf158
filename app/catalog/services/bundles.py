"""Bundles: offers whose members are other offers, in sequence."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ... import validation as check
from ...accounts.models import User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import InvalidTransition, NotFound, ValidationFailed
from ...extensions import db
from ...i18n import format_day, gettext
from ..models import EDITABLE_STATUSES, LIVE_STATUSES, BundleMember, OfferStatus, ServiceOffer
from .access import CATALOG_ROLES
from .pricing import bundle_sums
from .revisions import bump, check_version, flush_offer, get_offer


def bundles_containing(code: str) -> list[ServiceOffer]:
    return list(
        db.session.scalars(
            sa.select(ServiceOffer)
            .join(BundleMember, BundleMember.bundle_id == ServiceOffer.id)
            .where(
                BundleMember.member_code == code,
                ServiceOffer.status.not_in([OfferStatus.SUPERSEDED.value]),
            )
        )
    )


def member_offers(bundle: ServiceOffer) -> list[tuple[BundleMember, ServiceOffer | None]]:
    codes = [m.member_code for m in bundle.members]
    live = (
        {
            o.code: o
            for o in db.session.scalars(
                sa.select(ServiceOffer).where(
                    ServiceOffer.code.in_(codes), ServiceOffer.status.in_(LIVE_STATUSES)
                )
            )
        }
        if codes
        else {}
    )
    return [(member, live.get(member.member_code)) for member in bundle.members]


def bundle_problems(bundle: ServiceOffer) -> list[str]:
    """Why a bundle is flagged: members that are missing, retired or not orderable."""
    problems = []
    for member, offer in member_offers(bundle):
        if offer is None:
            problems.append(f"{member.member_code} is not published.")
        elif offer.status == OfferStatus.RETIRED:
            problems.append(f"{member.member_code} is retired.")
        elif not offer.is_orderable() and offer.display_status() != "scheduled":
            problems.append(f"{member.member_code} is {offer.display_status()}.")
    return problems


def check_bundle_validity(
    bundle: ServiceOffer,
    window: tuple[datetime | None, datetime | None] | None = None,
    members: Iterable[ServiceOffer | None] | None = None,
) -> None:
    """The bundle's validity (its own, or the (valid_from, valid_to) window about to be saved)
    lies within each member's (the bundle's members, or the offers about to become them)."""
    errors: check.Errors = {}
    valid_from, valid_to = window if window is not None else (bundle.valid_from, bundle.valid_to)
    if members is None:
        members = [offer for _member, offer in member_offers(bundle)]
    for offer in members:
        if offer is None:
            continue
        if offer.valid_from and (valid_from is None or valid_from < offer.valid_from):
            check.add(
                errors,
                "valid_from",
                gettext(
                    "The bundle cannot start before %(code)s (%(day)s).",
                    code=offer.code,
                    day=format_day(offer.valid_from),
                ),
            )
        if offer.valid_to and (valid_to is None or valid_to > offer.valid_to):
            check.add(
                errors,
                "valid_to",
                gettext(
                    "The bundle cannot end after %(code)s (%(day)s).",
                    code=offer.code,
                    day=format_day(offer.valid_to),
                ),
            )
    if errors:
        raise ValidationFailed(
            gettext("The bundle's validity reaches beyond its members'."), fields=errors
        )


def _published_members(bundle: ServiceOffer, codes: list[str]) -> dict[str, ServiceOffer]:
    """The offers about to be `bundle`'s members, by code: each once, published, no bundle."""
    errors: check.Errors = {}
    if len(set(codes)) != len(codes):
        check.add(errors, "members", gettext("Each offer can be in the bundle once."))
    live = (
        {
            o.code: o
            for o in db.session.scalars(
                sa.select(ServiceOffer).where(
                    ServiceOffer.code.in_(codes), ServiceOffer.status.in_(LIVE_STATUSES)
                )
            )
        }
        if codes
        else {}
    )
    for code in codes:
        offer = live.get(code)
        if code == bundle.code:
            check.add(errors, "members", gettext("A bundle cannot contain itself."))
        elif offer is None or offer.status != OfferStatus.PUBLISHED:
            check.add(errors, "members", f"{code} is not a published offer.")
        elif offer.is_bundle:
            check.add(errors, "members", f"{code} is itself a bundle; bundles hold single offers.")
    if errors:
        raise ValidationFailed(gettext("The bundle could not be saved."), fields=errors)
    return live


def set_bundle_members(
    actor: User | None,
    bundle_id: int,
    member_codes: list[str],
    *,
    expected_version: int | None = None,
) -> ServiceOffer:
    """Set a bundle's members in order; each must be a published, non-bundle offer."""
    require_role(actor, *CATALOG_ROLES, message=gettext("Only catalog managers compose bundles."))
    bundle = get_offer(bundle_id)
    check_version(bundle, expected_version)
    if not bundle.is_bundle:
        raise ValidationFailed(
            gettext("Only a bundle offer has members."),
            fields={"kind": [gettext("Set the kind to bundle first.")]},
        )
    if bundle.status not in EDITABLE_STATUSES:
        raise InvalidTransition(
            gettext("Create a new revision to change a published bundle."),
            fields={"status": [gettext("Not editable.")]},
        )
    codes = [str(code).strip().upper() for code in member_codes if str(code).strip()]
    live = _published_members(bundle, codes)
    check_bundle_validity(bundle, members=[live[code] for code in codes])
    before = [m.member_code for m in bundle.members]
    # Delete the old rows first: the unit of work would insert the new ones before deleting
    # the orphans, and a kept member would break uq_bundle_member.
    bundle.members.clear()
    db.session.flush()
    bundle.members = [
        BundleMember(member_code=code, position=index) for index, code in enumerate(codes)
    ]
    db.session.flush()
    changes = {**audit.diff({"members": before}, {"members": codes}), **bump(bundle)}
    audit.record(actor, "offer", bundle.id, "members_changed", changes=changes, summary=bundle.code)
    flush_offer(bundle)
    return bundle


def move_bundle_member(
    actor: User, bundle_id: int, code: str, direction: str, *, expected_version: int | None = None
) -> ServiceOffer:
    require_role(actor, *CATALOG_ROLES, message=gettext("Only catalog managers compose bundles."))
    bundle = get_offer(bundle_id)
    codes = [m.member_code for m in bundle.members]
    if code not in codes:
        raise NotFound(gettext("That offer is not in the bundle."))
    index = codes.index(code)
    if direction == "remove":
        codes.pop(index)
    else:
        other = index - 1 if direction == "up" else index + 1
        if direction not in ("up", "down") or not 0 <= other < len(codes):
            raise ValidationFailed(
                gettext("The member cannot move further that way."),
                fields={"members": [gettext("Already at the end.")]},
            )
        codes[index], codes[other] = codes[other], codes[index]
    return set_bundle_members(actor, bundle_id, codes, expected_version=expected_version)


def bundle_member_total(bundle: ServiceOffer) -> dict[str, Decimal]:
    """The members' prices in force, summed per billing period (billing period → sum)."""
    return bundle_sums(offer for _, offer in member_offers(bundle) if offer is not None)
