"""Consume stream rules: agree, subscribe, modify, terminate, and orchestrate fulfillment."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import clock
from .. import validation as check
from ..accounts.models import ConsumerGroup, Role, User, group_members
from ..accounts.services import require_role
from ..audit import services as audit
from ..catalog import services as catalog
from ..catalog.models import OfferStatus, ServiceOffer
from ..errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from ..extensions import db, get_by_id
from ..inputs import whole_number
from ..notifications.services import notify
from .models import (
    ContractStatus,
    FulfillmentTask,
    Order,
    OrderStatus,
    OrderType,
    ServiceContract,
    Subscription,
    SubscriptionStatus,
    TaskStatus,
)
from .queries import subscribers_of  # noqa: F401 - re-exported for callers of services

S = SubscriptionStatus

# The one table for the subscription lifecycle.
SUBSCRIPTION_TRANSITIONS: dict[str, set[str]] = {
    S.REQUESTED: {S.FULFILLING, S.FAILED},
    S.FULFILLING: {S.ACTIVE, S.FAILED},
    S.ACTIVE: {S.MODIFYING, S.TERMINATING},
    S.MODIFYING: {S.ACTIVE, S.FAILED},
    S.TERMINATING: {S.TERMINATED, S.FAILED},
    S.FAILED: {S.FULFILLING, S.MODIFYING, S.TERMINATING},  # an agent retries the failed order
    S.TERMINATED: set(),
}

# The one table for fulfillment tasks.
TASK_TRANSITIONS: dict[str, set[str]] = {
    TaskStatus.WAITING: {TaskStatus.QUEUED},
    TaskStatus.QUEUED: {TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.FAILED},
    TaskStatus.IN_PROGRESS: {TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.QUEUED},
    TaskStatus.FAILED: {TaskStatus.QUEUED},
    TaskStatus.DONE: set(),
}

# While an order of this type runs, the subscription is in this status.
RUNNING_STATUS = {
    OrderType.NEW: S.FULFILLING,
    OrderType.MODIFY: S.MODIFYING,
    OrderType.TERMINATE: S.TERMINATING,
}
OPEN_STATUSES = (S.REQUESTED, S.FULFILLING, S.ACTIVE, S.MODIFYING, S.TERMINATING, S.FAILED)


# --- who sees what ---------------------------------------------------------------------------


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


def subscription_for(user: User, subscription_id: int) -> Subscription:
    subscription = get_by_id(Subscription, subscription_id)
    if subscription is None or not (
        sees_all_subscriptions(user) or subscription.group_id in user.group_ids
    ):
        raise NotFound("No such subscription.")
    return subscription


def contract_for(user: User, contract_id: int) -> ServiceContract:
    contract = get_by_id(ServiceContract, contract_id)
    if contract is None:
        raise NotFound("No such contract.")
    subscription_for(user, contract.subscription_id)
    return contract


def contracts_of(subscription: Subscription) -> list[ServiceContract]:
    return list(
        db.session.scalars(
            sa.select(ServiceContract)
            .where(ServiceContract.subscription_id == subscription.id)
            .order_by(ServiceContract.version)
        )
    )


def current_contract(subscription: Subscription) -> ServiceContract | None:
    return db.session.scalar(
        sa.select(ServiceContract)
        .where(ServiceContract.subscription_id == subscription.id)
        .order_by(ServiceContract.version.desc())
        .limit(1)
    )


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
            Order.status.in_([OrderStatus.IN_PROGRESS, OrderStatus.SCHEDULED, OrderStatus.FAILED]),
        )
        .order_by(Order.id.desc())
        .limit(1)
    )


def current_contracts(subscription_ids: list[int]) -> dict[int, ServiceContract]:
    """current_contract for many subscriptions in one query (for list pages)."""
    contracts: dict[int, ServiceContract] = {}
    if subscription_ids:
        for contract in db.session.scalars(
            sa.select(ServiceContract)
            .where(ServiceContract.subscription_id.in_(subscription_ids))
            .order_by(ServiceContract.version)
        ):
            contracts[contract.subscription_id] = contract
    return contracts


def current_orders(subscription_ids: list[int]) -> dict[int, Order]:
    """current_order for many subscriptions, with their tasks, in two queries (for list pages)."""
    orders: dict[int, Order] = {}
    if subscription_ids:
        for order in db.session.scalars(
            sa.select(Order)
            .where(
                Order.subscription_id.in_(subscription_ids),
                Order.status.in_(
                    [OrderStatus.IN_PROGRESS, OrderStatus.SCHEDULED, OrderStatus.FAILED]
                ),
            )
            .options(selectinload(Order.tasks))
            .order_by(Order.id)
        ):
            orders[order.subscription_id] = order
    return orders


# --- the order form --------------------------------------------------------------------------


def clean_options(offer: ServiceOffer, raw: Any) -> dict:
    """Check chosen options against the offer's definitions; errors keyed options.<key>."""
    raw = {} if raw is None else raw
    errors: check.Errors = {}
    if not isinstance(raw, dict):
        raise ValidationFailed(
            "Options must be an object.", fields={"options": ["Send the options as an object."]}
        )
    definitions = {option["key"]: option for option in offer.options or []}
    unknown = sorted(set(raw) - set(definitions))
    if unknown:
        check.add(errors, "options", f"Unknown option: {', '.join(unknown)}.")
    cleaned: dict = {}
    for key, option in definitions.items():
        field = f"options.{key}"
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if (
                option.get("required")
                and option.get("default") in (None, "")
                and option["type"] != "boolean"
            ):
                check.add(errors, field, f"{option['label']} is required.")
                continue
            value = option.get("default")
            if value is None:
                continue
        cleaned[key] = _clean_option_value(errors, field, option, value)
    if errors:
        raise ValidationFailed("Some options are not valid.", fields=errors)
    return {key: value for key, value in cleaned.items() if value is not None}


def _clean_option_value(errors: check.Errors, field: str, option: dict, value: Any) -> Any:
    kind = option["type"]
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "true",
            "on",
            "yes",
            "1",
            "y",
            "false",
            "off",
            "no",
            "0",
            "n",
        ):
            return value.lower() in ("true", "on", "yes", "1", "y")
        check.add(errors, field, "Choose yes or no.")
        return None
    if kind == "number":
        return check.number(
            errors, field, value, minimum=option.get("min"), maximum=option.get("max")
        )
    if kind == "choice":
        if value not in option.get("choices", []):
            check.add(errors, field, f"Choose one of: {', '.join(option.get('choices', []))}.")
            return None
        return value
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        check.add(errors, field, "Enter text.")
        return None
    return check.text(errors, field, str(value), max_length=int(option.get("max_length") or 2000))


def orderable_offer(user: User, offer_id: Any) -> ServiceOffer:
    """The offer if this user may order it now; otherwise a clear reason (and the replacement)."""
    try:
        offer_id = int(offer_id)
    except (TypeError, ValueError):
        raise ValidationFailed(
            "Choose an offer.", fields={"offer_id": ["Choose an offer."]}
        ) from None
    offer = catalog.offer_for_viewer(user, offer_id)  # 404 for those outside the audience
    status = offer.display_status()
    if not catalog.in_consumer_audience(user, offer):
        raise NotFound("No such offer.")
    if not offer.is_orderable():
        reason = {
            "scheduled": f"{offer.name} can be ordered from {offer.valid_from:%Y-%m-%d}."
            if offer.valid_from
            else "",
            "retired": f"{offer.name} is retired and takes no new orders.",
            "expired": f"{offer.name} is no longer offered.",
        }.get(status, f"{offer.name} is not orderable ({status}).")
        replacement = catalog.replacement_for(user, offer)
        if replacement is not None:
            reason += (
                f" Order its replacement, {replacement.name} (offer {replacement.id}), instead."
            )
        raise InvalidTransition(reason.strip(), fields={"offer_id": [reason.strip()]})
    return offer


def quote(offer: ServiceOffer, options: dict | None = None) -> dict:
    price, cost = catalog.current_price(offer)
    return {
        "offer_id": offer.id,
        "offer_code": offer.code,
        "name": offer.name,
        "price": price or Decimal("0.00"),
        "currency": offer.currency,
        "billing_period": offer.billing_period,
        "options": options or {},
        "members": [member.member_code for member in offer.members] if offer.is_bundle else [],
    }


def _agreement(offer: ServiceOffer, options: dict, user: User) -> dict:
    price, _ = catalog.current_price(offer)
    return {
        "offer_id": offer.id,
        "offer_code": offer.code,
        "offer_revision": offer.revision,
        "name": offer.name,
        "summary": offer.summary,
        "price": str(price if price is not None else Decimal("0.00")),
        "currency": offer.currency,
        "billing_period": offer.billing_period,
        "terms": offer.terms,
        "service_levels": offer.service_levels or {},
        "option_definitions": offer.options or [],
        "options": options,
        "agreed_by": user.email,
        "agreed_at": clock.now().isoformat(),
    }


def _fingerprint(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _group_for(user: User, offer: ServiceOffer, group_id: Any) -> ConsumerGroup:
    groups = {group.id: group for group in user.groups}
    if not groups:
        raise ValidationFailed(
            "You are in no consumer group, so you cannot subscribe.",
            fields={"group_id": ["Ask an administrator to add you to a group."]},
        )
    if group_id in (None, ""):
        return next(iter(sorted(groups.values(), key=lambda g: g.name)))
    try:
        group = groups.get(int(group_id))
    except (TypeError, ValueError):
        group = None
    if group is None:
        raise ValidationFailed(
            "Choose one of your groups.", fields={"group_id": ["Choose one of your groups."]}
        )
    return group


def _existing_order(user: User, key: str, fingerprint: str) -> Order | None:
    order = db.session.scalar(
        sa.select(Order).where(Order.requested_by_id == user.id, Order.idempotency_key == key)
    )
    if order is not None and order.request_fingerprint != fingerprint:
        raise Conflict(
            "This idempotency key was already used for a different request.",
            fields={"idempotency_key": ["Use a new key for a new request."]},
        )
    return order


def _clean_key(key: Any) -> str:
    key = str(key or "").strip()
    if not key or len(key) > 100:
        raise ValidationFailed(
            "An idempotency key (1–100 characters) is required.",
            fields={"idempotency_key": ["Send a unique key for this request."]},
        )
    return key


def _insert_order_once(user: User, key: str, fingerprint: str, build) -> tuple[Order, bool]:
    """Run `build()` (which adds an order and its rows) in one transaction; a concurrent or repeated
    request with the same key gets the first order back instead of a second one."""
    existing = _existing_order(user, key, fingerprint)
    if existing is not None:
        return existing, False
    try:
        order = build()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _existing_order(user, key, fingerprint)
        if existing is None:
            raise
        return existing, False
    return order, True


# --- subscribe --------------------------------------------------------------------------------


def subscribe(
    actor: User,
    offer_id: Any,
    *,
    options: Any,
    accept_terms: bool,
    idempotency_key: Any,
    group_id: Any = None,
) -> tuple[Order, bool]:
    """Agree to an offer's terms and order it. Returns (order, created); a retried request with the
    same idempotency key returns the first order with created False."""
    require_role(actor, Role.CONSUMER, message="Only consumers subscribe to offers.")
    key = _clean_key(idempotency_key)
    offer = orderable_offer(actor, offer_id)
    if accept_terms is not True:
        raise ValidationFailed(
            "Accept the terms and conditions to order.",
            fields={"accept_terms": ["You must accept the terms to order."]},
        )
    cleaned = clean_options(offer, options)
    group = _group_for(actor, offer, group_id)
    fingerprint = _fingerprint(kind="new", offer=offer.id, options=cleaned, group=group.id)

    def build() -> Order:
        subscription = Subscription(
            offer_id=offer.id,
            offer_code=offer.code,
            group_id=group.id,
            owner_id=actor.id,
            status=S.REQUESTED.value,
            options=cleaned,
            created_at=clock.now(),
        )
        db.session.add(subscription)
        db.session.flush()
        agreement = _agreement(offer, cleaned, actor)
        order = Order(
            subscription_id=subscription.id,
            order_type=OrderType.NEW.value,
            options=cleaned,
            agreement=agreement,
            idempotency_key=key,
            request_fingerprint=fingerprint,
            requested_by_id=actor.id,
            created_at=clock.now(),
        )
        db.session.add(order)
        db.session.flush()  # the idempotency key's unique index answers here, before more work
        _write_contract(subscription, offer, agreement, actor, version=1)
        _plan_tasks(order, subscription, offer)
        audit.record(
            actor,
            "subscription",
            subscription.id,
            "ordered",
            summary=f"{offer.code} for {group.name}",
            changes={"status": {"before": None, "after": S.REQUESTED.value}},
        )
        _move(actor, subscription, S.FULFILLING)
        _advance(actor, order)
        return order

    return _insert_order_once(actor, key, fingerprint, build)


def _write_contract(
    subscription: Subscription, offer: ServiceOffer, agreement: dict, actor: User, *, version: int
) -> ServiceContract:
    contract = ServiceContract(
        subscription_id=subscription.id,
        version=version,
        status=ContractStatus.ACTIVE.value,
        offer_id=offer.id,
        offer_code=offer.code,
        offer_revision=offer.revision,
        price=Decimal(agreement["price"]),
        currency=agreement["currency"],
        billing_period=agreement["billing_period"],
        snapshot=agreement,
        agreed_by_id=actor.id,
        agreed_at=datetime.fromisoformat(agreement["agreed_at"]),
    )
    db.session.add(contract)
    db.session.flush()
    audit.record(
        actor,
        "contract",
        contract.id,
        "agreed",
        summary=f"{offer.code} r{offer.revision} v{version}",
    )
    return contract


def _plan_tasks(order: Order, subscription: Subscription, offer: ServiceOffer) -> None:
    """One task per plan step, in sequence. A bundle orders its members in order: each member gets its
    own subscription and its tasks wait for the previous member's."""
    groups = {group.name: group.id for group in db.session.scalars(sa.select(ConsumerGroup))}
    sequence = 0
    targets: list[tuple[Subscription, ServiceOffer]] = []
    if offer.is_bundle and order.order_type == OrderType.NEW:
        for _member, member_offer in catalog.member_offers(offer):
            if member_offer is None:
                continue
            child = Subscription(
                offer_id=member_offer.id,
                offer_code=member_offer.code,
                group_id=subscription.group_id,
                owner_id=subscription.owner_id,
                parent_id=subscription.id,
                status=S.FULFILLING.value,
                options={},
                created_at=clock.now(),
            )
            db.session.add(child)
            db.session.flush()
            targets.append((child, member_offer))
    else:
        targets.append((subscription, offer))
    for target, target_offer in targets:
        for step in _steps_for(order.order_type, target_offer):
            sequence += 1
            db.session.add(
                FulfillmentTask(
                    order=order,
                    subscription_id=target.id,
                    sequence=sequence,
                    name=step["name"],
                    mode=step["mode"],
                    group_id=groups.get(step.get("group") or ""),
                    expected_hours=float(step.get("expected_hours") or 1),
                    status=TaskStatus.WAITING.value,
                    created_at=clock.now(),
                )
            )
    db.session.flush()


def _steps_for(order_type: str, offer: ServiceOffer) -> list[dict]:
    """A new instance runs the offer's whole plan. A change or an end runs one step, done by the
    plan's first manual group if it has one, else automatically."""
    plan = offer.fulfillment_plan or []
    if order_type == OrderType.NEW:
        return plan or [{"name": "Provision", "mode": "automatic", "expected_hours": 0.1}]
    manual = next((step for step in plan if step.get("mode") == "manual"), None)
    name = "Apply change" if order_type == OrderType.MODIFY else "Decommission"
    if manual is not None:
        return [
            {
                "name": name,
                "mode": "manual",
                "group": manual.get("group"),
                "expected_hours": manual.get("expected_hours", 1),
            }
        ]
    return [{"name": name, "mode": "automatic", "expected_hours": 0.1}]


# --- state changes ---------------------------------------------------------------------------


def _move(actor: User | None, subscription: Subscription, to: str, *, reason: str = "") -> None:
    """Change status with a guarded UPDATE so two racing requests cannot both win."""
    before = subscription.status
    if to not in SUBSCRIPTION_TRANSITIONS.get(before, set()):
        raise InvalidTransition(
            f"A {before} subscription cannot become {to}.",
            fields={"status": [f"Subscription is {before}."]},
        )
    values: dict[str, Any] = {"status": to, "version": Subscription.version + 1}
    if to == S.ACTIVE and subscription.active_since is None:
        values["active_since"] = clock.now()
    if to == S.TERMINATED:
        values["terminated_at"] = clock.now()
    if to == S.FAILED:
        values["failure_reason"] = reason
    elif before == S.FAILED:
        values["failure_reason"] = ""
    result = db.session.execute(
        sa.update(Subscription)
        .where(
            Subscription.id == subscription.id,
            Subscription.status == before,
            Subscription.version == subscription.version,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(
            "Someone else changed this subscription at the same moment; reload and try again.",
            fields={"version": ["The subscription changed."]},
        )
    db.session.refresh(subscription)
    audit.record(
        actor,
        "subscription",
        subscription.id,
        "transition",
        changes={"status": {"before": before, "after": to}},
        summary=reason[:255],
    )


def _advance(actor: User | None, order: Order) -> None:
    """Queue the next step; automatic steps complete at once; when every step is done, finish."""
    for task in order.tasks:
        if task.status == TaskStatus.DONE:
            continue
        if task.status == TaskStatus.WAITING:
            task.status = TaskStatus.QUEUED.value
            task.queued_at = clock.now()
            if task.mode == "manual":
                _notify_group(task)
        if task.mode == "automatic" and task.status == TaskStatus.QUEUED:
            task.started_at = task.completed_at = clock.now()
            task.status = TaskStatus.DONE.value
            audit.record(
                None, "fulfillment_task", task.id, "completed", summary=f"{task.name} (automatic)"
            )
            _finish_subscription_if_done(actor, order, task.subscription_id)
            continue
        return  # a manual step (or a failed one) holds the order here
    _complete_order(actor, order)


def _notify_group(task: FulfillmentTask) -> None:
    if task.group_id is None:
        return
    agents = db.session.scalars(
        sa.select(User)
        .join(group_members, group_members.c.user_id == User.id)
        .where(group_members.c.group_id == task.group_id)
    ).all()
    notify(
        [agent for agent in agents if agent.has_role(Role.SUPPORT_AGENT)],
        f"New fulfillment task: {task.name}",
        f"Order {task.order_id} needs “{task.name}”.",
        "/fulfillment",
    )


def _finish_subscription_if_done(actor: User | None, order: Order, subscription_id: int) -> None:
    """A bundle member becomes active once its own steps are done."""
    if order.order_type != OrderType.NEW or subscription_id == order.subscription_id:
        return
    if all(
        task.status == TaskStatus.DONE
        for task in order.tasks
        if task.subscription_id == subscription_id
    ):
        child = get_by_id(Subscription, subscription_id)
        if child.status == S.FULFILLING:
            _move(actor, child, S.ACTIVE)


def _complete_order(actor: User | None, order: Order) -> None:
    subscription = order.subscription
    order.status = OrderStatus.COMPLETED.value
    order.completed_at = clock.now()
    owner = subscription.owner
    if order.order_type == OrderType.NEW:
        _move(actor, subscription, S.ACTIVE)
        notify(
            [owner],
            f"Active: {subscription.offer.name}",
            "Your subscription is active.",
            f"/subscriptions/{subscription.id}",
        )
    elif order.order_type == OrderType.MODIFY:
        target = order.target_offer or subscription.offer
        previous = current_contract(subscription)
        if previous is not None:
            previous.status = ContractStatus.SUPERSEDED.value
        _write_contract(
            subscription,
            target,
            order.agreement,
            order.requested_by or owner,
            version=(previous.version + 1) if previous else 1,
        )
        subscription.offer_id, subscription.offer_code, subscription.options = (
            target.id,
            target.code,
            order.options,
        )
        _move(actor, subscription, S.ACTIVE)
        notify(
            [owner],
            f"Changed: {target.name}",
            "Your change is in place; the amended contract is on the subscription page.",
            f"/subscriptions/{subscription.id}",
        )
    else:
        for contract in contracts_of(subscription):
            if contract.status == ContractStatus.ACTIVE:
                contract.status = ContractStatus.ENDED.value
                contract.ended_at = clock.now()
        for child in subscription.children:
            if child.status != S.TERMINATED:
                child.status, child.terminated_at = S.TERMINATED.value, clock.now()
        _move(actor, subscription, S.TERMINATED)
        notify(
            [owner],
            f"Ended: {subscription.offer.name}",
            "Your subscription is terminated.",
            f"/subscriptions/{subscription.id}",
        )
    audit.record(actor, "order", order.id, "completed", summary=order.order_type)


def modify(
    actor: User,
    subscription_id: int,
    *,
    options: Any = None,
    target_offer_id: Any = None,
    accept_terms: bool,
    idempotency_key: Any,
) -> tuple[Order, bool]:
    """Change options, or move to another offer: a modification order and, when done, an amended contract."""
    key = _clean_key(idempotency_key)
    subscription = subscription_for(actor, subscription_id)
    _require_consumer_of(actor, subscription)
    if (
        target_offer_id not in (None, "")
        and int(_int(target_offer_id, "target_offer_id")) != subscription.offer_id
    ):
        target = orderable_offer(actor, target_offer_id)
        if target.is_bundle or subscription.offer.is_bundle:
            raise ValidationFailed(
                "Bundles cannot be swapped; end the bundle and order anew.",
                fields={"target_offer_id": ["Not for bundles."]},
            )
    else:
        target = subscription.offer
    _refuse_if_end_scheduled(subscription)
    if accept_terms is not True:
        raise ValidationFailed(
            "Accept the terms and conditions to change the subscription.",
            fields={"accept_terms": ["You must accept the terms."]},
        )
    cleaned = clean_options(target, options if options is not None else subscription.options)
    fingerprint = _fingerprint(
        kind="modify", subscription=subscription.id, target=target.id, options=cleaned
    )
    replayed = _existing_order(actor, key, fingerprint)  # a retried request gets its order back
    if replayed is not None:
        return replayed, False
    if target.id == subscription.offer_id and cleaned == subscription.options:
        raise ValidationFailed(
            "Nothing to change: choose other options or another offer.",
            fields={"options": ["These are the current options."]},
        )

    def build() -> Order:
        _move(actor, subscription, S.MODIFYING)
        order = Order(
            subscription_id=subscription.id,
            order_type=OrderType.MODIFY.value,
            target_offer_id=target.id,
            options=cleaned,
            agreement=_agreement(target, cleaned, actor),
            idempotency_key=key,
            request_fingerprint=fingerprint,
            requested_by_id=actor.id,
            created_at=clock.now(),
        )
        db.session.add(order)
        db.session.flush()
        _plan_tasks(order, subscription, target)
        _advance(actor, order)
        return order

    return _insert_order_once(actor, key, fingerprint, build)


def terminate(
    actor: User, subscription_id: int, *, at: Any = None, idempotency_key: Any
) -> tuple[Order, bool]:
    """End now, or at a chosen date (the order waits, scheduled, until then)."""
    key = _clean_key(idempotency_key)
    subscription = subscription_for(actor, subscription_id)
    _require_consumer_of(actor, subscription)
    errors: check.Errors = {}
    when = check.moment(errors, "at", at)
    if when is not None and when < clock.now().replace(second=0, microsecond=0):
        check.add(errors, "at", "The end date cannot be in the past.")
    if errors:
        raise ValidationFailed("The subscription could not be ended.", fields=errors)
    fingerprint = _fingerprint(kind="terminate", subscription=subscription.id, at=when)
    replayed = _existing_order(actor, key, fingerprint)  # a retried request gets its order back
    if replayed is not None:
        return replayed, False
    if subscription.status != S.ACTIVE:
        raise Conflict(
            f"A {subscription.status} subscription cannot be ended now.",
            fields={"status": [f"It is {subscription.status}."]},
        )
    _refuse_if_end_scheduled(subscription)
    scheduled = when is not None and when > clock.now()

    def build() -> Order:
        order = Order(
            subscription_id=subscription.id,
            order_type=OrderType.TERMINATE.value,
            options=subscription.options,
            agreement={},
            idempotency_key=key,
            request_fingerprint=fingerprint,
            requested_by_id=actor.id,
            created_at=clock.now(),
            scheduled_for=when if scheduled else None,
            status=(OrderStatus.SCHEDULED if scheduled else OrderStatus.IN_PROGRESS).value,
        )
        db.session.add(order)
        db.session.flush()
        if scheduled:
            _guarded_touch(subscription, terminates_on=when)
            audit.record(
                actor,
                "subscription",
                subscription.id,
                "termination_scheduled",
                summary=f"{when:%Y-%m-%d}",
            )
        else:
            _start_termination(actor, order)
        return order

    return _insert_order_once(actor, key, fingerprint, build)


def _refuse_if_end_scheduled(subscription: Subscription) -> None:
    if subscription.terminates_on is not None:
        raise Conflict(
            f"This subscription ends on {subscription.terminates_on:%Y-%m-%d}: cancel that end date first.",
            fields={"at": ["An end date is already scheduled."]},
        )


def _guarded_touch(subscription: Subscription, **values: Any) -> None:
    result = db.session.execute(
        sa.update(Subscription)
        .where(
            Subscription.id == subscription.id,
            Subscription.version == subscription.version,
            Subscription.status == S.ACTIVE,
        )
        .values(version=Subscription.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(
            "Someone else changed this subscription at the same moment; reload and try again.",
            fields={"version": ["The subscription changed."]},
        )
    db.session.refresh(subscription)


def _start_termination(actor: User | None, order: Order) -> None:
    subscription = order.subscription
    _move(actor, subscription, S.TERMINATING)
    order.status = OrderStatus.IN_PROGRESS.value
    _plan_tasks(order, subscription, subscription.offer)
    _advance(actor, order)


def process_due(now: datetime | None = None) -> int:
    """Start terminations whose date has come. Run by `flask subscriptions process` and on queue pages."""
    now = now or clock.now()
    due = db.session.scalars(
        sa.select(Order).where(Order.status == OrderStatus.SCHEDULED, Order.scheduled_for <= now)
    ).all()
    started = 0
    for order in due:
        try:
            _start_termination(None, order)
            db.session.commit()
            started += 1
        except (Conflict, InvalidTransition):
            db.session.rollback()
    return started


def cancel_scheduled_termination(actor: User, subscription_id: int) -> Subscription:
    subscription = subscription_for(actor, subscription_id)
    _require_consumer_of(actor, subscription)
    order = db.session.scalar(
        sa.select(Order).where(
            Order.subscription_id == subscription.id, Order.status == OrderStatus.SCHEDULED
        )
    )
    if order is None:
        raise InvalidTransition("No end date is scheduled.", fields={"at": ["Nothing scheduled."]})
    db.session.delete(order)
    _guarded_touch(subscription, terminates_on=None)
    audit.record(actor, "subscription", subscription.id, "termination_cancelled")
    db.session.commit()
    return subscription


def _require_consumer_of(actor: User, subscription: Subscription) -> None:
    if subscription.group_id not in actor.group_ids or not actor.has_role(Role.CONSUMER):
        raise NotAllowed("Only consumers of this subscription's group can change it.")


def _int(value: Any, field: str) -> int:
    number = whole_number(value)
    if number is None:
        raise ValidationFailed("Choose from the list.", fields={field: ["Choose from the list."]})
    return number


# --- fulfillment queue ----------------------------------------------------------------------


def can_work(user: User, task: FulfillmentTask) -> bool:
    return user.has_role(Role.SUPPORT_AGENT) and (
        task.group_id is None or task.group_id in user.group_ids
    )


def queue_query(actor: User, *, group_id: int | None = None, status: str = "") -> sa.Select:
    """Manual tasks for the agent's groups: queued and in progress by default, oldest first."""
    require_role(
        actor, Role.SUPPORT_AGENT, message="Only support agents work the fulfillment queue."
    )
    groups = sorted(actor.group_ids)
    if group_id:
        if group_id not in actor.group_ids:
            raise NotFound("You are not in that group.")
        groups = [group_id]
    statuses = (
        [status]
        if status
        else [TaskStatus.QUEUED.value, TaskStatus.IN_PROGRESS.value, TaskStatus.FAILED.value]
    )
    return (
        sa.select(FulfillmentTask)
        .where(
            FulfillmentTask.mode == "manual",
            FulfillmentTask.group_id.in_(groups or [-1]),
            FulfillmentTask.status.in_(statuses),
        )
        .options(
            selectinload(FulfillmentTask.order).selectinload(Order.subscription),
            selectinload(FulfillmentTask.assignee),
            selectinload(FulfillmentTask.group),
        )
        .order_by(FulfillmentTask.queued_at, FulfillmentTask.id)
    )


def get_task(actor: User, task_id: int) -> FulfillmentTask:
    task = get_by_id(FulfillmentTask, task_id)
    if task is None or not can_work(actor, task):
        raise NotFound("No such task in your queues.")
    return task


def transition_task(actor: User, task_id: int, to: str, *, reason: str = "") -> FulfillmentTask:
    """start, complete, fail (with a reason), release, or retry a manual fulfillment task."""
    require_role(actor, Role.SUPPORT_AGENT, message="Only support agents work fulfillment tasks.")
    task = get_task(actor, task_id)
    aliases = {
        "start": TaskStatus.IN_PROGRESS,
        "started": TaskStatus.IN_PROGRESS,
        "complete": TaskStatus.DONE,
        "completed": TaskStatus.DONE,
        "fail": TaskStatus.FAILED,
        "retry": TaskStatus.QUEUED,
        "release": TaskStatus.QUEUED,
    }
    target = str(aliases.get(to, to))
    if target not in TASK_TRANSITIONS.get(task.status, set()):
        allowed = ", ".join(sorted(TASK_TRANSITIONS.get(task.status, set()))) or "none"
        raise InvalidTransition(
            f"A {task.status.replace('_', ' ')} task cannot become {target.replace('_', ' ')}. Allowed: {allowed}.",
            fields={"to": [f"Allowed: {allowed}."]},
        )
    reason = (reason or "").strip()
    if target == TaskStatus.FAILED and not reason:
        raise ValidationFailed("Say why the task failed.", fields={"reason": ["Give a reason."]})
    if len(reason) > 2000:
        raise ValidationFailed(
            "Keep the reason to 2,000 characters.", fields={"reason": ["Too long."]}
        )
    before = task.status
    order = task.order
    subscription = order.subscription
    task.status = target
    if target == TaskStatus.IN_PROGRESS:
        task.assignee_id, task.started_at = actor.id, clock.now()
    elif target == TaskStatus.DONE:
        task.completed_at = clock.now()
        task.assignee_id = task.assignee_id or actor.id
        task.started_at = task.started_at or clock.now()
    elif target == TaskStatus.FAILED:
        task.failure_reason = reason
        order.status, order.failure_reason = OrderStatus.FAILED.value, reason
        _move(actor, subscription, S.FAILED, reason=f"{task.name}: {reason}")
        notify(
            [subscription.owner],
            f"Problem with {subscription.offer.name}",
            f"“{task.name}” failed: {reason}",
            f"/subscriptions/{subscription.id}",
        )
    elif before == TaskStatus.FAILED:  # retry
        task.failure_reason, task.assignee_id, task.started_at = "", None, None
        order.status, order.failure_reason = OrderStatus.IN_PROGRESS.value, ""
        _move(actor, subscription, RUNNING_STATUS[OrderType(order.order_type)])
    else:  # released back to the queue
        task.assignee_id, task.started_at = None, None
    audit.record(
        actor,
        "fulfillment_task",
        task.id,
        "transition",
        changes={"status": {"before": before, "after": target}},
        summary=reason[:255],
    )
    if target == TaskStatus.DONE:
        _finish_subscription_if_done(actor, order, task.subscription_id)
        _advance(actor, order)
    db.session.commit()
    return task


def progress(order: Order | None) -> dict:
    """Steps done of total, and the current step, for progress bars."""
    if order is None or not order.tasks:
        return {
            "done": 0,
            "total": 0,
            "percent": 100 if order and order.status == OrderStatus.COMPLETED else 0,
            "current": None,
        }
    done = sum(1 for task in order.tasks if task.status == TaskStatus.DONE)
    current = next((task for task in order.tasks if task.status != TaskStatus.DONE), None)
    return {
        "done": done,
        "total": len(order.tasks),
        "percent": round(100 * done / len(order.tasks)),
        "current": current,
    }


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


def published_status_values() -> list[str]:
    return [OfferStatus.PUBLISHED.value, OfferStatus.RETIRED.value]
