"""Fulfillment: an order's plan as tasks in sequence, advancing through them (automatic steps at
once, manual ones from the agents' queue), and completing the order when every step is done."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ... import clock
from ...accounts.models import SYSTEM, ConsumerGroup, Role, User, group_members
from ...accounts.services import require_role
from ...audit import services as audit
from ...catalog import services as catalog
from ...catalog.models import ServiceOffer
from ...errors import InvalidTransition, NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _, _l
from ...labels import label
from ...notifications.models import NotificationKind
from ...notifications.services import notify
from ...versioning import check_version, flush_versioned, version_change
from ..models import (
    ContractStatus,
    FulfillmentTask,
    Order,
    OrderStatus,
    OrderType,
    StepDeliveryStatus,
    Subscription,
    SubscriptionStatus,
    TaskStatus,
)
from ..states import CONTRACT, ORDER, TASK
from . import deliveries
from .contracts import contracts_of, current_contract, write_contract
from .lifecycle import RUNNING_STATUS, move

S = SubscriptionStatus

# What an agent asks for, in the words of the pages and the API.
TASK_ACTIONS = {
    "start": TaskStatus.IN_PROGRESS,
    "started": TaskStatus.IN_PROGRESS,
    "complete": TaskStatus.DONE,
    "completed": TaskStatus.DONE,
    "fail": TaskStatus.FAILED,
    "retry": TaskStatus.QUEUED,
    "release": TaskStatus.QUEUED,
}


# --- the plan --------------------------------------------------------------------------------


def plan_hours(offer: ServiceOffer) -> float:
    """The expected hours of work in the offer's fulfillment plan."""
    return round(
        sum(float(step.get("expected_hours") or 0) for step in offer.fulfillment_plan or []), 2
    )


def plan_tasks(actor: User, order: Order, subscription: Subscription, offer: ServiceOffer) -> None:
    """One task per plan step, in sequence. A bundle orders its members in order: each member gets its
    own subscription and its tasks wait for the previous member's."""
    groups = {group.name: group.id for group in db.session.scalars(sa.select(ConsumerGroup))}
    sequence = 0
    if offer.is_bundle and order.order_type == OrderType.NEW:
        targets = _member_subscriptions(actor, subscription, offer)
    else:
        targets = [(subscription, offer)]
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
                    integration=step.get("integration") if step["mode"] == "automatic" else None,
                    job_template=step.get("job_template"),
                    status=TaskStatus.WAITING.value,
                    created_at=clock.now(),
                )
            )
    db.session.flush()


def _member_subscriptions(
    actor: User, bundle: Subscription, offer: ServiceOffer
) -> list[tuple[Subscription, ServiceOffer]]:
    """A subscription of each member offer, in the bundle's sequence, fulfilled by the bundle's
    order: requested like any subscription, then fulfilling at once."""
    members = []
    for _member, member_offer in catalog.member_offers(offer):
        if member_offer is None:
            continue
        child = Subscription(
            offer_id=member_offer.id,
            offer_code=member_offer.code,
            group_id=bundle.group_id,
            owner_id=bundle.owner_id,
            parent_id=bundle.id,
            status=S.REQUESTED.value,
            options={},
            created_at=clock.now(),
        )
        db.session.add(child)
        db.session.flush()
        move(actor, child, S.FULFILLING)
        members.append((child, member_offer))
    return members


def _steps_for(order_type: str, offer: ServiceOffer) -> list[dict]:
    """A new instance runs the offer's whole plan. A change or an end runs one step, done by the
    plan's first manual group if it has one, else automatically."""
    plan = offer.fulfillment_plan or []
    if order_type == OrderType.NEW:
        return plan or [{"name": _("Provision"), "mode": "automatic", "expected_hours": 0.1}]
    manual = next((step for step in plan if step.get("mode") == "manual"), None)
    name = _("Apply change") if order_type == OrderType.MODIFY else _("Decommission")
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


# --- advancing an order ----------------------------------------------------------------------


def advance(actor: User, order: Order) -> None:
    """Queue the next step; an automatic step with an integration is delivered to it by a job
    (after the commit) and holds the order until it reports back; one without completes at
    once; when every step is done, finish."""
    for task in order.tasks:
        if task.status == TaskStatus.DONE:
            continue
        if task.status == TaskStatus.WAITING:
            TASK.move(task, TaskStatus.QUEUED)
            task.queued_at = clock.now()
            if task.mode == "manual":
                _notify_group(task)
        if task.integration and task.status == TaskStatus.QUEUED:
            if not any(d.status == StepDeliveryStatus.PENDING for d in task.deliveries):
                deliveries.open_delivery(task)
            return
        if task.mode == "automatic" and task.status == TaskStatus.QUEUED:
            changes = {
                "status": {"before": task.status, "after": TaskStatus.DONE.value},
                **version_change(task),
            }
            task.started_at = task.completed_at = clock.now()
            TASK.move(task, TaskStatus.DONE)
            flush_versioned(task, noun="task", object_type="fulfillment_task")
            audit.record(
                SYSTEM,
                "fulfillment_task",
                task.id,
                "completed",
                changes=changes,
                summary=f"{task.name} (automatic)",
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
        _l("New fulfillment task: %(name)s", name=task.name),
        _l("Order %(order_id)s needs “%(name)s”.", order_id=task.order_id, name=task.name),
        "/fulfillment",
        kind=NotificationKind.ORDER_UPDATES,
    )


def _finish_subscription_if_done(actor: User, order: Order, subscription_id: int) -> None:
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
            move(actor, child, S.ACTIVE)


def _complete_order(actor: User, order: Order) -> None:
    subscription = order.subscription
    changes = version_change(order)
    ORDER.move(order, OrderStatus.COMPLETED)
    order.completed_at = clock.now()
    owner = subscription.owner
    if order.order_type == OrderType.NEW:
        move(actor, subscription, S.ACTIVE)
        notify(
            [owner],
            _l("Active: %(name)s", name=subscription.offer.name),
            _l("Your subscription is active."),
            f"/subscriptions/{subscription.id}",
            kind=NotificationKind.ORDER_UPDATES,
        )
    elif order.order_type == OrderType.MODIFY:
        target = order.target_offer or subscription.offer
        previous = current_contract(subscription)
        if previous is not None:
            CONTRACT.move(previous, ContractStatus.SUPERSEDED)
        write_contract(
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
        move(actor, subscription, S.ACTIVE)
        notify(
            [owner],
            _l("Changed: %(name)s", name=target.name),
            _l("Your change is in place; the amended contract is on the subscription page."),
            f"/subscriptions/{subscription.id}",
            kind=NotificationKind.ORDER_UPDATES,
        )
    else:
        for contract in contracts_of(subscription):
            if contract.status == ContractStatus.ACTIVE:
                CONTRACT.move(contract, ContractStatus.ENDED)
                contract.ended_at = clock.now()
        for child in subscription.children:
            if child.status == S.TERMINATING:  # a bundle's members end with it
                move(actor, child, S.TERMINATED)
        move(actor, subscription, S.TERMINATED)
        notify(
            [owner],
            _l("Ended: %(name)s", name=subscription.offer.name),
            _l("Your subscription is terminated."),
            f"/subscriptions/{subscription.id}",
            kind=NotificationKind.ORDER_UPDATES,
        )
    audit.record(actor, "order", order.id, "completed", changes=changes, summary=order.order_type)


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


# --- the fulfillment queue -------------------------------------------------------------------


def can_work(user: User, task: FulfillmentTask) -> bool:
    return user.has_role(Role.SUPPORT_AGENT) and (
        task.group_id is None or task.group_id in user.group_ids
    )


def queue_query(actor: User, *, group_id: int | None = None, status: str = "") -> sa.Select:
    """Manual tasks for the agent's groups and the automatic steps that call an integration
    (any agent watches those): queued, in progress and failed by default, oldest first."""
    require_role(
        actor, Role.SUPPORT_AGENT, message=_("Only support agents work the fulfillment queue.")
    )
    groups = sorted(actor.group_ids)
    if group_id:
        if group_id not in actor.group_ids:
            raise NotFound(_("You are not in that group."))
        groups = [group_id]
    statuses = (
        [status]
        if status
        else [TaskStatus.QUEUED.value, TaskStatus.IN_PROGRESS.value, TaskStatus.FAILED.value]
    )
    return (
        sa.select(FulfillmentTask)
        .where(
            sa.or_(
                sa.and_(
                    FulfillmentTask.mode == "manual",
                    FulfillmentTask.group_id.in_(groups or [-1]),
                ),
                sa.and_(
                    sa.false() if group_id else sa.true(),
                    FulfillmentTask.integration.is_not(None),
                    FulfillmentTask.group_id.is_(None),
                ),
            ),
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
        raise NotFound(_("No such task in your queues."))
    return task


def worked_task(actor: User, task_id: int) -> FulfillmentTask:
    """The task, if the actor works fulfillment tasks and this one is in their queues: the
    permission checked before anything the caller sent is looked at."""
    require_role(
        actor, Role.SUPPORT_AGENT, message=_("Only support agents work fulfillment tasks.")
    )
    return get_task(actor, task_id)


def transition_task(
    actor: User, task_id: int, to: str, *, reason: str = "", version: Any = None
) -> FulfillmentTask:
    """start, complete, fail (with a reason), release, or retry a manual fulfillment task.
    `version` is the task's version the agent saw: refused (409, who changed what) if it has
    changed since, and so is the loser of two agents racing on one task."""
    task = worked_task(actor, task_id)
    check_version(task, version, noun="task", object_type="fulfillment_task")
    target = str(TASK_ACTIONS.get(to, to))
    if not TASK.allows(task.status, target):
        allowed = ", ".join(sorted(TASK.targets(task.status))) or "none"
        raise InvalidTransition(
            _(
                "A %(replace)s task cannot become %(replace2)s. Allowed: %(allowed)s.",
                replace=label(task.status),
                replace2=label(target),
                allowed=allowed,
            ),
            fields={"to": [_("Allowed: %(allowed)s.", allowed=allowed)]},
        )
    reason = (reason or "").strip()
    if target == TaskStatus.FAILED and not reason:
        raise ValidationFailed(
            _("Say why the task failed."), fields={"reason": [_("Give a reason.")]}
        )
    if task.status == TaskStatus.FAILED and target == TaskStatus.DONE and not reason:
        raise ValidationFailed(
            _("Say what was done by hand."), fields={"reason": [_("Give a note.")]}
        )
    if len(reason) > 2000:
        raise ValidationFailed(
            _("Keep the reason to 2,000 characters."), fields={"reason": [_("Too long.")]}
        )
    move_task(actor, task, target, reason=reason)
    return task


def move_task(
    actor: User, task: FulfillmentTask, target: str, *, reason: str = "", told: str = ""
) -> None:
    """Move a task (the checks done) and what follows for its order and subscription; the
    audit says who. Agents' actions and automatic steps' reports both come through here.
    `told` is what the consumer is told of a failure when `reason` is for agents only."""
    before = task.status
    changes = {"status": {"before": before, "after": str(target)}, **version_change(task)}
    _set_task_fields(actor, task, target, reason)
    flush_versioned(task, noun="task", object_type="fulfillment_task")
    audit.record(
        actor, "fulfillment_task", task.id, "transition", changes=changes, summary=reason[:255]
    )
    if reason and (target == TaskStatus.DONE or before == TaskStatus.FAILED):
        deliveries.log(task, str(target), reason, internal=True)
    _follow_task(actor, task, before, str(told or reason))


def _set_task_fields(actor: User, task: FulfillmentTask, target: str, reason: str) -> None:
    """The task's new status and what goes with it: who works it, since when, why it failed."""
    before = TASK.move(task, target)
    if target == TaskStatus.IN_PROGRESS:
        task.assignee_id, task.started_at = actor.id, clock.now()
    elif target == TaskStatus.DONE:
        task.completed_at = clock.now()
        task.assignee_id = task.assignee_id or actor.id
        task.started_at = task.started_at or clock.now()
    elif target == TaskStatus.FAILED:
        task.failure_reason = reason
        task.assignee_id = task.assignee_id or actor.id
    elif before == TaskStatus.FAILED:  # retry
        task.failure_reason, task.assignee_id, task.started_at = "", None, None
        task.queued_at = clock.now()
    else:  # released back to the queue
        task.assignee_id, task.started_at = None, None


def _follow_task(actor: User, task: FulfillmentTask, before: str, reason: str) -> None:
    """What the task's move does to its order and subscription: a done step advances the
    order, a failed one fails it, a retried one runs it again."""
    order = task.order
    subscription = order.subscription
    if task.status == TaskStatus.DONE:
        if before == TaskStatus.FAILED:  # completed by hand: the order runs on
            _resume(actor, order)
        deliveries.close_pending(task)
        _finish_subscription_if_done(actor, order, task.subscription_id)
        advance(actor, order)
    elif task.status == TaskStatus.FAILED:
        deliveries.close_pending(task)
        ORDER.move(order, OrderStatus.FAILED)
        order.failure_reason = reason
        move(actor, subscription, S.FAILED, reason=f"{task.name}: {reason}")
        notify(
            [subscription.owner],
            _l("Problem with %(name)s", name=subscription.offer.name),
            _l("“%(name)s” failed: %(reason)s", name=task.name, reason=reason),
            f"/subscriptions/{subscription.id}",
            kind=NotificationKind.ORDER_UPDATES,
        )
    elif before == TaskStatus.FAILED:  # retry: from this step; the ones done stay done
        _resume(actor, order)
        advance(actor, order)


def _resume(actor: User, order: Order) -> None:
    ORDER.move(order, OrderStatus.IN_PROGRESS)
    order.failure_reason = ""
    move(actor, order.subscription, RUNNING_STATUS[OrderType(order.order_type)])
