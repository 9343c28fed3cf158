"""The offer lifecycle: its transition table, the guards (readiness first), the
effects of publication and retirement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ... import clock
from ... import validation as check
from ...accounts.models import User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import InvalidTransition, ValidationFailed
from ...extensions import db
from ...i18n import format_day, format_when, gettext
from ...knowledge.models import ArticleStatus, KnowledgeArticle, offer_articles
from ...versioning import version_change
from .. import signals
from ..models import OfferStatus, ReleaseStatus, ServiceOffer
from ..states import OFFER
from .access import CATALOG_ROLES
from .bundles import bundle_problems
from .pricing import price_of_revision
from .revisions import (
    check_version,
    flush_offer,
    get_offer,
    live_revision,
    live_revision_excluding,
)


def _has_published_article(code: str) -> bool:
    """Whether a published knowledge article is linked to the offer (read from the knowledge
    models: the knowledge rules sit above the catalog)."""
    exists = db.session.scalar(
        sa.select(
            sa.exists().where(
                offer_articles.c.offer_code == code,
                offer_articles.c.article_id == KnowledgeArticle.id,
                KnowledgeArticle.status == ArticleStatus.PUBLISHED.value,
            )
        )
    )
    return bool(exists)


def _terms_items(offer: ServiceOffer) -> list[tuple[str, str, bool, str]]:
    """Readiness of what the offer promises: price, terms, service levels and its plan (or,
    for a bundle, its members)."""
    levels = offer.service_levels or {}
    items = [
        (
            "price",
            gettext("Price set"),
            offer.price is not None,
            gettext("Set a price (0 for free offers)."),
        ),
        (
            "terms",
            gettext("Terms and conditions"),
            bool((offer.terms or "").strip()),
            gettext("Write the terms and conditions."),
        ),
        (
            "service_levels",
            gettext("Service levels"),
            all(
                levels.get(key)
                for key in (
                    "availability_pct",
                    "fulfillment_target_hours",
                    "response_hours",
                    "resolution_hours",
                )
            ),
            gettext("Set availability, fulfillment target, and response and resolution targets."),
        ),
    ]
    if offer.is_bundle:
        items.append(
            (
                "members",
                gettext("Bundle members"),
                len(offer.members) >= 2,
                gettext("Add at least two published offers to the bundle."),
            )
        )
    else:
        items.append(
            (
                "fulfillment_plan",
                gettext("Fulfillment plan"),
                bool(offer.fulfillment_plan),
                gettext("Add at least one fulfillment step."),
            )
        )
    return items


def readiness(offer: ServiceOffer) -> list[dict]:
    """The checklist that gates `ready`: each item with whether it passes and what is missing."""
    plan = offer.support_plan or {}
    items = _terms_items(offer)
    items += [
        (
            "support_plan",
            gettext("Support plan"),
            bool(plan.get("tier1_group") and plan.get("channels")),
            gettext("Name the tier-1 group and at least one support channel."),
        ),
        (
            "knowledge",
            gettext("Knowledge article"),
            _has_published_article(offer.code),
            gettext("Link at least one published knowledge article."),
        ),
    ]
    if offer.release_id is not None:
        deployed = offer.release is not None and offer.release.status == ReleaseStatus.DEPLOYED
        items.append(
            (
                "release",
                gettext("Release deployed"),
                deployed,
                gettext(
                    "Release %(value)s must be deployed first.",
                    value=offer.release.label if offer.release else "",
                ),
            )
        )
    return [
        {"key": key, "label": label, "ok": ok, "hint": "" if ok else hint}
        for key, label, ok, hint in items
    ]


def _require_ready(offer: ServiceOffer) -> None:
    missing = [item for item in readiness(offer) if not item["ok"]]
    if missing:
        raise InvalidTransition(
            gettext("Not ready: %(hints)s", hints=" ".join(str(item["hint"]) for item in missing)),
            fields={item["key"]: [item["hint"]] for item in missing},
        )


def _require_code_not_retired(offer: ServiceOffer) -> None:
    live = live_revision(offer.code)
    if live is not None and live.id != offer.id and live.status == OfferStatus.RETIRED:
        raise InvalidTransition(
            gettext(
                "%(code)s is retired: revision %(revision)s cannot be published over it.",
                code=offer.code,
                revision=offer.revision,
            ),
            fields={"to": [gettext("%(code)s is retired.", code=offer.code)]},
        )


def _require_no_gap_after_live(offer: ServiceOffer) -> None:
    """A revision replaces the live one the moment it is published; starting later would leave
    the offer unorderable until then, so it must be valid from now."""
    live = live_revision(offer.code)
    starts = clock.as_utc(offer.valid_from)
    if live is None or live.id == offer.id or starts is None or starts <= clock.now():
        return
    message = gettext(
        "Revision %(revision)s would replace the live revision now but is valid only from "
        "%(day)s: subscribers could not order in between. Publish it on that date, "
        "or set its validity to start today (use a price change for a dated new price).",
        revision=offer.revision,
        day=format_day(starts),
    )
    raise InvalidTransition(message, fields={"valid_from": [message]})


def _require_orderable_members(offer: ServiceOffer) -> None:
    if not offer.is_bundle:
        return
    problems = bundle_problems(offer)
    if problems:
        raise InvalidTransition(
            gettext("The bundle cannot be published: %(problems)s", problems=" ".join(problems)),
            fields={"members": problems},
        )


# (from, to) → guards run before the change: the moves a catalog manager makes (the machine in
# catalog/states.py also lets publication supersede the live revision, which nobody asks for).
OFFER_TRANSITIONS: dict[tuple[str, str], tuple] = {
    (OfferStatus.DRAFT, OfferStatus.PLANNED): (),
    (OfferStatus.PLANNED, OfferStatus.DRAFT): (),
    (OfferStatus.PLANNED, OfferStatus.READY): (_require_ready,),
    (OfferStatus.READY, OfferStatus.PLANNED): (),
    (OfferStatus.READY, OfferStatus.PUBLISHED): (
        _require_ready,
        _require_code_not_retired,
        _require_no_gap_after_live,
        _require_orderable_members,
    ),
    (OfferStatus.PUBLISHED, OfferStatus.RETIRED): (),
}


OFFER_STATUS_VALUES = frozenset(OFFER.states)


# The statuses a transition can lead to, in lifecycle order.
TRANSITION_TARGETS = tuple(
    status for status in OFFER.states if any(to == status for _, to in OFFER_TRANSITIONS)
)


def allowed_transitions(offer: ServiceOffer) -> list[str]:
    return [to for to in OFFER.targets(offer.status) if (offer.status, to) in OFFER_TRANSITIONS]


def _check_move(offer: ServiceOffer, to: str) -> None:
    """Refuse a move that is not a manager's (the machine's refusal, naming the moves a manager
    may make: being superseded is publication's doing, never asked for)."""
    if (offer.status, to) not in OFFER_TRANSITIONS:
        raise OFFER.refusal(offer.status, to, allowed_transitions(offer))


def transition_offer(
    actor: User | None,
    offer_id: int,
    to: str,
    *,
    expected_version: int | None = None,
    end_date: Any = None,
    replacement_code: str | None = None,
) -> ServiceOffer:
    require_role(
        actor,
        *CATALOG_ROLES,
        message=gettext("Only catalog managers move offers through their lifecycle."),
    )
    if not isinstance(to, str) or to not in OFFER_STATUS_VALUES:
        raise ValidationFailed(
            gettext("“%(to)s” is not an offer status.", to=to),
            fields={
                "to": [
                    gettext(
                        "Unknown status; choose one of: %(names)s.",
                        names=", ".join(TRANSITION_TARGETS),
                    )
                ]
            },
        )
    offer = get_offer(offer_id)
    check_version(offer, expected_version)
    _check_move(offer, to)
    for guard in OFFER_TRANSITIONS[(offer.status, to)]:
        guard(offer)
    # Check the retirement's end date and replacement before anything changes.
    retirement = (
        _check_retirement(offer, end_date, replacement_code) if to == OfferStatus.RETIRED else None
    )
    changes = {"status": {"before": offer.status, "after": to}, **version_change(offer)}
    previous = _supersede_live(actor, offer) if to == OfferStatus.PUBLISHED else None
    before = OFFER.move(offer, to)
    offer.updated_at = clock.now()
    if to == OfferStatus.PUBLISHED:
        offer.published_at = clock.now()
    if retirement is not None:
        changes.update(_retire(offer, *retirement[:2]))
    # Flush the move now: the announcements below query, and a racing writer is refused here.
    flush_offer(offer)
    if to == OfferStatus.PLANNED and before == OfferStatus.DRAFT:
        _on_planned(offer)
    elif to == OfferStatus.PUBLISHED:
        changes.update(_on_published(actor, offer, previous))
    elif retirement is not None:
        _on_retired(offer, retirement[2])
    audit.record(
        actor,
        "offer",
        offer.id,
        "transition",
        changes=changes,
        summary=f"{offer.code} r{offer.revision}: {before} → {to}",
    )
    return offer


def _on_planned(offer: ServiceOffer) -> None:
    signals.offer_planned.send(offer)


def _supersede_live(actor: User, offer: ServiceOffer) -> ServiceOffer | None:
    """Move the live revision of the offer's code to superseded and flush it, before the new
    revision's publication is flushed: the one-live-revision index allows one at a time."""
    with db.session.no_autoflush:
        previous = live_revision_excluding(offer)
    if previous is None:
        return None
    changes = {"status": {"before": previous.status, "after": OfferStatus.SUPERSEDED.value}}
    OFFER.move(previous, OfferStatus.SUPERSEDED)
    audit.record(
        actor,
        "offer",
        previous.id,
        "superseded",
        changes={**changes, **version_change(previous)},
        summary=f"by revision {offer.revision}",
    )
    flush_offer(previous)
    return previous


def _on_published(actor: User, offer: ServiceOffer, previous: ServiceOffer | None) -> dict:
    if previous is not None:
        price_of_revision(actor, offer, previous)
    db.session.flush()
    if previous is not None:
        signals.offer_changed.send(offer, previous=previous)
    else:
        signals.offer_published.send(offer)
    return {"superseded_revision": {"before": None, "after": previous.revision}} if previous else {}


def _check_retirement(
    offer: ServiceOffer, end_date: Any, replacement_code: str | None
) -> tuple[datetime, str | None, ServiceOffer | None]:
    """(end, replacement code, replacement offer) of a retirement, or ValidationFailed."""
    errors: check.Errors = {}
    now = clock.now()
    end = check.moment(errors, "end_date", end_date) or now
    if end < now.replace(second=0, microsecond=0):
        check.add(errors, "end_date", gettext("The end date cannot be in the past."))
    if offer.valid_to is not None and end > offer.valid_to:
        end = offer.valid_to
    if offer.valid_from is not None and end <= offer.valid_from:
        check.add(
            errors,
            "end_date",
            gettext(
                "This offer starts on %(when)s: retire it after that.",
                when=format_when(offer.valid_from),
            ),
        )
    replacement = None
    if replacement_code:
        replacement_code = str(replacement_code).strip().upper()
        replacement = live_revision(replacement_code)
        if replacement_code == offer.code:
            check.add(errors, "replacement_code", gettext("An offer cannot replace itself."))
        elif replacement is None or replacement.status != OfferStatus.PUBLISHED:
            check.add(errors, "replacement_code", f"{replacement_code} is not a published offer.")
    if errors:
        raise ValidationFailed(gettext("The offer could not be retired."), fields=errors)
    return end, replacement_code or None, replacement


def _retire(offer: ServiceOffer, end: datetime, replacement_code: str | None) -> dict:
    before = {"valid_to": offer.valid_to, "replacement_code": offer.replacement_code}
    offer.valid_to = end
    offer.replacement_code = replacement_code
    offer.retired_at = clock.now()
    return audit.diff(
        before, {"valid_to": offer.valid_to, "replacement_code": offer.replacement_code}
    )


def _on_retired(offer: ServiceOffer, replacement: ServiceOffer | None) -> None:
    signals.offer_retired.send(offer, replacement=replacement)
