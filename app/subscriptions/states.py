"""The lifecycles of the Consume stream's aggregates, declared once: subscriptions, orders,
fulfillment tasks and service contracts, their states and their moves. Each model's status
column is watched by its machine (models.py, which re-exports the enums), so every status write
anywhere is one of these moves, and its CHECK constraint holds the same states.

The enums live here rather than in models.py so that models.py can build its CHECK constraints
from the machines without an import circle."""

from __future__ import annotations

import enum

from ..statemachine import StateMachine


class SubscriptionStatus(enum.StrEnum):
    REQUESTED = "requested"
    FULFILLING = "fulfilling"
    ACTIVE = "active"
    MODIFYING = "modifying"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    FAILED = "failed"
    REJECTED = "rejected"  # its order was rejected by an approver: nothing was fulfilled
    CANCELLED = "cancelled"  # its requester withdrew the order while it awaited approval


class OrderStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # a termination waiting for its date
    AWAITING_APPROVAL = "awaiting_approval"  # a new-instance order waiting for its approvers
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    REJECTED = "rejected"  # an approver said no: nothing fulfilled, no contract
    CANCELLED = "cancelled"  # the requester withdrew it while it awaited approval


class TaskStatus(enum.StrEnum):
    WAITING = "waiting"  # an earlier step is not done yet
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"


class StepDeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # being sent, or waiting for its next attempt
    DELIVERED = "delivered"  # the receiver took it (2xx), or called back
    FAILED = "failed"  # out of attempts, or overtaken (the task was finished another way)


class ApprovalStepStatus(enum.StrEnum):
    WAITING = "waiting"  # an earlier step is not decided yet
    PENDING = "pending"  # its approvers are asked now
    APPROVED = "approved"
    REJECTED = "rejected"
    SKIPPED = "skipped"  # its condition does not hold for this order
    AUTO_APPROVED = "auto_approved"  # the policy's auto-approve condition holds
    CANCELLED = "cancelled"  # the order was withdrawn or rejected before this step decided


class ContractStatus(enum.StrEnum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"  # amended by a later version
    ENDED = "ended"


S, T, C = SubscriptionStatus, TaskStatus, ContractStatus

SUBSCRIPTION = StateMachine(
    "subscription",
    SubscriptionStatus,
    {
        (S.REQUESTED, S.FULFILLING): "its new-instance order starts (a bundle member's too)",
        (S.REQUESTED, S.FAILED): "its order failed before fulfillment began",
        (S.FULFILLING, S.ACTIVE): "every step of its order is done",
        (S.FULFILLING, S.FAILED): "a step failed",
        (S.ACTIVE, S.MODIFYING): "a change is ordered",
        (S.ACTIVE, S.TERMINATING): "its end starts (or its bundle's)",
        (S.MODIFYING, S.ACTIVE): "the change is in place",
        (S.MODIFYING, S.FAILED): "a step of the change failed",
        (S.TERMINATING, S.TERMINATED): "it is decommissioned",
        (S.TERMINATING, S.FAILED): "a step of the end failed",
        # an agent retries the failed order: back to the status its order runs in
        (S.FAILED, S.FULFILLING): "retry of a new-instance order",
        (S.FAILED, S.MODIFYING): "retry of a change",
        (S.FAILED, S.TERMINATING): "retry of an end (or its bundle ends)",
        (S.REQUESTED, S.REJECTED): "an approver rejected its order",
        (S.REQUESTED, S.CANCELLED): "its requester withdrew the order awaiting approval",
    },
    initial=(S.REQUESTED,),
)

ORDER = StateMachine(
    "order",
    OrderStatus,
    {
        (OrderStatus.SCHEDULED, OrderStatus.IN_PROGRESS): "its date has come",
        (OrderStatus.IN_PROGRESS, OrderStatus.COMPLETED): "every step is done",
        (OrderStatus.IN_PROGRESS, OrderStatus.FAILED): "a step failed",
        (OrderStatus.FAILED, OrderStatus.IN_PROGRESS): "an agent retries the failed step",
        (OrderStatus.AWAITING_APPROVAL, OrderStatus.IN_PROGRESS): "its last approval step passed",
        (OrderStatus.AWAITING_APPROVAL, OrderStatus.REJECTED): "an approver rejected it",
        (OrderStatus.AWAITING_APPROVAL, OrderStatus.CANCELLED): "its requester withdrew it",
    },
    initial=(OrderStatus.IN_PROGRESS, OrderStatus.SCHEDULED, OrderStatus.AWAITING_APPROVAL),
)

A = ApprovalStepStatus
APPROVAL_STEP = StateMachine(
    "approval step",
    ApprovalStepStatus,
    {
        (A.WAITING, A.PENDING): "the steps before it are decided: its approvers are asked",
        (A.WAITING, A.SKIPPED): "its condition does not hold for the order",
        (A.WAITING, A.AUTO_APPROVED): "the policy's auto-approve condition holds",
        (A.WAITING, A.CANCELLED): "the order was withdrawn or rejected before its turn",
        (A.PENDING, A.APPROVED): "one (or every) approver approved",
        (A.PENDING, A.REJECTED): "an approver rejected it, with a reason",
        (A.PENDING, A.CANCELLED): "the requester withdrew the order",
    },
    initial=(A.WAITING, A.SKIPPED, A.AUTO_APPROVED),  # decided as the order is placed
)

TASK = StateMachine(
    "fulfillment task",
    TaskStatus,
    {
        (T.WAITING, T.QUEUED): "the steps before it are done",
        (T.QUEUED, T.IN_PROGRESS): "an agent starts it (or its receiver reports it running)",
        (T.QUEUED, T.DONE): "an agent completes it (or it runs automatically)",
        (T.QUEUED, T.FAILED): "an agent fails it (or its delivery runs out of attempts)",
        (T.IN_PROGRESS, T.DONE): "its agent (or its receiver) completes it",
        (T.IN_PROGRESS, T.FAILED): "its agent (or its receiver) fails it",
        (T.IN_PROGRESS, T.QUEUED): "its agent releases it to the queue",
        (T.FAILED, T.QUEUED): "an agent retries it",
        (T.FAILED, T.DONE): "an agent completes it by hand, with a note",
    },
    initial=(T.WAITING,),
)

D = StepDeliveryStatus
STEP_DELIVERY = StateMachine(
    "step delivery",
    StepDeliveryStatus,
    {
        (D.PENDING, D.DELIVERED): "the receiver took it or called back",
        (D.PENDING, D.FAILED): "out of attempts, or its task was finished another way",
    },
    initial=(D.PENDING,),
)

CONTRACT = StateMachine(
    "service contract",
    ContractStatus,
    {
        (C.ACTIVE, C.SUPERSEDED): "a change amended it with a new version",
        (C.ACTIVE, C.ENDED): "the subscription ended",
    },
    initial=(C.ACTIVE,),
)
