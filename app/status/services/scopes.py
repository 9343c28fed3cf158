"""Scopes: which subscriptions, orders, requests and products a viewer's figures cover, as SQL
sub-selects, narrowed by the dashboard's product and offer filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ...accounts.models import Role, User
from ...catalog.models import DigitalProduct, ServiceOffer
from ...errors import NotAllowed, NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _
from ...inputs import whole_number
from ...subscriptions.models import Order, Subscription
from ...support.models import SupportRequest


@dataclass
class Scope:
    """Which subscriptions a figure covers, as SQL sub-selects."""

    subscriptions: sa.Select
    orders: sa.Select
    requests: sa.Select
    product_ids: sa.Select
    # True when product_ids is a product chosen by staff: its availability is the product's,
    # whenever anyone subscribed; otherwise it is measured while the subscriptions ran
    product_wide: bool = False
    # the same scope for the rollups (keyed by offer and group): None means every one
    group_ids: list[int] | None = None
    offer_ids: sa.Select | None = None

    def rollup_filter(self, table: sa.Table) -> list[sa.ColumnElement]:
        """The scope as conditions on a rollup table's offer_id and group_id."""
        where = []
        if self.group_ids is not None:
            where.append(table.c.group_id.in_(self.group_ids))
        if self.offer_ids is not None:
            where.append(table.c.offer_id.in_(self.offer_ids))
        return where


def chosen_product(product_id: Any) -> int | None:
    """The product a dashboard filter names, or None for all products."""
    if product_id in (None, ""):
        return None
    chosen = whole_number(product_id)
    if chosen is None:
        raise ValidationFailed(
            _("Choose a product."), fields={"product": [_("Choose a product from the list.")]}
        )
    if db.session.get(DigitalProduct, chosen) is None:
        raise NotFound(_("No such product."))
    return chosen


def scope_for(viewer: User, *, product_id: Any = None, offer_code: str = "") -> Scope:
    """Product managers see any product or offer; catalog managers any offer; consumers only
    their groups' subscriptions (whatever filter they pass)."""
    query = sa.select(Subscription.id).where(Subscription.parent_id.is_(None))
    staff = viewer.has_role(Role.PRODUCT_MANAGER, Role.CATALOG_MANAGER, Role.SUPPORT_AGENT)
    group_ids, offers = None, []
    if staff:
        pass
    elif viewer.has_role(Role.CONSUMER):
        group_ids = sorted(viewer.group_ids) or [-1]
        query = query.where(Subscription.group_id.in_(group_ids))
    else:
        raise NotAllowed(_("Your role has no dashboard."))
    product_id = chosen_product(product_id)
    if product_id is not None:
        query = query.where(
            Subscription.offer_id.in_(
                # never correlated: _products_in_scope nests this under a join on offers
                sa.select(ServiceOffer.id)
                .where(ServiceOffer.product_id == product_id)
                .correlate(None)
            )
        )
        offers.append(ServiceOffer.product_id == product_id)
    if offer_code:
        if not isinstance(offer_code, str) or len(offer_code) > 40:
            raise ValidationFailed(
                _("Choose an offer."), fields={"offer": [_("Choose an offer from the list.")]}
            )
        query = query.where(Subscription.offer_code == offer_code.strip().upper())
        offers.append(ServiceOffer.code == offer_code.strip().upper())
    product_wide = product_id is not None and staff
    return Scope(
        product_wide=product_wide,
        group_ids=group_ids,
        offer_ids=sa.select(ServiceOffer.id).where(*offers) if offers else None,
        subscriptions=query,
        orders=sa.select(Order.id).where(_of_subscriptions(Order.subscription_id, query)),
        requests=sa.select(SupportRequest.id).where(
            _of_subscriptions(SupportRequest.subscription_id, query)
        ),
        # staff see a product's availability even before anyone subscribes; a consumer only
        # that of products its groups use
        product_ids=sa.select(sa.literal(product_id))
        if product_wide
        else _products_in_scope(query),
    )


def _of_subscriptions(column, subscriptions_: sa.Select) -> sa.ColumnElement:
    """`column` names one of `subscriptions_`, probed by its primary key: the dashboards read a
    month of orders or requests (or the few done today) out of every one in scope, where
    `IN (subscriptions_)` would first list every subscription in scope (100,000 at scale)."""
    return (
        sa.select(Subscription.id)
        .where(Subscription.id == column, subscriptions_.whereclause)
        .exists()
    )


def _products_in_scope(subscriptions_: sa.Select) -> sa.Select:
    """The products with a subscription among `subscriptions_`. From
    the products' side, EXISTS stops at each product's first such subscription, where a
    DISTINCT over the join would read all of them."""
    return sa.select(DigitalProduct.id).where(
        sa.select(Subscription.id)
        .join(ServiceOffer, Subscription.offer_id == ServiceOffer.id)
        .where(ServiceOffer.product_id == DigitalProduct.id, subscriptions_.whereclause)
        .exists()
    )
