"""The Consume stream's four state machines: the moves written out here by hand, every write of a
status checked against them, the CHECK constraints naming the same states, bundle members ending
with their bundle through declared moves, and no service acting for nobody."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.audit.models import AuditEvent
from app.catalog import services as catalog
from app.errors import InvalidTransition, NotAllowed
from app.extensions import db
from app.knowledge import services as knowledge
from app.subscriptions import services as subs
from app.subscriptions.models import (
    FulfillmentTask,
    Order,
    ServiceContract,
    Subscription,
)
from app.subscriptions.services import fulfillment, orders
from app.subscriptions.states import APPROVAL_STEP, CONTRACT, ORDER, SUBSCRIPTION, TASK
from tests.catalog.conftest import complete_offer_data

SUBSCRIPTION_STATES = (
    "requested",
    "fulfilling",
    "active",
    "modifying",
    "terminating",
    "terminated",
    "failed",
    "rejected",
    "cancelled",
)
SUBSCRIPTION_MOVES = {
    ("requested", "fulfilling"),
    ("requested", "failed"),
    ("fulfilling", "active"),
    ("fulfilling", "failed"),
    ("active", "modifying"),
    ("active", "terminating"),
    ("modifying", "active"),
    ("modifying", "failed"),
    ("terminating", "terminated"),
    ("terminating", "failed"),
    ("failed", "fulfilling"),
    ("failed", "modifying"),
    ("failed", "terminating"),
    ("requested", "rejected"),  # an approver rejected its order
    ("requested", "cancelled"),  # its requester withdrew the order awaiting approval
}
ORDER_STATES = (
    "scheduled",
    "awaiting_approval",
    "in_progress",
    "completed",
    "failed",
    "rejected",
    "cancelled",
)
ORDER_MOVES = {
    ("scheduled", "in_progress"),
    ("in_progress", "completed"),
    ("in_progress", "failed"),
    ("failed", "in_progress"),
    ("awaiting_approval", "in_progress"),
    ("awaiting_approval", "rejected"),
    ("awaiting_approval", "cancelled"),
}
STEP_STATES = (
    "waiting",
    "pending",
    "approved",
    "rejected",
    "skipped",
    "auto_approved",
    "cancelled",
)
STEP_MOVES = {
    ("waiting", "pending"),
    ("waiting", "skipped"),
    ("waiting", "auto_approved"),
    ("waiting", "cancelled"),
    ("pending", "approved"),
    ("pending", "rejected"),
    ("pending", "cancelled"),
}
TASK_STATES = ("waiting", "queued", "in_progress", "done", "failed")
TASK_MOVES = {
    ("waiting", "queued"),
    ("queued", "in_progress"),
    ("queued", "done"),
    ("queued", "failed"),
    ("in_progress", "done"),
    ("in_progress", "failed"),
    ("in_progress", "queued"),
    ("failed", "queued"),
    ("failed", "done"),  # completed by hand, with a note
}
CONTRACT_STATES = ("active", "superseded", "ended")
CONTRACT_MOVES = {("active", "superseded"), ("active", "ended")}


@pytest.mark.parametrize(
    ("machine", "states", "moves", "initial"),
    [
        (SUBSCRIPTION, SUBSCRIPTION_STATES, SUBSCRIPTION_MOVES, {"requested"}),
        (ORDER, ORDER_STATES, ORDER_MOVES, {"scheduled", "in_progress", "awaiting_approval"}),
        (TASK, TASK_STATES, TASK_MOVES, {"waiting"}),
        (CONTRACT, CONTRACT_STATES, CONTRACT_MOVES, {"active"}),
        (APPROVAL_STEP, STEP_STATES, STEP_MOVES, {"waiting", "skipped", "auto_approved"}),
    ],
    ids=["subscription", "order", "task", "contract", "approval_step"],
)
def test_the_declared_states_and_moves(machine, states, moves, initial):
    assert machine.states == states
    assert set(machine.moves) == moves
    assert machine.initial == initial
    for source in states:
        for target in states:
            assert machine.allows(source, target) == ((source, target) in moves), (source, target)


@pytest.mark.parametrize(
    ("model", "states"),
    [
        (Subscription, SUBSCRIPTION_STATES),
        (Order, ORDER_STATES),
        (FulfillmentTask, TASK_STATES),
        (ServiceContract, CONTRACT_STATES),
    ],
    ids=["subscription", "order", "task", "contract"],
)
def test_each_model_declares_the_check_of_its_states(model, states):
    checks = [
        constraint
        for constraint in model.__table__.constraints
        if isinstance(constraint, sa.CheckConstraint)
    ]
    assert [check.name for check in checks] == [f"ck_{model.__tablename__}_status"]
    values = ", ".join(f"'{state}'" for state in states)
    assert str(checks[0].sqltext) == f"status IN ({values})"


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (Subscription, {"status": "active"}),
        (Order, {"status": "completed"}),
        (FulfillmentTask, {"status": "done"}),
        (ServiceContract, {"status": "ended"}),
    ],
    ids=["subscription", "order", "task", "contract"],
)
def test_a_new_row_cannot_start_half_way(model, values):
    with pytest.raises(InvalidTransition):
        model(**values)


def _contract(subscription_id: int) -> ServiceContract:
    return db.session.scalars(
        sa.select(ServiceContract).where(ServiceContract.subscription_id == subscription_id)
    ).one()


def test_a_direct_write_of_an_undeclared_subscription_move_is_refused(order_vpn):
    order, _ = order_vpn()
    subscription = db.session.get(Subscription, order.subscription_id)
    assert subscription.status == "fulfilling"
    with pytest.raises(InvalidTransition, match="A fulfilling subscription cannot become"):
        subscription.status = "terminated"
    with pytest.raises(InvalidTransition, match="not a status of a subscription"):
        subscription.status = "paused"


def test_a_direct_write_of_an_undeclared_order_move_is_refused(order_vpn):
    order, _ = order_vpn()
    assert order.status == "in_progress"
    with pytest.raises(InvalidTransition, match="An? in_progress order cannot become scheduled"):
        order.status = "scheduled"


def test_a_direct_write_of_an_undeclared_task_move_is_refused(order_vpn):
    order, _ = order_vpn()
    automatic = next(task for task in order.tasks if task.mode == "automatic")
    assert automatic.status == "done"
    with pytest.raises(InvalidTransition, match="A done fulfillment task cannot become queued"):
        automatic.status = "queued"


def test_a_direct_write_of_an_undeclared_contract_move_is_refused(order_vpn, agent, users):
    order, _ = order_vpn()
    subs.transition_task(agent, next(t for t in order.tasks if t.mode == "manual").id, "complete")
    end, _ = subs.terminate(users["consumer"], order.subscription_id, idempotency_key="end")
    subs.transition_task(agent, end.tasks[0].id, "complete")
    contract = _contract(order.subscription_id)
    assert contract.status == "ended"
    with pytest.raises(InvalidTransition, match="An? ended service contract cannot become active"):
        contract.status = "active"


def _bundle(make_offer, users):
    manager = users["catalog_manager"]
    make_offer("LAPTOP")
    make_offer("VPN-ACCESS")
    bundle = catalog.create_offer(
        manager, complete_offer_data("STARTER-KIT", kind="bundle", options=[])
    )
    catalog.set_bundle_members(manager, bundle.id, ["LAPTOP", "VPN-ACCESS"])
    article = knowledge.save_article(manager, title="Starter kit", body="x")
    knowledge.link_articles(manager, "STARTER-KIT", [article.id])
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, bundle.id, status)
    return bundle


def _transitions(subscription_id: int) -> list[tuple[str, str]]:
    return [
        (changes["status"]["before"], changes["status"]["after"])
        for changes in db.session.scalars(
            sa.select(AuditEvent.changes)
            .where(
                AuditEvent.object_type == "subscription",
                AuditEvent.object_id == str(subscription_id),
                AuditEvent.action == "transition",
            )
            .order_by(AuditEvent.id)
        )
    ]


def test_a_bundles_members_end_with_it_through_declared_moves(make_offer, users, agent):
    bundle = _bundle(make_offer, users)
    order, _ = subs.subscribe(
        users["consumer"], bundle.id, options={}, accept_terms=True, idempotency_key="b"
    )
    for _ in range(2):
        queued = next(t for t in db.session.get(Order, order.id).tasks if t.status == "queued")
        subs.transition_task(agent, queued.id, "complete")
    parent = db.session.get(Subscription, order.subscription_id)
    members = list(parent.children)
    assert parent.status == "active" and [m.status for m in members] == ["active", "active"]

    end, _ = subs.terminate(users["consumer"], parent.id, idempotency_key="end")
    assert [db.session.get(Subscription, m.id).status for m in members] == [
        "terminating",
        "terminating",
    ]
    subs.transition_task(agent, end.tasks[0].id, "complete")
    db.session.expire_all()
    assert db.session.get(Subscription, parent.id).status == "terminated"
    for member in members:
        member = db.session.get(Subscription, member.id)
        assert member.status == "terminated" and member.terminated_at is not None
        assert _transitions(member.id) == [
            ("requested", "fulfilling"),
            ("fulfilling", "active"),
            ("active", "terminating"),
            ("terminating", "terminated"),
        ]


# --- no actor, no permission -------------------------------------------------------------------


def _scheduled_end(order_vpn, agent, users):
    order, _ = order_vpn()
    subs.transition_task(agent, next(t for t in order.tasks if t.mode == "manual").id, "complete")
    when = clock.now() + timedelta(days=2)
    subs.terminate(
        users["consumer"], order.subscription_id, at=when.isoformat(), idempotency_key="t"
    )
    return order, when


def test_no_actor_orders_nothing(make_offer):
    offer = make_offer()
    with pytest.raises(NotAllowed):
        subs.subscribe(
            None, offer.id, options={"devices": 1}, accept_terms=True, idempotency_key="k"
        )
    with pytest.raises(NotAllowed):
        orders.require_consumer(None)
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 0


def test_no_actor_changes_or_ends_nothing(order_vpn, agent, users):
    order, _ = _scheduled_end(order_vpn, agent, users)
    sid = order.subscription_id
    for call in (
        lambda: subs.modify(None, sid, options={}, accept_terms=True, idempotency_key="m"),
        lambda: subs.terminate(None, sid, idempotency_key="t2"),
        lambda: subs.cancel_scheduled_termination(None, sid),
        lambda: orders.changeable_subscription(None, sid),
    ):
        with pytest.raises(NotAllowed):
            call()
    subscription = db.session.get(Subscription, sid)
    assert subscription.status == "active" and subscription.terminates_on is not None


def test_no_actor_works_no_task(order_vpn):
    order, _ = order_vpn()
    task = next(t for t in order.tasks if t.mode == "manual")
    with pytest.raises(NotAllowed):
        subs.transition_task(None, task.id, "complete")
    with pytest.raises(NotAllowed):
        fulfillment.worked_task(None, task.id)
    with pytest.raises(NotAllowed):
        fulfillment.queue_query(None)
    assert db.session.get(FulfillmentTask, task.id).status == "queued"


def test_no_actor_and_no_person_start_due_terminations(order_vpn, agent, users):
    from app.accounts.models import SYSTEM

    order, when = _scheduled_end(order_vpn, agent, users)
    clock.freeze(when + timedelta(minutes=1))
    for nobody in (None, users["consumer"], agent):
        with pytest.raises(NotAllowed):
            subs.process_due(nobody)
    assert db.session.get(Subscription, order.subscription_id).status == "active"
    assert subs.process_due(SYSTEM) == 1
    assert db.session.get(Subscription, order.subscription_id).status == "terminating"


@pytest.mark.parametrize(
    "table_name", ["subscriptions", "orders", "fulfillment_tasks", "service_contracts"]
)
@pytest.mark.committed  # a connection of its own
def test_the_database_refuses_a_status_no_machine_declares(app, table_name):
    """Raw SQL past the ORM's listener: the CHECK refuses it (a status short enough for the
    column, so it is the CHECK that answers on PostgreSQL too)."""
    from tests.platform.test_status_constraints import _row_with_status

    table = db.metadata.tables[table_name]
    with db.engine.connect() as connection, connection.begin() as transaction:
        with pytest.raises(sa.exc.IntegrityError) as refused:
            connection.execute(table.insert().values(_row_with_status(table, "paused")))
        message = str(refused.value.orig)
        assert f"ck_{table_name}_status" in message or "CHECK constraint failed" in message
        transaction.rollback()
