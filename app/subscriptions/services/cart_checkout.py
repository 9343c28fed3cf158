"""Checking out the cart: every item ordered through `orders.subscribe` (so approvals, quotas
and holdings apply per item), all or none, once per idempotency key.

The cart's row is held first (cart.lock), so two submissions of one cart run one after the
other: the second finds the first's checkout under its key and gets the same orders back. The
request's fingerprint is the cart version it checked out: the same key sent for another
version of the cart is a conflict, never a second set of orders."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from ... import clock
from ...accounts.models import User
from ...errors import Conflict, DomainError, NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _
from ...inputs import whole_number
from ..cart_models import CartCheckout, CartItem
from ..models import Order
from . import cart as carts
from . import orders

KEY_LENGTH = 90  # the orders' keys add "#<position>" and hold 100


def _clean_key(key: Any) -> str:
    key = str(key or "").strip()
    if not key or len(key) > KEY_LENGTH:
        message = _("An idempotency key (1–%(num)d characters) is required.", num=KEY_LENGTH)
        raise ValidationFailed(
            message, fields={"idempotency_key": [_("Send a unique key for this checkout.")]}
        )
    return key


def _version(value: Any) -> int:
    version = whole_number(value, minimum=0)
    if version is None:
        raise ValidationFailed(
            _("Send the cart version you saw."),
            fields={"cart_version": [_("A whole number: the cart's version.")]},
        )
    return version


def _fingerprint(version: int) -> str:
    return hashlib.sha256(f"cart-version:{version}".encode()).hexdigest()


def checked_out(user: User, key: str) -> CartCheckout | None:
    return db.session.scalar(
        sa.select(CartCheckout).where(
            CartCheckout.user_id == user.id, CartCheckout.idempotency_key == key
        )
    )


def checkout_for(user: User, key: Any) -> CartCheckout:
    """One of the user's checkouts, by its key; someone else's is not found."""
    orders.require_consumer(user)
    done = checked_out(user, str(key or "")[:KEY_LENGTH])
    if done is None:
        raise NotFound(_("No such checkout."))
    return done


def orders_of(checkout: CartCheckout) -> list[Order]:
    """The checkout's orders, in the order of the cart's items."""
    found = {
        order.id: order
        for order in db.session.scalars(sa.select(Order).where(Order.id.in_(checkout.order_ids)))
    }
    return [found[order_id] for order_id in checkout.order_ids if order_id in found]


def checkout(
    actor: User,
    *,
    expected_cart_version: Any,
    idempotency_key: Any,
    accepted: dict[int, bool] | None = None,
) -> tuple[list[Order], bool]:
    """Order every item of the actor's cart as it stood at `expected_cart_version`. Returns
    (orders, created); the same key again returns the first checkout's orders, created False.
    `accepted` (item id → ticked), from the cart page's terms checkboxes, is applied first."""
    orders.require_consumer(actor)
    key, version = _clean_key(idempotency_key), _version(expected_cart_version)
    cart = carts.cart_of(actor)
    if cart is not None:
        carts.lock(cart, bump=False)
    done = checked_out(actor, key)
    if done is not None:
        if done.request_fingerprint != _fingerprint(version):
            raise Conflict(
                _("This idempotency key was already used for another checkout."),
                fields={"idempotency_key": [_("Use a new key for a new checkout.")]},
            )
        return orders_of(done), False
    if cart is not None and cart.version != version:
        _refuse_stale(cart, version)
    items = list(cart.items) if cart is not None else []
    if not items:
        raise ValidationFailed(
            _("Your cart is empty."), fields={"items": [_("Add an offer to your cart first.")]}
        )
    for item in items:
        if accepted is not None and item.id in accepted:
            item.accept_terms = accepted[item.id] is True
    _refuse_blocked(actor, items)
    placed = _place_all(actor, items, key)
    db.session.add(
        CartCheckout(
            user_id=actor.id,
            idempotency_key=key,
            request_fingerprint=_fingerprint(version),
            order_ids=[order.id for order in placed],
            created_at=clock.now(),
        )
    )
    carts.noted(cart, "ordered", items)
    for item in items:
        db.session.delete(item)
    db.session.flush()
    return placed, True


def _refuse_stale(cart, version: int) -> None:
    changed = carts.changes_since(cart, version)
    message = _("Your cart changed since you opened it (in another tab or window).")
    if changed:
        message += " " + " ".join(changed)
    raise Conflict(
        message + " " + _("Check it again, then check out."),
        fields={"cart_version": changed or [_("The cart has another version now.")]},
    )


def _refuse_blocked(actor: User, items: list[CartItem]) -> None:
    """Field errors per item: a flagged item, terms not accepted."""
    errors: dict[str, list[str]] = {}
    flagged = carts.flags(actor, items)
    for item in items:
        found = flagged[item.id]
        if found is not None:
            errors[f"items.{item.id}.offer_id"] = [found["message"]]
        if not item.accept_terms:
            errors[f"items.{item.id}.accept_terms"] = [
                _("Accept the terms of %(name)s to order it.", name=item.offer.name)
            ]
    if errors:
        raise ValidationFailed(_("Some items cannot be ordered yet."), fields=errors)


def _place_all(actor: User, items: list[CartItem], key: str) -> list[Order]:
    """Each item's order, with the key `key#<position>`. The first refusal undoes the orders
    placed before it (the whole unit of work is rolled back) and is reported on its item."""
    placed = []
    for position, item in enumerate(items, start=1):
        item_id, name = item.id, item.offer.name
        try:
            order, _created = orders.subscribe(
                actor,
                item.offer_id,
                options=item.options,
                accept_terms=True,
                idempotency_key=f"{key}#{position}",
                group_id=item.group_id,
                lease_ends_on=item.lease_ends_on,
            )
        except DomainError as error:
            db.session.rollback()
            raise _on_item(error, item_id, name) from error
        placed.append(order)
    return placed


def _on_item(error: DomainError, item_id: int, name: str) -> DomainError:
    message = _(
        "%(name)s cannot be ordered: %(reason)s Nothing was ordered.",
        name=name,
        reason=error.message,
    )
    fields = {f"items.{item_id}.{field}": texts for field, texts in error.fields.items()}
    fields = fields or {f"items.{item_id}": [error.message]}
    kind = ValidationFailed if isinstance(error, ValidationFailed) else Conflict
    return kind(message, fields=fields)
