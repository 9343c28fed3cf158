"""The Release stream's lifecycles, declared once: digital product releases and service offers,
their states and their moves. Each model's status column is watched by its machine (models.py,
which re-exports the enums), so every status write anywhere is one of these moves, and its CHECK
constraint holds the same states. The guards that gate an offer's moves (readiness first) live
with the lifecycle rules in services/lifecycle.py.

The enums live here rather than in models.py so that models.py can build its CHECK constraints
from the machines without an import circle."""

from __future__ import annotations

import enum

from ..statemachine import StateMachine


class ReleaseStatus(enum.StrEnum):
    PLANNED = "planned"
    ACCEPTED = "accepted"
    DEPLOYED = "deployed"
    RETIRED = "retired"


class OfferStatus(enum.StrEnum):
    DRAFT = "draft"
    PLANNED = "planned"
    READY = "ready"
    PUBLISHED = "published"
    RETIRED = "retired"
    SUPERSEDED = "superseded"  # an older revision replaced by a newer published one


R, OS = ReleaseStatus, OfferStatus

RELEASE = StateMachine(
    "release",
    ReleaseStatus,
    {
        (R.PLANNED, R.ACCEPTED): "its product manager accepts it",
        (R.PLANNED, R.RETIRED): "it is dropped",
        (R.ACCEPTED, R.DEPLOYED): "it is in production",
        (R.ACCEPTED, R.PLANNED): "it goes back to planning",
        (R.ACCEPTED, R.RETIRED): "it is dropped",
        (R.DEPLOYED, R.RETIRED): "it is taken out of production",
    },
    # a catalog file may declare a release in any state (catalog as code)
)

OFFER = StateMachine(
    "offer",
    OfferStatus,
    {
        (OS.DRAFT, OS.PLANNED): "its manager plans it",
        (OS.PLANNED, OS.DRAFT): "back to drafting",
        (OS.PLANNED, OS.READY): "its readiness checklist passes",
        (OS.READY, OS.PLANNED): "back to planning",
        (OS.READY, OS.PUBLISHED): "it is published (superseding the live revision)",
        (OS.PUBLISHED, OS.RETIRED): "it is retired, with an end date",
        (OS.PUBLISHED, OS.SUPERSEDED): "a newer revision of it is published",
    },
    initial=(OS.DRAFT,),
)
