"""Subscriptions as their consumers and the staff see them: who sees which, their orders, and
what a user may do with one now."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ...accounts.models import Role, User
from ...catalog import services as catalog
from ...catalog.models import ServiceOffer
from ...errors import NotFound
from ...extensions import db, get_by_id
from ...i18n import _
from ..models import (
    ApprovalDecision,
    ApprovalStep,
    Order,
    OrderStatus,
    Subscription,
    SubscriptionStatus,
)
from . import approval_routing

S = SubscriptionStatus
RUNNING_ORDER_STATUSES = (OrderStatus.IN_PROGRESS, OrderStatus.SCHEDULED, OrderStatus.FAILED)


def sees_all_subscriptions(user: User) -> bool:
    return user.has_role(Role.SUPPORT_AGENT, Role.CATALOG_MANAGER, Role.PRODUCT_MANAGER)


def visible_subscriptions_query(
    user: User, *, status: str = "", offer_code: str = "", group_id: int | None = None
) -> sa.Select:
    """Subscriptions of the user's groups (staff see all); top-level ones, newest first."""
    query = sa.select(Subscription).where(Subscription.parent_id.is_(None))
    if not sees_all_subscriptions(user):
        query = query.where(Subscription.group_id.in_(sorted(user.group_ids) or [-1]))
    if status:
        query = query.where(Subscription.status == status)
    if offer_code:
        query = query.where(Subscription.offer_code == offer_code)
    if group_id:
        query = query.where(Subscription.group_id == group_id)
    return query.order_by(Subscription.created_at.desc(), Subscription.id.desc())


def subscribed_offers(user: User) -> list[tuple[str, str]]:
    """(code, name) of every offer among the subscriptions the user sees, by code (a filter)."""
    visible_ids = (
        visible_subscriptions_query(user).with_only_columns(Subscription.id).order_by(None)
    )
    return [
        (code, name)
        for code, name in db.session.execute(
            sa.select(Subscription.offer_code, sa.func.max(ServiceOffer.name))
            .join(ServiceOffer, ServiceOffer.id == Subscription.offer_id)
            .where(Subscription.id.in_(visible_ids))
            .group_by(Subscription.offer_code)
            .order_by(Subscription.offer_code)
        )
    ]


def subscription_for(user: User, subscription_id: int) -> Subscription:
    subscription = get_by_id(Subscription, subscription_id)
    if subscription is None or not (
        sees_all_subscriptions(user)
        or subscription.group_id in user.group_ids
        or approval_routing.takes_part(user, subscription.id)  # its approvers see what they decide
    ):
        raise NotFound(_("No such subscription."))
    return subscription


def orders_of(subscription: Subscription) -> list[Order]:
    return list(
        db.session.scalars(
            sa.select(Order)
            .where(Order.subscription_id == subscription.id)
            .options(selectinload(Order.tasks))
            .order_by(Order.created_at, Order.id)
        )
    )


def current_order(subscription: Subscription) -> Order | None:
    return db.session.scalar(
        sa.select(Order)
        .where(
            Order.subscription_id == subscription.id,
            Order.status.in_(RUNNING_ORDER_STATUSES),
        )
        .order_by(Order.id.desc())
        .limit(1)
    )


def current_orders(
    subscription_ids: list[int], *, with_approvals: bool = False
) -> dict[int, Order]:
    """current_order for many subscriptions, with their tasks, in two queries (for list pages);
    `with_approvals` loads their approval steps and decisions too (two more: for the API)."""
    orders: dict[int, Order] = {}
    loads = [selectinload(Order.tasks)]
    if with_approvals:
        loads.append(
            selectinload(Order.approval_steps)
            .selectinload(ApprovalStep.decisions)
            .joinedload(ApprovalDecision.decided_by)
        )
    if subscription_ids:
        for order in db.session.scalars(
            sa.select(Order)
            .where(
                Order.subscription_id.in_(subscription_ids),
                Order.status.in_(RUNNING_ORDER_STATUSES),
            )
            .options(*loads)
            .order_by(Order.id)
        ):
            orders[order.subscription_id] = order
    return orders


def next_actions(user: User, subscription: Subscription) -> list[str]:
    """What this user can do with a subscription now (for pages and the API)."""
    if (
        subscription.group_id not in user.group_ids
        or not user.has_role(Role.CONSUMER)
        or subscription.parent_id
    ):
        return []
    if subscription.status == S.ACTIVE:
        actions = ["modify", "terminate"]
        if subscription.terminates_on is not None:
            actions = ["cancel_termination"]
        offer = subscription.offer
        if (
            offer.display_status() in ("retiring", "retired")
            and catalog.replacement_for(user, offer) is not None
        ):
            actions.insert(0, "move_to_replacement")
        return actions
    return []


def offers_retired_for(subscription: Subscription, user: User) -> ServiceOffer | None:
    """The replacement to suggest when the subscribed offer is retired."""
    if (
        subscription.offer.display_status() not in ("retiring", "retired")
        or subscription.status != S.ACTIVE
    ):
        return None
    return catalog.replacement_for(user, subscription.offer)
