"""The cart of the Consume stream: offers with their options that a consumer collects, kept on
the server per user, priced as the order form prices them, to order in one checkout
(cart_checkout.py). Each item is checked as an order would be when it is added or changed; an
item whose offer was retired, is no longer orderable or left the consumer's audience since is
flagged, with its replacement when there is one, and blocks the checkout until removed.

Every change goes through `_changed`, which bumps the cart's version with an SQL increment
(holding the cart's row until the unit of work ends) and notes what changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ... import clock
from ... import validation as check
from ...accounts.models import User
from ...catalog import services as catalog
from ...catalog.models import OfferStatus, ServiceOffer
from ...errors import NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ..cart_models import Cart, CartItem
from . import drafts, lease_terms, orders, selection

MAX_ITEMS = 20
CHANGES_KEPT = 50
PERIODS = ("one_time", "monthly")


# --- the cart and its version -----------------------------------------------------------------


def cart_of(user: User) -> Cart | None:
    return db.session.scalar(sa.select(Cart).where(Cart.user_id == user.id))


def _cart_for(user: User) -> Cart:
    """The user's cart, made on first use (a concurrent first use finds the other's)."""
    cart = cart_of(user)
    if cart is not None:
        return cart
    try:
        with db.session.begin_nested():
            cart = Cart(user_id=user.id, version=1, changes=[], updated_at=clock.now())
            db.session.add(cart)
    except IntegrityError:
        cart = cart_of(user)
    return cart


def lock(cart: Cart, *, bump: bool) -> Cart:
    """Hold the cart's row until the unit of work ends (an UPDATE, so it also waits for another
    request holding it) and read it afresh; with `bump`, its version goes up by one."""
    db.session.execute(
        sa.update(Cart)
        .where(Cart.id == cart.id)
        .values(version=Cart.version + (1 if bump else 0))
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(cart)
    return cart


def _changed(cart: Cart, change: str, item_id: int, offer: ServiceOffer) -> None:
    lock(cart, bump=True)
    entry = {"version": cart.version, "change": change, "item_id": item_id, "offer": offer.name}
    cart.changes = [*(cart.changes or []), entry][-CHANGES_KEPT:]
    cart.updated_at = clock.now()
    db.session.flush()


def noted(cart: Cart, change: str, items: list[CartItem]) -> None:
    """One version for a change of several items (the checkout's "ordered")."""
    lock(cart, bump=True)
    entries = [
        {"version": cart.version, "change": change, "item_id": item.id, "offer": item.offer.name}
        for item in items
    ]
    cart.changes = [*(cart.changes or []), *entries][-CHANGES_KEPT:]
    cart.updated_at = clock.now()
    db.session.flush()


def changes_since(cart: Cart, version: int) -> list[str]:
    """What changed in the cart after `version`, in words, oldest first."""
    words = {
        "added": _("%(offer)s was added."),
        "changed": _("%(offer)s was changed."),
        "removed": _("%(offer)s was removed."),
        "ordered": _("%(offer)s was ordered in another checkout."),
    }
    kept = cart.changes or []
    lines = [
        str(words[entry["change"]]) % {"offer": entry["offer"]}
        for entry in kept
        if entry["version"] > version and entry["change"] in words
    ]
    if kept and kept[0]["version"] > version + 1:
        lines.append(_("…and earlier changes."))
    return lines


# --- items --------------------------------------------------------------------------------------


def item_for(user: User, item_id: Any) -> CartItem:
    """One item of the user's cart; someone else's is not found."""
    orders.require_consumer(user)
    item = get_by_id(CartItem, item_id)
    if item is None or item.cart.user_id != user.id:
        raise NotFound(_("No such item in your cart."))
    return item


def add_item(
    actor: User,
    offer_id: Any,
    *,
    options: Any,
    accept_terms: bool = False,
    group_id: Any = None,
    draft_id: Any = None,
    lease_ends_on: Any = None,
) -> CartItem:
    """Add an offer with its options and, for an offer whose orderer chooses it, the lease's end
    (checked as an order checks them) to the actor's cart; added from a resumed draft
    (`draft_id`), the draft is done and deleted."""
    orders.require_consumer(actor)
    draft = drafts.draft_for(actor, draft_id) if draft_id not in (None, "") else None
    offer = selection.orderable_offer(actor, offer_id)
    cleaned, ends_on = _options_and_end(offer, {} if options is None else options, lease_ends_on)
    group = orders.ordering_group(actor, group_id)
    cart = _cart_for(actor)
    lock(cart, bump=False)
    if len(cart.items) >= MAX_ITEMS:
        message = _("A cart holds up to %(num)d items: check out first.", num=MAX_ITEMS)
        raise ValidationFailed(message, fields={"offer_id": [message]})
    item = CartItem(
        cart=cart,
        offer_id=offer.id,
        options=cleaned,
        accept_terms=accept_terms is True,
        group_id=group.id,
        added_at=clock.now(),
        offer_version=offer.version,
        offer_status=offer.status,
        lease_ends_on=ends_on,
    )
    db.session.add(item)
    db.session.flush()
    if draft is not None:
        drafts.discard(actor, draft.id)
    _changed(cart, "added", item.id, offer)
    return item


def change_item(
    actor: User,
    item_id: Any,
    *,
    options: Any = None,
    accept_terms: bool | None = None,
    group_id: Any = None,
    lease_ends_on: Any = None,
) -> CartItem:
    """Change an item's options (checked again), its group, its lease's end (None: unchanged;
    empty: the default) or whether its terms are accepted."""
    item = item_for(actor, item_id)
    if options is not None or group_id not in (None, "") or lease_ends_on is not None:
        offer = selection.orderable_offer(actor, item.offer_id)
        cleaned, ends_on = _options_and_end(offer, options, lease_ends_on)
        group = orders.ordering_group(actor, group_id) if group_id not in (None, "") else None
        if cleaned is not None:
            item.options = cleaned
        if group is not None:
            item.group_id = group.id
        if lease_ends_on is not None:
            item.lease_ends_on = ends_on
        item.offer_version, item.offer_status = offer.version, offer.status
    if accept_terms is not None:
        item.accept_terms = accept_terms is True
    db.session.flush()
    _changed(item.cart, "changed", item.id, item.offer)
    return item


def _options_and_end(
    offer: ServiceOffer, options: Any, lease_ends_on: Any
) -> tuple[dict | None, date | None]:
    """The cleaned options (None when not sent) and the lease's chosen end day (None when the
    offer does not ask for one or none was chosen: the default at checkout), their field errors
    reported together as an order reports them."""
    errors: check.Errors = {}
    chosen = lease_terms.chosen_end(errors, offer, lease_ends_on)
    try:
        cleaned = selection.clean_options(offer, options) if options is not None else None
    except ValidationFailed as error:
        raise ValidationFailed(error.message, fields={**error.fields, **errors}) from None
    if errors:
        raise ValidationFailed(_("Choose when the lease ends."), fields=errors)
    empty = lease_ends_on is None or (isinstance(lease_ends_on, str) and not lease_ends_on.strip())
    return cleaned, None if chosen is None or empty else chosen.date()


def remove_item(actor: User, item_id: Any) -> None:
    item = item_for(actor, item_id)
    cart, offer, removed_id = item.cart, item.offer, item.id
    db.session.delete(item)
    db.session.flush()
    _changed(cart, "removed", removed_id, offer)


def item_count_query(user: User) -> sa.Select:
    """How many items the user's cart holds (the header shows it)."""
    return sa.select(sa.func.count(CartItem.id)).join(Cart).where(Cart.user_id == user.id)


def item_count(user: User) -> int:
    return db.session.scalar(item_count_query(user))


# --- what the cart shows ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Looked:
    """What the flags of a cart's items read from the catalog, read once for all of them: the
    offers in the consumer's audience, the live revision of each code involved, and which of
    those the consumer may see."""

    in_audience: set[int]
    live: dict[str, ServiceOffer]
    visible: set[int]

    def replacement(self, offer: ServiceOffer) -> ServiceOffer | None:
        """As catalog.replacement_for: the live, orderable, visible revision it points to."""
        found = self.live.get(offer.replacement_code or "")
        if found is None or not found.is_orderable() or found.id not in self.visible:
            return None
        return found


def _look_up(user: User, items: list[CartItem]) -> _Looked:
    offers = {item.offer.id: item.offer for item in items}
    codes = {offer.code for offer in offers.values()}
    codes |= {offer.replacement_code for offer in offers.values() if offer.replacement_code}
    live = catalog.live_revisions(codes)
    return _Looked(
        in_audience=catalog.audience_ids(user, set(offers), as_consumer=True),
        live=live,
        visible=catalog.audience_ids(user, {offer.id for offer in live.values()}),
    )


def flags(user: User, items: list[CartItem]) -> dict[int, dict | None]:
    """Each item's flag by item id: why it cannot be ordered now, if it cannot
    ({"reason": retired | superseded | not_orderable | audience, "message", "replacement": the
    offer to order instead or None}); three statements whatever the number of items."""
    looked = _look_up(user, items) if items else None
    return {item.id: _flag(user, item, looked) for item in items}


def _flag(user: User, item: CartItem, looked: _Looked) -> dict | None:
    offer = item.offer
    replacement = looked.replacement(offer)
    if offer.id not in looked.in_audience:
        reason = "audience"
        message = _("%(name)s is no longer offered to your groups.", name=offer.name)
    elif offer.status == OfferStatus.SUPERSEDED.value:
        reason, live = "superseded", looked.live.get(offer.code)
        replacement = live if live is not None and live.is_orderable() else replacement
        message = _("%(name)s has a new revision since you added it.", name=offer.name)
    elif _retired_since(item):
        reason = "retired"
        message = _("%(name)s was retired since you added it.", name=offer.name)
    elif not offer.is_orderable():
        reason = "not_orderable"
        message = _("%(name)s cannot be ordered now.", name=offer.name)
    else:
        return None
    if replacement is not None and replacement.id != offer.id:
        message += " " + _("Remove it and order %(name)s instead.", name=replacement.name)
    else:
        replacement = None
        message += " " + _("Remove it to check out the rest.")
    return {"reason": reason, "message": message, "replacement": replacement}


def _retired_since(item: CartItem) -> bool:
    """Retired and past its last day, or retired after it was added (an offer already retiring
    when added stays orderable to its last day, as on its order form)."""
    offer = item.offer
    if offer.display_status() in ("retired", "expired"):
        return True
    return offer.status == OfferStatus.RETIRED.value and item.offer_status != offer.status


def described(offer: ServiceOffer, options: dict) -> list[tuple[str, Any]]:
    """The chosen options as (label, value), in the form's order."""
    return [
        (option.get("label") or option["key"], options[option["key"]])
        for option in offer.options or []
        if option["key"] in options
    ]


def cart_page(user: User) -> dict:
    """The cart: its version, its items (each with its offer, options in words, priced
    breakdown and flag), the totals one-time and monthly per currency, and whether anything
    blocks the checkout."""
    orders.require_consumer(user)
    cart = db.session.scalar(
        sa.select(Cart)
        .where(Cart.user_id == user.id)
        .options(
            selectinload(Cart.items).selectinload(CartItem.group),
            selectinload(Cart.items).selectinload(CartItem.offer),
        )
    )
    items = list(cart.items) if cart is not None else []
    flagged = flags(user, items)
    in_force = catalog.in_force_by_id({item.offer.id: item.offer for item in items}.values())
    rows = [
        {
            "item": item,
            "offer": item.offer,
            "options": described(item.offer, item.options or {}),
            "breakdown": selection.priced(
                item.offer, item.options or {}, in_force[item.offer.id][0] or Decimal("0.00")
            ),
            "flag": flagged[item.id],
        }
        for item in items
    ]
    return {
        "version": cart.version if cart is not None else 0,
        "rows": rows,
        "totals": totals(rows),
        "blocked": any(row["flag"] for row in rows),
    }


def totals(rows: list[dict]) -> list[dict]:
    """The one-time and monthly totals, one line per currency (a yearly price is in neither)."""
    sums: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        line = sums.setdefault(row["offer"].currency, dict.fromkeys(PERIODS, Decimal("0.00")))
        for period in PERIODS:
            line[period] += Decimal(row["breakdown"]["totals"][period])
    return [
        {"currency": currency, **{period: str(line[period]) for period in PERIODS}}
        for currency, line in sorted(sums.items())
    ]
