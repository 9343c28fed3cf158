"""Two agents moving one support request at the same moment, each on its own connection and
session, both from the version they read: the database lets one UPDATE match that version, the
other agent is told who changed what, and the request's history shows one move."""

import threading

import pytest
import sqlalchemy as sa

from app import unit_of_work
from app.accounts.models import User
from app.audit.models import AuditEvent
from app.errors import Conflict
from app.extensions import db
from app.support import services as support
from app.support.models import RequestMessage, SupportRequest


def _moves(request_id: int) -> list[tuple[str, str]]:
    return [
        (changes["status"]["before"], changes["status"]["after"])
        for changes in db.session.scalars(
            sa.select(AuditEvent.changes)
            .where(
                AuditEvent.object_type == "support_request",
                AuditEvent.object_id == str(request_id),
            )
            .order_by(AuditEvent.id)
        )
        if "status" in changes
    ]


@pytest.mark.committed  # each agent commits on a connection of its own
def test_two_agents_moving_one_request_from_one_version_one_wins(
    app, active_subscription, users, agents
):
    request = support.open_request(
        users["consumer"],
        active_subscription.id,
        request_type="issue",
        priority="high",
        subject="Cannot connect",
        description="Timeout at login.",
    )
    unit_of_work.commit()
    request_id, seen = request.id, request.version
    moves = {agents[1].id: "waiting_on_consumer", agents[2].id: "resolved"}
    db.session.commit()  # from here on the threads read only their own sessions' rows
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def move(agent_id: int) -> None:
        with app.app_context():
            flushed = []

            @sa.event.listens_for(db.session(), "before_flush")
            def both_have_checked(session, context, instances):
                if not flushed:  # both read version `seen` and passed every check
                    flushed.append(True)
                    barrier.wait(timeout=30)

            try:
                support.transition_request(
                    db.session.get(User, agent_id),
                    request_id,
                    moves[agent_id],
                    expected_version=seen,
                    reason=f"Answer of {agent_id}",
                )
                unit_of_work.commit()
                outcomes[agent_id] = "moved"
            except Conflict as error:
                outcomes[agent_id] = error.message
            finally:
                db.session.remove()

    threads = [threading.Thread(target=move, args=(agent_id,)) for agent_id in moves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == sorted(moves)
    winners = [agent_id for agent_id, outcome in outcomes.items() if outcome == "moved"]
    assert len(winners) == 1
    winner = db.session.get(User, winners[0])
    loser = next(outcome for outcome in outcomes.values() if outcome != "moved")
    assert loser.startswith(
        f"{winner.name} changed status since you opened this request (your copy is version 1, "
        "the saved one is version 2)."
    )

    db.session.expire_all()
    saved = db.session.get(SupportRequest, request_id)
    assert (saved.status, saved.version) == (moves[winner.id], 2)
    assert _moves(request_id) == [("new", moves[winner.id])]
    thread_bodies = db.session.scalars(
        sa.select(RequestMessage.body).where(RequestMessage.request_id == request_id)
    ).all()
    assert thread_bodies == [f"Answer of {winner.id}"]  # nothing of the loser's was written
