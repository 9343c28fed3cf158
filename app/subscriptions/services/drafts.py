"""Saved drafts of an order form: the values a consumer entered, kept per user without checking
required fields (ordering checks everything). Only the offer's option keys are kept, and not the
values of fields hidden by their `visible_when`. Resuming keeps the values of fields that still
exist and says which saved values no longer apply (a field removed, a choice no longer offered,
a field a changed condition now hides, a value outside changed limits)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ... import clock, conditions
from ...accounts.models import User
from ...catalog import services as catalog
from ...catalog.models import LIVE_STATUSES, ServiceOffer
from ...errors import NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ..draft_models import OrderDraft
from . import selection


def _kept_options(offer: ServiceOffer, raw: dict) -> dict:
    """The entered values of the offer's fields that are shown as the form stands."""
    definitions = offer.options or []
    known = {
        option["key"]: raw[option["key"]]
        for option in definitions
        if option["key"] in raw and raw[option["key"]] not in (None, "")
    }
    settled = selection.tentative_options(offer, known)
    return {
        option["key"]: known[option["key"]]
        for option in definitions
        if option["key"] in known and conditions.evaluate(option.get("visible_when"), settled)
    }


def save(
    user: User,
    offer: ServiceOffer,
    options: dict,
    *,
    group_id: str | None = None,
    requested_for: list[str] | None = None,
    draft_id: int | None = None,
    lease_ends_on: str | None = None,
) -> OrderDraft:
    """Save the order form as it stands: a new draft, or the resumed one (`draft_id`). The
    lease's end, as typed, is kept unchecked (ordering checks it against that day)."""
    kept = _kept_options(offer, options or {})
    labels = {
        option["key"]: option.get("label") or option["key"]
        for option in offer.options or []
        if option["key"] in kept
    }
    values: dict[str, Any] = {"options": kept, "labels": labels}
    if group_id:
        values["group_id"] = str(group_id)
    if requested_for:
        values["requested_for"] = [str(person) for person in requested_for]
    if lease_ends_on and offer.lease_end_chosen:
        values["lease_ends_on"] = str(lease_ends_on)[:40]
    draft = draft_for(user, draft_id) if draft_id is not None else None
    if draft is None:
        draft = OrderDraft(user_id=user.id, offer_id=offer.id, created_at=clock.now())
        db.session.add(draft)
    draft.offer_id, draft.values, draft.updated_at = offer.id, values, clock.now()
    db.session.flush()
    return draft


DRAFTS_LISTED = 50


def drafts_of(user: User) -> list[OrderDraft]:
    """The user's drafts, the last saved first (the newest DRAFTS_LISTED), with their offers."""
    return list(
        db.session.scalars(
            sa.select(OrderDraft)
            .where(OrderDraft.user_id == user.id)
            .options(joinedload(OrderDraft.offer))
            .order_by(OrderDraft.updated_at.desc(), OrderDraft.id.desc())
            .limit(DRAFTS_LISTED)
        )
    )


def drafts_to_resume(user: User) -> list[tuple[OrderDraft, int]]:
    """The user's drafts, each with the offer to resume it on (as resume_offer_id), in two
    queries whatever their number (My subscriptions lists them)."""
    listed = drafts_of(user)
    codes = {draft.offer.code for draft in listed}
    live = dict(
        db.session.execute(
            sa.select(ServiceOffer.code, ServiceOffer.id).where(
                ServiceOffer.code.in_(codes), ServiceOffer.status.in_(LIVE_STATUSES)
            )
        ).all()
        if codes
        else []
    )
    return [(draft, live.get(draft.offer.code, draft.offer_id)) for draft in listed]


def draft_for(user: User, draft_id: Any) -> OrderDraft:
    """One of the user's drafts; someone else's is not found."""
    draft = get_by_id(OrderDraft, draft_id)
    if draft is None or draft.user_id != user.id:
        raise NotFound(_("No such draft."))
    return draft


def draft_on(user: User, draft_id: Any, offer: ServiceOffer) -> OrderDraft:
    """One of the user's drafts of `offer` (any revision of its code): resuming a draft on
    another offer's form is not found either."""
    draft = draft_for(user, draft_id)
    if draft.offer.code != offer.code:
        raise NotFound(_("No such draft."))
    return draft


def resume_offer_id(draft: OrderDraft) -> int:
    """The offer to resume a draft on: the live revision of its offer's code, if there is one."""
    live = catalog.live_revision(draft.offer.code)
    return live.id if live is not None else draft.offer_id


def _offered(option: dict, value: Any, saved: dict) -> bool:
    if option["type"] != "choice":
        return True
    if option.get("choice_list"):
        return isinstance(value, str) and catalog.choice_list_has(option["choice_list"], value)
    if option.get("depends_on"):
        parent = conditions.as_text(saved.get(option["depends_on"]))
        return value in (option.get("choice_map") or {}).get(parent, [])
    return value in (option.get("choices") or [])


def resumed(draft: OrderDraft, offer: ServiceOffer) -> tuple[dict, list[str]]:
    """(the saved values that still apply to the offer's form, what no longer applies)."""
    saved = dict((draft.values or {}).get("options") or {})
    labels = (draft.values or {}).get("labels") or {}
    by_key = {option["key"]: option for option in offer.options or []}
    kept: dict = {}
    stale: list[str] = []
    for key, value in saved.items():
        option = by_key.get(key)
        label = option.get("label") if option else labels.get(key, key)
        if option is None:
            stale.append(_("%(label)s: this field is no longer on the form.", label=label))
        elif not _offered(option, value, saved):
            stale.append(
                _("%(label)s: “%(value)s” is no longer offered.", label=label, value=value)
            )
        else:
            kept[key] = value
    return _settled(offer, kept, stale)


def _settled(offer: ServiceOffer, kept: dict, stale: list[str]) -> tuple[dict, list[str]]:
    """Drop, and name, the kept values the form would not take as it stands now: a field that
    a changed condition hides, or a value outside a field's changed limits."""
    settled = selection.tentative_options(offer, kept)
    try:
        selection.clean_options(offer, kept)
        refused: dict = {}
    except ValidationFailed as failure:
        refused = failure.fields or {}
    for option in offer.options or []:
        key, label = option["key"], option.get("label") or option["key"]
        if key not in kept:
            continue
        if not conditions.evaluate(option.get("visible_when"), settled):
            stale.append(_("%(label)s: no longer applies with your other choices.", label=label))
        elif f"options.{key}" in refused:
            stale.append(
                _("%(label)s: “%(value)s” is no longer accepted.", label=label, value=kept[key])
            )
        else:
            continue
        del kept[key]
    return kept, stale


def discard(user: User, draft_id: Any) -> None:
    db.session.delete(draft_for(user, draft_id))
    db.session.flush()
