"""The digital products that support raises incidents and backlog items for."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ... import validation as check
from ...catalog.models import DigitalProduct
from ...extensions import db, get_by_id
from ...i18n import _
from ...subscriptions.models import Subscription


def products() -> list[DigitalProduct]:
    return list(db.session.scalars(sa.select(DigitalProduct).order_by(DigitalProduct.name)))


def default_product_id(subscription: Subscription | None) -> int | None:
    return (
        subscription.offer.product_id
        if subscription is not None and subscription.offer is not None
        else None
    )


def chosen_product(errors: check.Errors, product_id: Any) -> DigitalProduct | None:
    product = get_by_id(DigitalProduct, product_id)
    if product is None:
        check.add(errors, "product_id", _("Choose a digital product."))
    return product
