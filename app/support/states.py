"""The lifecycles of the support domain's aggregates, declared once: support requests, incidents
and backlog items, their states and their moves. Each model's status column is watched by its
machine (models.py, which re-exports the enums), so every status write anywhere is one of these
moves, and its CHECK constraint holds the same states.

A support request's move also says who may make it: "agent", "consumer" (the requester's
group) or "either"; the SLA check closes requests resolved for a week as the system. The enums
live here so that models.py can build its CHECK constraints from the machines without an import
circle."""

from __future__ import annotations

import enum
from typing import NamedTuple

from ..statemachine import StateMachine


class RequestStatus(enum.StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CONSUMER = "waiting_on_consumer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"


class BacklogStatus(enum.StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    DONE = "done"
    DECLINED = "declined"


class Move(NamedTuple):
    who: str  # agent | consumer | either
    reason: str


R, Inc, B = RequestStatus, IncidentStatus, BacklogStatus

REQUESTS = StateMachine(
    "request",
    RequestStatus,
    {
        (R.NEW, R.IN_PROGRESS): Move("agent", "an agent starts on it or takes it"),
        (R.NEW, R.WAITING_ON_CONSUMER): Move("agent", "an agent needs more from the consumer"),
        (R.NEW, R.RESOLVED): Move("agent", "an agent answers it at once"),
        (R.IN_PROGRESS, R.WAITING_ON_CONSUMER): Move("agent", "an agent asks the consumer"),
        (R.IN_PROGRESS, R.RESOLVED): Move("agent", "an agent resolves it"),
        (R.WAITING_ON_CONSUMER, R.IN_PROGRESS): Move(
            "either", "the consumer answers (a reply does it too), or an agent resumes it"
        ),
        (R.WAITING_ON_CONSUMER, R.RESOLVED): Move("agent", "an agent resolves it"),
        (R.RESOLVED, R.CLOSED): Move(
            "consumer", "the consumer accepts the resolution (the SLA check after 7 days)"
        ),
        (R.RESOLVED, R.IN_PROGRESS): Move("consumer", "the consumer reopens it"),
    },
    initial=(R.NEW,),
)

INCIDENTS = StateMachine(
    "incident",
    IncidentStatus,
    {
        (Inc.OPEN, Inc.INVESTIGATING): "operations start looking into it",
        (Inc.OPEN, Inc.RESOLVED): "fixed before any investigation",
        (Inc.INVESTIGATING, Inc.MITIGATED): "a workaround is in place",
        (Inc.INVESTIGATING, Inc.RESOLVED): "the cause is fixed",
        (Inc.MITIGATED, Inc.INVESTIGATING): "the workaround did not hold",
        (Inc.MITIGATED, Inc.RESOLVED): "the cause is fixed",
        (Inc.RESOLVED, Inc.CLOSED): "the fix is confirmed",
        (Inc.RESOLVED, Inc.INVESTIGATING): "it came back",
    },
    initial=(Inc.OPEN,),
)

BACKLOG_ITEMS = StateMachine(
    "backlog item",
    BacklogStatus,
    {
        (B.NEW, B.ACCEPTED): "the product's team takes it on",
        (B.NEW, B.DECLINED): "the product's team will not do it",
        (B.ACCEPTED, B.DONE): "it is delivered in a release",
        (B.ACCEPTED, B.DECLINED): "the team drops it after all",
    },
    initial=(B.NEW,),
)
