"""Optimistic locks on subscriptions, orders and fulfillment tasks: a change based on a version
someone else has since changed is refused with who changed what, by the pages (at the task), by
the API (409) and by the database when two agents race on one task."""

import threading

import pytest
import sqlalchemy as sa

from app import unit_of_work
from app.accounts.models import User
from app.audit.models import AuditEvent
from app.errors import Conflict
from app.extensions import db
from app.notifications.models import Notification
from app.subscriptions import services as subs
from app.subscriptions.models import FulfillmentTask, Order, Subscription
from tests.conftest import login, token_for

TWO_MANUAL_STEPS = [
    {"name": "Approve access", "mode": "manual", "group": "Support Desk", "expected_hours": 4},
    {"name": "Hand over token", "mode": "manual", "group": "Support Desk", "expected_hours": 1},
]


@pytest.mark.parametrize("model", [Subscription, Order, FulfillmentTask])
def test_the_version_is_the_mappers_lock(model):
    assert sa.inspect(model).version_id_col is model.__table__.c.version


@pytest.fixture
def two_agents(agent, make_user):
    """The Support Desk agent and a colleague in the same group."""
    return agent, make_user("support_agent", groups=("Support Desk",), name="Second Agent")


@pytest.fixture
def two_step_order(make_offer, users, two_agents):
    offer = make_offer("TOKEN", fulfillment_plan=TWO_MANUAL_STEPS)
    order, _ = subs.subscribe(
        users["consumer"],
        offer.id,
        options={"profile": "developer", "devices": 2},
        accept_terms=True,
        idempotency_key="two-steps",
    )
    unit_of_work.commit()
    return order


def _first_step(order) -> FulfillmentTask:
    return db.session.get(Order, order.id).tasks[0]


def test_a_new_order_and_its_tasks_start_at_version_one_and_move_it(two_step_order):
    first, second = db.session.get(Order, two_step_order.id).tasks
    assert (first.status, first.version) == ("queued", 2)  # written, then queued
    assert (second.status, second.version) == ("waiting", 1)


def test_a_stale_completion_is_refused_with_who_changed_what(two_step_order, two_agents):
    first, second_agent = _first_step(two_step_order), two_agents[1]
    seen = first.version
    subs.transition_task(second_agent, first.id, "start", version=seen)
    with pytest.raises(Conflict) as refused:
        subs.transition_task(two_agents[0], first.id, "complete", version=seen)
    assert refused.value.message.startswith(
        "Second Agent changed status since you opened this task"
    )
    assert refused.value.fields == {"version": [f"Stale: now version {seen + 1}."]}
    task = db.session.get(FulfillmentTask, first.id)
    assert task.status == "in_progress" and task.assignee_id == second_agent.id


def test_the_queue_page_shows_a_stale_action_at_its_task(app, two_step_order, two_agents):
    first = _first_step(two_step_order)
    seen = first.version
    agent_client = login(app.test_client(), two_agents[0])
    page = agent_client.get("/fulfillment").get_data(as_text=True)
    assert f'name="version" value="{seen}"' in page
    subs.transition_task(two_agents[1], first.id, "start")  # the colleague took it meanwhile
    response = agent_client.post(
        f"/fulfillment/tasks/{first.id}", data={"to": "complete", "version": str(seen)}
    )
    assert response.status_code == 409
    row = response.get_data(as_text=True).split(f'data-task-id="{first.id}"')[1].split("</tr>")[0]
    assert 'data-testid="task-error"' in row
    assert "Second Agent changed status since you opened this task" in row
    assert db.session.get(FulfillmentTask, first.id).status == "in_progress"
    failed = agent_client.post(
        f"/fulfillment/tasks/{first.id}/fail",
        data={f"task{first.id}-reason": "Broken", f"task{first.id}-version": str(seen)},
    )
    assert failed.status_code == 409 and "Second Agent changed status" in failed.get_data(
        as_text=True
    )
    assert db.session.get(Order, two_step_order.id).status == "in_progress"


def test_the_api_answers_a_stale_completion_409(api, two_step_order, two_agents):
    first = _first_step(two_step_order)
    path = f"/api/v1/fulfillment-tasks/{first.id}/transitions"
    client = api(token_for(two_agents[0]))
    listed = client.get("/api/v1/fulfillment-tasks").json["items"]
    assert [item["version"] for item in listed] == [first.version]
    seen = first.version
    subs.transition_task(two_agents[1], first.id, "complete")
    response = client.post(path, json={"to": "done", "version": seen})
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert "Second Agent changed status" in response.json["detail"]
    assert "version" in response.json["errors"]
    task = db.session.get(FulfillmentTask, first.id)
    assert task.status == "done" and task.assignee_id == two_agents[1].id
    assert client.post(path, json={"to": "done", "version": "2"}).status_code == 422


# --- two agents, two connections ----------------------------------------------------------------


def _completions(task_id: int) -> int:
    return sum(
        1
        for changes in db.session.scalars(
            sa.select(AuditEvent.changes).where(
                AuditEvent.object_type == "fulfillment_task",
                AuditEvent.object_id == str(task_id),
            )
        )
        if (changes.get("status") or {}).get("after") == "done"
    )


@pytest.mark.committed
def test_two_agents_completing_one_task_advance_the_order_once(app, two_step_order, two_agents):
    """Each agent's request runs on its own connection and session; both read the task and pass
    every check before either writes (a barrier at their first flush), then both write. The
    database lets one UPDATE match the version both read: the other request is refused."""
    first, second = db.session.get(Order, two_step_order.id).tasks
    task_id, seen, agent_ids = first.id, first.version, [agent.id for agent in two_agents]
    db.session.commit()  # from here on the threads read only their own sessions' rows
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def complete(agent_id: int) -> None:
        with app.app_context():
            flushed = []

            @sa.event.listens_for(db.session(), "before_flush")
            def both_have_checked(session, context, instances):
                if not flushed:
                    flushed.append(True)
                    barrier.wait(timeout=30)

            try:
                subs.transition_task(
                    db.session.get(User, agent_id), task_id, "complete", version=seen
                )
                unit_of_work.commit()
                outcomes[agent_id] = "completed"
            except Conflict as error:
                outcomes[agent_id] = error.message
            finally:
                db.session.remove()

    threads = [threading.Thread(target=complete, args=(agent_id,)) for agent_id in agent_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == sorted(agent_ids)
    winners = [agent_id for agent_id, outcome in outcomes.items() if outcome == "completed"]
    assert len(winners) == 1
    loser = next(outcome for outcome in outcomes.values() if outcome != "completed")
    winner = db.session.get(User, winners[0])
    assert loser.startswith(f"{winner.name} changed status since you opened this task")

    db.session.expire_all()
    first, second = db.session.get(Order, two_step_order.id).tasks
    assert (first.status, first.version, first.assignee_id) == ("done", seen + 1, winner.id)
    assert (second.status, second.version) == ("queued", 2)  # queued once
    assert _completions(first.id) == 1
    assert db.session.get(Order, two_step_order.id).status == "in_progress"
    assert db.session.get(Subscription, two_step_order.subscription_id).status == "fulfilling"
    told = db.session.scalars(
        sa.select(Notification.user_id).where(
            Notification.subject == "New fulfillment task: Hand over token"
        )
    ).all()
    assert sorted(told) == sorted(agent_ids)  # each agent told once of the next step
