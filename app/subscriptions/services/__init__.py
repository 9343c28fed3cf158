"""Consume stream rules, one module per concept:

- selection: whether an offer may be ordered now, its quote, the options chosen, the offers a
  subscription may change to
- comparison: offers side by side before selecting one
- contracts: the agreed snapshot and its versions
- orders: subscribe, modify, terminate (now or at a date), idempotently
- fulfillment: the plan as tasks, advancing an order, the agents' queue
- lifecycle: the subscription's transition table and guarded writes
- subscriptions: who sees which subscription, its orders, what a user may do with it now

Code inside app/subscriptions imports those modules. Other domains keep importing this package:
the names below are the ones they use."""

from ..queries import OPEN_STATUSES, subscribers_of
from .contracts import contract_for, contracts_of, current_contract
from .fulfillment import progress, transition_task
from .orders import cancel_scheduled_termination, modify, process_due, subscribe, terminate
from .subscriptions import orders_of, subscription_for, visible_subscriptions_query

__all__ = [
    "OPEN_STATUSES",
    "cancel_scheduled_termination",
    "contract_for",
    "contracts_of",
    "current_contract",
    "modify",
    "orders_of",
    "process_due",
    "progress",
    "subscribe",
    "subscribers_of",
    "subscription_for",
    "terminate",
    "transition_task",
    "visible_subscriptions_query",
]
