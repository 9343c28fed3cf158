"""Marshmallow schemas of the cart API (/api/v1/cart)."""

from marshmallow import Schema, fields

from ..inputs import ExactBoolean, IdField
from .schemas import SubscribedOfferSchema, SubscriptionGroupSchema

# --- requests --------------------------------------------------------------------------------


class CartItemRequestSchema(Schema):
    offer_id = IdField(required=True)
    options = fields.Dict(keys=fields.Str(), load_default=None, allow_none=True)
    accept_terms = ExactBoolean(
        load_default=False,
        metadata={"description": "The offer's terms accepted; checkout needs it on every item."},
    )
    group_id = IdField(
        load_default=None,
        allow_none=True,
        metadata={"description": "One of your groups; by default your first."},
    )
    draft_id = IdField(
        load_default=None,
        allow_none=True,
        metadata={"description": "Added from this saved draft: the draft is deleted."},
    )
    lease_ends_on = fields.Raw(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "For an offer with lease_end_chosen: the day (YYYY-MM-DD) the lease"
            " ends, checked as an order checks it (from tomorrow to lease_max_days, or"
            " lease_days, after today; 422 with errors.lease_ends_on otherwise) and checked"
            " again at checkout; absent: lease_days after the checkout. Ignored for other"
            " offers."
        },
    )


class CheckoutRequestSchema(Schema):
    cart_version = fields.Int(
        required=True,
        strict=True,
        metadata={
            "description": "The cart version you saw (GET /cart/items). Another version is a "
            "409 saying what changed since."
        },
    )


# --- responses -------------------------------------------------------------------------------


class PricedLineSchema(Schema):
    key = fields.Str()
    label = fields.Str()
    value = fields.Raw()
    one_time = fields.Str()
    monthly = fields.Str()


class ItemFlagSchema(Schema):
    reason = fields.Str(metadata={"description": "retired, superseded, not_orderable or audience"})
    message = fields.Str()
    replacement = fields.Nested(SubscribedOfferSchema, allow_none=True)


class CartItemSchema(Schema):
    id = fields.Int()
    offer = fields.Nested(SubscribedOfferSchema)
    group = fields.Nested(SubscriptionGroupSchema, allow_none=True)
    options = fields.Dict(keys=fields.Str())
    accept_terms = fields.Bool()
    added_at = fields.DateTime()
    lease_ends_on = fields.Date(
        allow_none=True,
        metadata={"description": "The lease's end chosen (null: lease_days after the checkout)"},
    )
    currency = fields.Str()
    lines = fields.List(fields.Nested(PricedLineSchema))
    totals = fields.Dict(
        keys=fields.Str(),
        values=fields.Str(),
        metadata={"description": "This item's one_time and monthly totals"},
    )
    flag = fields.Nested(
        ItemFlagSchema,
        allow_none=True,
        metadata={"description": "Why it cannot be ordered now; it blocks the checkout"},
    )


class CartTotalSchema(Schema):
    currency = fields.Str()
    one_time = fields.Str()
    monthly = fields.Str()


class CartSchema(Schema):
    version = fields.Int(metadata={"description": "Send it back as cart_version to check out"})
    items = fields.List(fields.Nested(CartItemSchema))
    totals = fields.List(fields.Nested(CartTotalSchema))
    blocked = fields.Bool(metadata={"description": "A flagged item blocks the checkout"})


class CheckedOutOrderSchema(Schema):
    id = fields.Int()
    subscription_id = fields.Int()
    status = fields.Str()
    offer = fields.Nested(SubscribedOfferSchema, attribute="subscription.offer")


class CheckoutSchema(Schema):
    orders = fields.List(fields.Nested(CheckedOutOrderSchema))
