"""Page builders for the Consume stream's HTML pages: where a page needs several services, one
function here calls them and returns what the template needs. They take plain values (never the
request) and hold no rule of their own beyond choosing what a page shows."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, lazyload, selectinload

from ..accounts import services as accounts
from ..accounts.models import User
from ..catalog import services as catalog
from ..catalog.models import ServiceOffer
from ..errors import InvalidTransition, ValidationFailed
from ..extensions import db
from ..inputs import search_text
from .models import Subscription, SubscriptionStatus, TaskStatus
from .services import (
    approval_queries,
    changes,
    contracts,
    drafts,
    fulfillment,
    holdings,
    leases,
    on_behalf,
    orders,
    quotas,
    selection,
    subscriptions,
    tracking,
)
from .states import TASK

CHANGE_ACTIONS = {"modify", "move_to_replacement"}
SUBSCRIPTION_STATUSES = [status.value for status in SubscriptionStatus]
TASK_STATUSES = [status.value for status in TaskStatus]
EXPORT_LIMIT = 10_000


def _paginate(query: sa.Select, page: int, per_page: int | None):
    per_page = per_page or current_app.config["ITEMS_PER_PAGE"]
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


# --- agree and subscribe ---------------------------------------------------------------------


def order_page(user: User, offer_id: int, key: str = "") -> dict:
    """The order form of an offer the user may see: its quote, its members when it is a bundle,
    the hours of work its plan expects and the user's groups, and the order this form (its
    idempotency `key`) already placed; or, with `refusal` set, why it cannot be ordered now
    (the offer, or the user holding as many as one person may)."""
    offer = catalog.offer_for_viewer(user, offer_id)
    try:
        selection.orderable_offer(user, offer.id)
    except InvalidTransition as error:
        return refusal_page(user, offer, error.message)
    placed = orders.placed_with(user, key) if key else None
    beneficiaries = on_behalf.beneficiary_choices(user)
    held = holdings.refusal(user, None, offer) if placed is None else None
    if held is not None and not beneficiaries:  # one who orders for others may still do so
        return refusal_page(user, offer, held)
    groups = list(user.groups)
    return {
        "offer": offer,
        "placed": placed,
        "refusal": None,
        "beneficiaries": beneficiaries,
        "quota_left": quota_left(user, offer),
        "groups": groups,
        "show_groups": len(groups) > 1,
        "quote": selection.quote(offer),
        "members": [member for _, member in catalog.member_offers(offer) if member is not None]
        if offer.is_bundle
        else [],
        "plan_hours": fulfillment.plan_hours(offer),
        "priced_options": any(option.get("prices") for option in offer.options or []),
        "sourced": sourced_entries(offer.options or []),
    }


def sourced_entries(definitions: list[dict]) -> dict:
    """The entries of each short choice list an order form takes (None for a long one, which
    the form searches)."""
    names = {option["choice_list"] for option in definitions if option.get("choice_list")}
    return {name: catalog.inline_entries(name) for name in names}


def refusal_page(user: User, offer: ServiceOffer, reason: str) -> dict:
    """Why an offer cannot be ordered, and its replacement if the user may order that."""
    return {"offer": offer, "refusal": reason, "replacement": catalog.replacement_for(user, offer)}


# --- one subscription ------------------------------------------------------------------------


def subscription_page(user: User, subscription_id: int) -> dict:
    """A subscription with its contracts, its orders (the running one shown, else the last), and
    what the user may do with it now."""
    subscription = subscriptions.subscription_for(user, subscription_id)
    history = subscriptions.orders_of(subscription)
    shown = subscriptions.current_order(subscription) or (history[-1] if history else None)
    return {
        "subscription": subscription,
        "contracts": contracts.contracts_of(subscription),
        "current_contract": contracts.current_contract(subscription),
        "orders": history,
        "shown_order": shown,
        "progress": fulfillment.progress(shown),
        "steps": tracking.step_rows(shown, internal=False),
        "actions": subscriptions.next_actions(user, subscription),
        "replacement": subscriptions.offers_retired_for(subscription, user),
        "members": subscription.children,
        "approval": approval_queries.timeline(user, approval_queries.approval_order(history)),
        "lease_latest": leases.latest_end(subscription),
        "can_extend_lease": leases.may_extend(user, subscription),
        "lease_extension": leases.pending_extension(subscription),
    }


def modify_page(
    user: User, subscription_id: int, *, wanted: str | None, posted: bool, matching: str = ""
) -> dict:
    """The change form: whether the subscription can be changed now; the offer after the change
    (the one asked for, else on a first visit the replacement of a retired offer, else the
    current offer) with its quote, or why that offer cannot be had; and the offers to choose
    from, those holding `matching` in their name or code when it is given."""
    subscription = subscriptions.subscription_for(user, subscription_id)
    page: dict = {
        "subscription": subscription,
        "changeable": bool(CHANGE_ACTIONS & set(subscriptions.next_actions(user, subscription))),
    }
    if not page["changeable"]:
        return page
    replacement = subscriptions.offers_retired_for(subscription, user)
    if wanted in (None, "") and replacement is not None and not posted:
        wanted = str(replacement.id)
    target, refusal = subscription.offer, None
    if wanted not in (None, "", str(subscription.offer_id)):
        try:
            target = selection.change_target(user, subscription, wanted)
        except (InvalidTransition, ValidationFailed) as error:
            refusal = error.message
    matching = search_text(matching)
    targets, more = selection.change_targets(user, subscription, matching=matching)
    if (
        target.id != subscription.offer_id
        and not target.is_bundle
        and all(offer.id != target.id for offer in targets)
    ):
        targets.insert(0, target)  # the chosen offer stays chosen whatever the list shows
    contract = contracts.current_contract(subscription)
    return {
        **page,
        "replacement": replacement,
        "target": target,
        "relations": selection.relations(subscription, targets),
        "refusal": refusal,
        "quote": selection.quote(target),
        "price_difference": changes.price_difference(subscription, contract, target),
        "contract_changes": changes.contract_changes(subscription, contract, target),
        "targets": targets,
        "more_targets": more,
        "matching": matching,
    }


def terminate_page(user: User, subscription_id: int) -> dict:
    subscription = subscriptions.subscription_for(user, subscription_id)
    return {
        "subscription": subscription,
        "actions": subscriptions.next_actions(user, subscription),
    }


# --- my subscriptions ------------------------------------------------------------------------


# The list shows the owner's name, not their roles and groups (loaded with every user
# otherwise), nor the offer's release and product.
LISTED_LOAD = (
    selectinload(Subscription.owner).options(lazyload(User.roles), lazyload(User.groups)),
    joinedload(Subscription.offer).options(
        lazyload(ServiceOffer.release), lazyload(ServiceOffer.product)
    ),
)


def _listed(user: User, status: str, offer_code: str, group_id: int | None) -> sa.Select:
    """The subscriptions the user sees, filtered; an unknown status filters nothing."""
    return subscriptions.visible_subscriptions_query(
        user,
        status=status if status in SUBSCRIPTION_STATUSES else "",
        offer_code=offer_code[:40],
        group_id=group_id,
    ).options(*LISTED_LOAD)


def subscription_rows(user: User, listed: list[Subscription]) -> list[dict]:
    """Each subscription with its contract, running order, progress and next actions, in a
    fixed number of queries whatever the number of rows."""
    ids = [subscription.id for subscription in listed]
    agreed, running = contracts.current_contracts(ids), subscriptions.current_orders(ids)
    return [
        {
            "subscription": subscription,
            "contract": agreed.get(subscription.id),
            "order": running.get(subscription.id),
            "progress": fulfillment.progress(running.get(subscription.id)),
            "actions": subscriptions.next_actions(user, subscription),
        }
        for subscription in listed
    ]


def my_subscriptions_page(
    user: User,
    *,
    status: str = "",
    offer_code: str = "",
    group_id: int | None = None,
    page: int = 1,
    per_page: int | None = None,
) -> dict:
    """A page of the subscriptions the user sees, and the choices of its filters."""
    pagination = _paginate(_listed(user, status, offer_code, group_id), page, per_page)
    return {
        "pagination": pagination,
        "rows": subscription_rows(user, list(pagination.items)),
        "drafts": drafts.drafts_to_resume(user),
        "statuses": SUBSCRIPTION_STATUSES,
        "offers": subscriptions.subscribed_offers(user),
        "groups": accounts.list_groups()
        if subscriptions.sees_all_subscriptions(user)
        else list(user.groups),
    }


def export_rows(
    user: User, *, status: str = "", offer_code: str = "", group_id: int | None = None
) -> list[dict]:
    """The rows of my subscriptions, filtered as on the page, for a CSV file (at most 10,000)."""
    listed = db.session.scalars(_listed(user, status, offer_code, group_id).limit(EXPORT_LIMIT))
    return subscription_rows(user, list(listed))


# --- fulfillment queue -----------------------------------------------------------------------


def queue_page(
    user: User,
    *,
    group_id: int | None = None,
    status: str = "",
    page: int = 1,
    per_page: int | None = None,
) -> dict:
    """A page of the agent's fulfillment queue, with what each task may become."""
    query = fulfillment.queue_query(
        user, group_id=group_id, status=status if status in TASK_STATUSES else ""
    )
    pagination = _paginate(query, page, per_page)
    return {
        "pagination": pagination,
        "allowed": {task.id: TASK.targets(task.status) for task in pagination.items},
        "overdue": {task.id: tracking.overdue_since(task) for task in pagination.items},
        "summaries": {task.id: tracking.order_summary(task.order) for task in pagination.items},
        "groups": list(user.groups),
        "statuses": TASK_STATUSES,
    }


def people_chosen(user: User, chosen: list[str]) -> list[int]:
    """The "Order for" choices as user ids ("self": the user)."""
    return [user.id if value == "self" else int(value) for value in chosen if value]


def quota_left(user, offer: ServiceOffer) -> list[str]:
    """What is left of the quotas of the user's groups for `offer` ("2 of 5 left for
    Engineering"), for the order form and the offer page; nothing for staff."""
    if not getattr(user, "is_authenticated", False) or not user.has_role("consumer"):
        return []
    return quotas.left_for(sorted(user.groups, key=lambda group: group.name), offer)
