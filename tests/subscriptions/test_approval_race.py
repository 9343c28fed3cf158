"""20 approvers approve one step at the same moment, each on its own connection: one decision is
recorded, the 19 others are refused with "already approved", on SQLite and PostgreSQL alike.
They pass a barrier together and call `decide` at once; the first statement of each is the order
row's lock (the connection pool lends 15 at a time, so the last few queue for a connection)."""

import threading

import pytest
import sqlalchemy as sa

from app import unit_of_work
from app.accounts.models import User
from app.errors import Conflict
from app.extensions import db
from app.subscriptions import services as subs
from app.subscriptions.models import ApprovalDecision, ApprovalStep, Order, ServiceContract
from app.subscriptions.services import approvals, policies

RACERS = 20


@pytest.mark.committed
def test_twenty_concurrent_approvals_record_one_decision(app, make_offer, make_user, users):
    approvers = [
        make_user("consumer", groups=("Finance Approvers",), name=f"Approver {n:02d}")
        for n in range(RACERS)
    ]
    offer = make_offer("LAPTOP-PRO", price="145.50")
    policies.set_policy(
        users["catalog_manager"],
        "offer",
        offer.id,
        {"steps": [{"name": "Finance", "approvers": ["approver_group Finance Approvers"]}]},
    )
    order, _ = subs.subscribe(
        users["consumer"],
        offer.id,
        options={"profile": "developer", "devices": 2},
        accept_terms=True,
        idempotency_key="race",
    )
    db.session.commit()
    step_id, order_id = order.approval_steps[0].id, order.id
    ids = [approver.id for approver in approvers]
    barrier = threading.Barrier(RACERS)
    outcomes: dict[int, str] = {}

    def approve(user_id: int) -> None:
        with app.app_context():
            user = db.session.get(User, user_id)
            db.session.rollback()  # nothing held: every racer starts from the same committed state
            barrier.wait(timeout=60)  # all 20 call decide at the same moment
            try:
                approvals.decide(user, step_id, "approve", "ok")
                unit_of_work.commit()
                outcomes[user_id] = "approved"
            except Conflict as error:
                db.session.rollback()
                outcomes[user_id] = error.message
            finally:
                db.session.remove()

    try:
        threads = [
            threading.Thread(target=approve, args=(user_id,), name=f"racer-{user_id}")
            for user_id in ids
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        db.session.expire_all()
    winners = [user_id for user_id, outcome in outcomes.items() if outcome == "approved"]
    assert len(outcomes) == RACERS and len(winners) == 1
    winner = db.session.get(User, winners[0]).name
    assert sorted(o for o in outcomes.values() if o != "approved") == [
        f"This step was already approved by {winner}."
    ] * (RACERS - 1)
    decisions = db.session.scalars(
        sa.select(ApprovalDecision).where(ApprovalDecision.step_id == step_id)
    ).all()
    assert [d.decided_by_id for d in decisions] == winners
    assert db.session.get(ApprovalStep, step_id).status == "approved"
    assert db.session.get(Order, order_id).status in ("in_progress", "completed")
    contracts = db.session.scalar(
        sa.select(sa.func.count(ServiceContract.id)).where(
            ServiceContract.subscription_id == order.subscription_id
        )
    )
    assert contracts == 1
