"""Audiences: which consumer groups see an offer, pilot groups and canary publication."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import sqlalchemy as sa

from ... import validation as check
from ...accounts.models import ConsumerGroup, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _, gettext
from .. import signals
from ..models import OfferSettings, offer_audience
from .access import CATALOG_ROLES
from .revisions import revisions_of, settings_for

T = TypeVar("T")


def split_audience(rows: Iterable[tuple[T, bool]], canary: bool) -> tuple[list[T], list[T]]:
    """(whole audience, pilot groups) from an offer's audience rows (group, is_pilot).

    Out of canary every row is the audience (empty: everyone) and there are no pilots. In
    canary the pilot rows are the pilots; the whole audience is every row when some group
    beyond the pilots is named, else everyone (`set_audience` refuses a named audience that is
    just the pilots, so the two cannot be confused)."""
    rows = list(rows)
    pilots = [group for group, pilot in rows if pilot] if canary else []
    if canary and all(pilot for _, pilot in rows):
        return [], pilots
    return [group for group, _ in rows], pilots


def audience_of(code: str) -> tuple[list[ConsumerGroup], list[ConsumerGroup]]:
    """(whole audience, pilot groups) of an offer; an empty audience means everyone."""
    rows = db.session.execute(
        sa.select(ConsumerGroup, offer_audience.c.is_pilot)
        .join(offer_audience, offer_audience.c.group_id == ConsumerGroup.id)
        .where(offer_audience.c.offer_code == code)
        .order_by(ConsumerGroup.name)
    ).all()
    settings = db.session.get(OfferSettings, code)
    return split_audience(rows, bool(settings and settings.canary))


def _check_audience(group_ids: set[int], pilot_ids: set[int], canary: bool) -> None:
    """The audience rule. Pilot groups are part of the audience: any groups when the audience
    is everyone, else some of the audience groups, never one outside them (nothing is added
    to an audience that was not asked for). A named audience must hold a group beyond its
    pilots, because widening a canary publishes to the rest: one that is only its pilots has
    no canary phase, and is refused with what to do instead."""
    errors: check.Errors = {}
    names = dict(
        db.session.execute(
            sa.select(ConsumerGroup.id, ConsumerGroup.name).where(
                ConsumerGroup.id.in_(group_ids | pilot_ids)
            )
        ).all()
    )
    if (group_ids | pilot_ids) - set(names):
        check.add(errors, "group_ids", gettext("Choose existing groups."))
    elif canary and not pilot_ids:
        check.add(
            errors,
            "pilot_group_ids",
            gettext("A canary publication needs at least one pilot group."),
        )
    elif canary and group_ids and pilot_ids - group_ids:
        outside = ", ".join(sorted(names[g] for g in pilot_ids - group_ids))
        check.add(
            errors,
            "pilot_group_ids",
            _(
                "Pilot groups are part of the audience: %(groups)s is not in it. Add %(groups)s "
                "to the audience groups, or choose pilots among them.",
                groups=outside,
            ),
        )
    elif canary and group_ids and group_ids == pilot_ids:
        check.add(
            errors,
            "canary",
            _(
                "Every audience group is a pilot group, so the canary would have no one to "
                "widen to. To show the offer to %(groups)s only, save it without canary; to run "
                "a canary, add the groups that get it after the pilots.",
                groups=", ".join(sorted(names[g] for g in group_ids)),
            ),
        )
    if errors:
        raise ValidationFailed(gettext("The audience could not be saved."), fields=errors)


def set_audience(
    actor: User,
    code: str,
    *,
    group_ids: Iterable[int],
    pilot_group_ids: Iterable[int] = (),
    canary: bool = False,
) -> None:
    """Who may see an offer; takes effect at once for every revision. No groups means everyone.

    In canary only the pilot groups see it, until the offer is widened to its whole audience
    (the groups, which hold the pilots; none: everyone); see `_check_audience` for the rule.
    Out of canary there are no pilots: pilot groups given then are not stored."""
    require_role(actor, *CATALOG_ROLES, message=gettext("Only catalog managers set audiences."))
    if not revisions_of(code):
        raise NotFound(gettext("No such offer."))
    group_ids, pilot_ids = set(group_ids), set(pilot_group_ids) if canary else set()
    _check_audience(group_ids, pilot_ids, canary)
    audience_before, pilots_before = audience_of(code)
    settings = settings_for(code)
    canary_before = settings.canary
    db.session.execute(sa.delete(offer_audience).where(offer_audience.c.offer_code == code))
    rows = [  # with a named audience the pilots are among its groups (checked above)
        {"offer_code": code, "group_id": gid, "is_pilot": gid in pilot_ids}
        for gid in sorted(group_ids | pilot_ids)
    ]
    if rows:
        db.session.execute(sa.insert(offer_audience), rows)
    settings.canary = canary
    names = {
        g.id: g.name
        for g in db.session.scalars(
            sa.select(ConsumerGroup).where(ConsumerGroup.id.in_(group_ids | pilot_ids))
        )
    }
    audience_after = group_ids | pilot_ids if group_ids else set()
    changes = audit.diff(
        {
            "audience": sorted(g.name for g in audience_before),
            "pilots": sorted(g.name for g in pilots_before),
            "canary": canary_before,
        },
        {
            "audience": sorted(names[g] for g in audience_after),
            "pilots": sorted(names[g] for g in pilot_ids),
            "canary": canary,
        },
    )
    audit.record(actor, "offer_audience", code, "audience_changed", changes=changes, summary=code)
    db.session.flush()
    signals.audience_changed.send(
        code,
        canary_ended=canary_before and not canary,
        pilot_group_ids=sorted(g.id for g in pilots_before),
    )


def widen_audience(actor: User, code: str) -> None:
    """End a canary: the offer becomes visible to its whole audience (everyone when no group
    beyond the pilots was named) at once, and the rest of the audience is told."""
    audience, _pilots = audience_of(code)
    set_audience(actor, code, group_ids=[group.id for group in audience], canary=False)


def audiences_for(codes: Iterable[str]) -> dict[str, list[str]]:
    """Audience labels per offer code, in one query (for lists): group names, pilot groups
    marked "(pilot)" while in canary; an empty list means everyone."""
    codes = sorted(set(codes))
    result: dict[str, list[str]] = {code: [] for code in codes}
    if not codes:
        return result
    rows = db.session.execute(
        sa.select(
            offer_audience.c.offer_code,
            ConsumerGroup.name,
            offer_audience.c.is_pilot,
            OfferSettings.canary,
        )
        .join(ConsumerGroup, ConsumerGroup.id == offer_audience.c.group_id)
        .outerjoin(OfferSettings, OfferSettings.offer_code == offer_audience.c.offer_code)
        .where(offer_audience.c.offer_code.in_(codes))
        .order_by(ConsumerGroup.name)
    ).all()
    by_code: dict[str, list[tuple[str, bool]]] = {}
    in_canary: set[str] = set()
    for code, name, is_pilot, canary in rows:
        by_code.setdefault(code, []).append((name, bool(is_pilot)))
        if canary:
            in_canary.add(code)
    for code, entries in by_code.items():
        audience, pilots = split_audience(entries, code in in_canary)
        labels = [f"{name} (pilot)" for name in pilots]
        labels += [name for name in audience if name not in pilots]
        if pilots and not audience:
            labels.append("then everyone")
        result[code] = labels
    return result
