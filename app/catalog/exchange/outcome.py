"""What an import does to an offer besides its fields: which revision it writes, every
lifecycle transition (the superseded revision included) and every notification that goes out
(in-app and by e-mail), so that a dry run shows them and the import can be held to its dry run.

The notifications are the rows the catalog's listeners really wrote inside the import's
SAVEPOINT (a dry run rolls them back), counted per subject; nothing is predicted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa

from ...extensions import db
from ...notifications.models import Notification
from ..models import ServiceOffer


@dataclass
class Outcome:
    revision: str = ""
    transitions: list[str] = field(default_factory=list)
    notifications: dict[str, int] = field(default_factory=dict)
    walked: set[int] = field(default_factory=set)

    def step(self, revision: int, before: str, after: str) -> None:
        self.walked.add(revision)
        self.transitions.append(f"revision {revision}: {before} → {after}")

    def as_dict(self) -> dict:
        return {
            "revision": self.revision,
            "transitions": list(self.transitions),
            "notifications": [
                {"subject": subject, "recipients": count}
                for subject, count in sorted(self.notifications.items())
            ],
        }


def _statuses(code: str) -> dict[int, str]:
    return dict(
        db.session.execute(
            sa.select(ServiceOffer.revision, ServiceOffer.status).where(ServiceOffer.code == code)
        ).all()
    )


def _last_notification() -> int:
    return db.session.scalar(sa.select(sa.func.max(Notification.id))) or 0


@contextmanager
def watching(outcome: Outcome, code: str) -> Iterator[None]:
    """Record what the block does to `code`'s revisions beyond the steps it reports itself
    (a revision superseded by a publication), and the notifications it sends."""
    db.session.flush()
    before, mark = _statuses(code), _last_notification()
    yield
    db.session.flush()
    for revision, status in sorted(_statuses(code).items()):
        old = before.get(revision)
        if old is not None and old != status and revision not in outcome.walked:
            outcome.transitions.append(f"revision {revision}: {old} → {status}")
    for subject, count in db.session.execute(
        sa.select(Notification.subject, sa.func.count(Notification.id))
        .where(Notification.id > mark)
        .group_by(Notification.subject)
    ):
        outcome.notifications[subject] = outcome.notifications.get(subject, 0) + count
