"""What people see of fulfillment as it runs: each step with its latest message, the outputs,
the delivery log on a task, and which running steps are overdue. Read-only: computed at read
time, so no page or poll writes anything."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from ... import clock
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...catalog.services.access import CATALOG_ROLES
from ...errors import NotFound
from ...extensions import get_by_id
from ...i18n import _
from ..models import FulfillmentTask, Order, OrderStatus, OrderType, TaskStatus
from ..states import TASK
from .contracts import contracts_of
from .fulfillment import can_work
from .subscriptions import current_order, orders_of, subscription_for

OPEN = (TaskStatus.QUEUED.value, TaskStatus.IN_PROGRESS.value)
FINISHED = (TaskStatus.DONE.value, TaskStatus.FAILED.value)


def overdue_since(task: FulfillmentTask, now: datetime | None = None) -> datetime | None:
    """When an automatic step still waiting on its receiver became overdue (its expected
    hours times FULFILLMENT_STALE_FACTOR after it was queued), or None."""
    if not task.integration or task.status not in OPEN or task.queued_at is None:
        return None
    factor = float(current_app.config.get("FULFILLMENT_STALE_FACTOR", 2))
    deadline = task.queued_at + timedelta(hours=task.expected_hours * factor)
    return deadline if deadline <= (now or clock.now()) else None


def latest_message(task: FulfillmentTask, *, internal: bool) -> str:
    for entry in reversed(task.log):
        if entry.message and (internal or not entry.internal):
            return entry.message
    return ""


def step_message(task: FulfillmentTask, *, internal: bool) -> str:
    """The step's latest message; a failed step with none says what its order tells of the
    failure (what the consumer was told, never the delivery error kept for agents)."""
    message = latest_message(task, internal=internal)
    if not message and task.status == TaskStatus.FAILED:
        return task.order.failure_reason or ""
    return message


def step_rows(order: Order | None, *, internal: bool) -> list[dict]:
    """Each step of the order: status and latest message (the consumer sees only what the
    receivers reported and what they were told of a failure; agents see delivery errors and
    notes too)."""
    if order is None:
        return []
    return [
        {
            "id": task.id,
            "sequence": task.sequence,
            "name": task.name,
            "status": task.status,
            "automatic": task.mode == "automatic",
            "message": step_message(task, internal=internal),
            "log": [
                {
                    "at": entry.created_at.isoformat(),
                    "status": entry.status,
                    "message": entry.message,
                }
                for entry in task.log
                if entry.message and (internal or not entry.internal)
            ],
        }
        for task in order.tasks
    ]


def progress_document(user: User, subscription_id: int) -> dict:
    """The consumer's live view of a subscription's fulfillment (the JSON the page polls)."""
    subscription = subscription_for(user, subscription_id)
    history = orders_of(subscription)
    shown = current_order(subscription) or (history[-1] if history else None)
    steps = step_rows(shown, internal=False)
    return {
        "subscription": {"id": subscription.id, "status": subscription.status},
        "order": {"id": shown.id, "status": shown.status} if shown is not None else None,
        "steps": steps,
        "outputs": dict(subscription.outputs or {}),
        # done when every step is, or when the order stopped (a failed step leaves the later
        # ones waiting: the page stops polling and shows the subscription's new status)
        "finished": shown is None
        or shown.status != OrderStatus.IN_PROGRESS
        or all(step["status"] in FINISHED for step in steps),
    }


def can_retry(user: User, task: FulfillmentTask) -> bool:
    return task.status == TaskStatus.FAILED and (
        can_work(user, task) or user.has_role(*CATALOG_ROLES)
    )


def task_page(user: User, task_id: int) -> dict:
    """A task with its deliveries, their attempts and its log: for support agents who work it
    and for catalog managers."""
    require_role(
        user, Role.SUPPORT_AGENT, *CATALOG_ROLES, message=_("Only agents and catalog managers.")
    )
    task = get_by_id(FulfillmentTask, task_id)
    if task is None or not (can_work(user, task) or user.has_role(*CATALOG_ROLES)):
        raise NotFound(_("No such task in your queues."))
    return {
        "task": task,
        "deliveries": list(reversed(task.deliveries)),
        "log": list(task.log),
        "overdue_since": overdue_since(task),
        "can_retry": can_retry(user, task),
        "allowed": TASK.targets(task.status) if can_work(user, task) else set(),
        "summary": order_summary(task.order),
    }


# --- what an order asks for, as its tasks show it --------------------------------------------

JUSTIFICATION_KEYS = ("justification", "reason", "business_reason")


def _option_rows(definitions: list[dict], values: dict) -> list[dict]:
    labels = {option.get("key"): option.get("label") or option.get("key") for option in definitions}
    return [
        {"key": key, "label": labels.get(key, key), "value": value}
        for key, value in (values or {}).items()
        if value not in (None, "")
    ]


def _before_change(order: Order) -> tuple[str, dict, list[dict]]:
    """(offer name, options, option definitions) the subscription had when the change was
    ordered: while it runs, the subscription's own; once done, its contract before the amended
    one."""
    subscription = order.subscription
    if order.status == OrderStatus.COMPLETED:
        agreed = contracts_of(subscription)
        for earlier, later in zip(agreed, agreed[1:], strict=False):
            if later.snapshot == order.agreement:
                snapshot = earlier.snapshot or {}
                return (
                    snapshot.get("name", earlier.offer_code),
                    snapshot.get("options") or {},
                    snapshot.get("option_definitions") or [],
                )
    return subscription.offer.name, subscription.options or {}, subscription.offer.options or []


def order_summary(order: Order) -> dict:
    """What an agent needs to do the order's step: the options chosen (with labels), the
    justification given, and for a change what changes (offer and options, before → after)."""
    agreement = order.agreement or {}
    definitions = agreement.get("option_definitions") or order.subscription.offer.options or []
    options = _option_rows(definitions, order.options or {})
    justification = next(
        (str(row["value"]) for row in options if row["key"] in JUSTIFICATION_KEYS), ""
    )
    summary = {
        "options": [row for row in options if row["key"] not in JUSTIFICATION_KEYS],
        "justification": justification,
        "change": None,
    }
    if order.order_type == OrderType.MODIFY:
        offer_before, values_before, definitions_before = _before_change(order)
        labels = {
            row["key"]: row["label"] for row in _option_rows(definitions_before, values_before)
        }
        labels.update({row["key"]: row["label"] for row in options})
        after_values = order.options or {}
        summary["change"] = {
            "offer_before": offer_before,
            "offer_after": agreement.get("name") or offer_before,
            "options": [
                {
                    "label": labels.get(key, key),
                    "before": values_before.get(key),
                    "after": after_values.get(key),
                }
                for key in sorted(set(values_before) | set(after_values))
                if values_before.get(key) != after_values.get(key)
            ],
        }
    return summary
