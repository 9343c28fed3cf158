"""A running automatic step whose receiver has not reported within its expected hours times
FULFILLMENT_STALE_FACTOR is flagged to the agents, on the queue and on the task page; the flag
is worked out when the page is read, so reading it writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app import clock
from tests.conftest import login
from tests.fulfillment.conftest import fresh_tasks, webhook_step

FLAG = 'data-testid="task-overdue"'


@pytest.fixture
def running_step(app, immediate, receiver, step_integration, order_with_plan):
    """A two-hour step its receiver accepted (202) and never reported on."""
    receiver.default = (202, {})
    step_integration(receiver.url)
    order_id = order_with_plan([webhook_step("Provision VM", "Provisioner", hours=2)])
    (task,) = fresh_tasks(order_id)
    assert task.status == "in_progress"
    yield task
    clock.freeze(None)


def pages_at(app, agent, task, moment) -> tuple[str, str]:
    clock.freeze(moment)
    client = login(app.test_client(), agent)
    queue = client.get("/fulfillment").get_data(as_text=True)
    page = client.get(f"/fulfillment/tasks/{task.id}").get_data(as_text=True)
    return queue, page


def test_a_silent_step_is_flagged_after_twice_its_expected_hours(app, agent, running_step):
    queued = running_step.queued_at
    queue, page = pages_at(app, agent, running_step, queued + timedelta(hours=3, minutes=59))
    assert f'data-task-id="{running_step.id}"' in queue
    assert FLAG not in queue and FLAG not in page

    queue, page = pages_at(app, agent, running_step, queued + timedelta(hours=4, minutes=1))
    assert FLAG in queue and FLAG in page
    assert "No report from Provisioner since it was queued" in page


def test_the_factor_is_a_setting(app, agent, running_step):
    app.config["FULFILLMENT_STALE_FACTOR"] = 3
    try:
        queued = running_step.queued_at
        _, page = pages_at(app, agent, running_step, queued + timedelta(hours=5))
        assert FLAG not in page  # 2 h × 3 = 6 h
        _, page = pages_at(app, agent, running_step, queued + timedelta(hours=6, minutes=1))
        assert FLAG in page
    finally:
        app.config["FULFILLMENT_STALE_FACTOR"] = 2


def test_a_catalog_manager_retries_a_failed_step_from_its_page(
    app, immediate, receiver, step_integration, order_with_plan, users
):
    receiver.script = [(500, {"error": "disk full"})]
    step_integration(receiver.url, max_attempts=1)
    order_id = order_with_plan([webhook_step("Provision VM", "Provisioner")])
    (task,) = fresh_tasks(order_id)
    assert task.status == "failed"

    manager = login(app.test_client(), users["catalog_manager"])
    page = manager.get(f"/fulfillment/tasks/{task.id}").get_data(as_text=True)
    assert f'action="/fulfillment/tasks/{task.id}/retry"' in page
    response = manager.post(f"/fulfillment/tasks/{task.id}/retry", data={"version": task.version})
    assert response.status_code == 302
    (task,) = fresh_tasks(order_id)
    assert task.status == "done"
    assert len(receiver.requests) == 2  # the failed attempt and the retry
