"""JSON routes of the cart under /api/v1/cart: they load a schema, call the same cart services
as the Cart page, and dump a schema. Errors are problem+json through the shared handlers."""

from __future__ import annotations

from flask import jsonify, request

from ..api.core import KEY_HEADER, api_user, endpoint, key_errors_named_as_header, load
from ..extensions import db
from .cart_schemas import CartItemRequestSchema, CartSchema, CheckoutRequestSchema, CheckoutSchema
from .services import cart, cart_checkout, orders

TAG = "cart"


def _item_body(row: dict) -> dict:
    item, breakdown = row["item"], row["breakdown"]
    return {
        "id": item.id,
        "offer": row["offer"],
        "group": item.group,
        "options": item.options or {},
        "accept_terms": item.accept_terms,
        "added_at": item.added_at,
        "lease_ends_on": item.lease_ends_on,
        "currency": row["offer"].currency,
        "lines": breakdown["lines"],
        "totals": breakdown["totals"],
        "flag": row["flag"],
    }


def _cart_body(user) -> dict:
    page = cart.cart_page(user)
    return {
        "version": page["version"],
        "items": [_item_body(row) for row in page["rows"]],
        "totals": page["totals"],
        "blocked": page["blocked"],
    }


@endpoint(
    "/cart/items",
    summary="The caller's cart: its items with their options, prices and flags, the one-time "
    "and monthly totals, and its version",
    tag=TAG,
    response=CartSchema,
)
def list_cart_items():
    return jsonify(CartSchema().dump(_cart_body(api_user())))


@endpoint(
    "/cart/items",
    "POST",
    summary="Add an offer with its options to the cart (checked as an order checks them); "
    "answers the cart",
    tag=TAG,
    body=CartItemRequestSchema,
    response=CartSchema,
    status=201,
)
def add_cart_item():
    orders.require_consumer(api_user())
    data = load(CartItemRequestSchema())
    cart.add_item(
        api_user(),
        data["offer_id"],
        options=data["options"],
        accept_terms=data["accept_terms"],
        group_id=data["group_id"],
        draft_id=data["draft_id"],
        lease_ends_on=data["lease_ends_on"],
    )
    response = jsonify(CartSchema().dump(_cart_body(api_user())))
    response.status_code = 201
    return response


@endpoint(
    "/cart/items/<int:item_id>",
    "DELETE",
    summary="Remove an item from the cart (someone else's is 404)",
    tag=TAG,
    status=204,
)
def delete_cart_item(item_id: int):
    cart.remove_item(api_user(), item_id)
    return "", 204


@endpoint(
    "/cart/checkout",
    "POST",
    summary=f"Order every item of the cart, all or none ({KEY_HEADER} header; the same key "
    "again returns 200 and the same orders). 409: the cart changed since cart_version, or the "
    "key was used for another checkout, or an item was refused; 422: flagged items or terms "
    "not accepted, per item (items.<id>.<field>)",
    tag=TAG,
    body=CheckoutRequestSchema,
    response=CheckoutSchema,
    status=201,
)
def checkout_cart():
    orders.require_consumer(api_user())
    data = load(CheckoutRequestSchema())
    with key_errors_named_as_header():
        placed, created = cart_checkout.checkout(
            api_user(),
            expected_cart_version=data["cart_version"],
            idempotency_key=request.headers.get(KEY_HEADER),
        )
    db.session.flush()
    response = jsonify(CheckoutSchema().dump({"orders": placed}))
    response.status_code = 201 if created else 200
    return response
