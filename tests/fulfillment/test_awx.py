"""An automatic step whose integration is of kind awx launches its AWX job template and polls
the job until it is over, against a real local stand-in of AWX's two endpoints
(tests/fulfillment/awx_standin.py). Huey's immediate mode: the launch runs when the order
commits; each poll (and a launch's retry) goes to Huey's schedule, and the test runs it when it
is due, as a worker would."""

from __future__ import annotations

import pytest

from app.catalog import services as catalog
from app.catalog.exchange.export import export_offers
from app.errors import ValidationFailed
from app.fulfillment_jobs import poll_awx_job
from tests.catalog.conftest import complete_offer_data
from tests.conftest import login, token_for
from tests.fulfillment.awx_standin import TOKEN, JobScript
from tests.fulfillment.conftest import (
    awx_step,
    deliveries_of,
    fresh_tasks,
    retries_due,
    run_due_retries,
    subscription_of,
    webhook_step,
)

LAUNCH = "POST /api/v2/job_templates/42/launch/"


def log_of(task_id: int) -> list[tuple[str, int | None]]:
    return [
        (attempt.request_line, attempt.status_code)
        for delivery in deliveries_of(task_id)
        for attempt in delivery.log
    ]


def test_the_template_is_launched_with_the_options_then_polled_until_successful(
    app, immediate, awx_server, awx_integration, order_with_plan, users, client_as
):
    awx_server.scripts = [
        JobScript(
            statuses=["pending", "running", "successful"],
            artifacts={"hostname": "vm-17.example.com", "disks": [20, 100]},
        )
    ]
    awx_integration(awx_server.url)
    order_id = order_with_plan([awx_step("Provision VM", "Tower")])

    (launch,) = awx_server.launches
    assert launch.template == 42
    assert launch.headers["Authorization"] == f"Bearer {TOKEN}"
    assert launch.headers["Content-Type"] == "application/json"
    (task,) = fresh_tasks(order_id)
    subscription = subscription_of(order_id)
    extra_vars = launch.body["extra_vars"]
    assert extra_vars["profile"] == "developer" and extra_vars["devices"] == 2
    assert extra_vars["offerdesk"] == {
        "task_id": task.id,
        "task_name": "Provision VM",
        "attempt": 1,
        "delivery_id": deliveries_of(task.id)[0].id,
        "order_id": order_id,
        "order_type": "new",
        "subscription_id": subscription.id,
        "offer_code": "VM-SMALL",
        "group": "Finance",
        "owner_email": users["consumer"].email,
    }
    # launched: the step runs, nothing polled yet (the first poll waits its interval)
    assert task.status == "in_progress" and subscription.status == "fulfilling"
    assert awx_server.reads == []

    assert run_due_retries() == 3
    (task,) = fresh_tasks(order_id)
    assert task.status == "done" and subscription_of(order_id).status == "active"
    assert awx_server.reads == [101, 101, 101]
    assert subscription_of(order_id).outputs == {
        "awx_job_id": "101",
        "awx_job_finished": "2026-12-10T09:02:30.000000Z",
        "hostname": "vm-17.example.com",
        "disks": "[20, 100]",
    }
    assert log_of(task.id) == [
        (LAUNCH, 201),
        ("GET /api/v2/jobs/101/", 200),
        ("GET /api/v2/jobs/101/", 200),
        ("GET /api/v2/jobs/101/", 200),
    ]
    (delivery,) = deliveries_of(task.id)
    assert delivery.status == "delivered" and delivery.job_id == 101 and delivery.polls == 3

    mine = client_as("consumer").get(f"/subscriptions/{subscription.id}").get_data(as_text=True)
    assert "vm-17.example.com" in mine
    html = client_as("support_agent").get(f"/fulfillment/tasks/{task.id}").get_data(as_text=True)
    assert html.count('data-testid="delivery-attempt"') == 4
    assert "GET /api/v2/jobs/101/" in html and "AWX job 101 successful." in html


def test_a_failed_job_shows_its_explanation_to_agents_and_a_retry_launches_a_new_job(
    app, immediate, awx_server, awx_integration, order_with_plan, agent, users
):
    awx_server.scripts = [
        JobScript(
            statuses=["running", "failed"],
            job_explanation="Job terminated: the host vm-17 was unreachable",
            result_traceback="fatal: [vm-17]: UNREACHABLE! => ssh: connect timed out",
        ),
        JobScript(statuses=["running", "successful"]),
    ]
    awx_integration(awx_server.url)
    order_id = order_with_plan(
        [
            {"name": "Reserve name", "mode": "automatic", "integration": None, "expected_hours": 1},
            awx_step("Provision VM", "Tower"),
        ]
    )
    assert run_due_retries() == 2
    first, task = fresh_tasks(order_id)
    assert first.status == "done" and task.status == "failed"
    assert task.failure_reason == (
        "AWX job 101 failed: Job terminated: the host vm-17 was unreachable"
        " | fatal: [vm-17]: UNREACHABLE! => ssh: connect timed out"
    )
    subscription = subscription_of(order_id)
    assert subscription.status == "failed"

    agent_client = login(app.test_client(), agent)
    html = agent_client.get(f"/fulfillment/tasks/{task.id}").get_data(as_text=True)
    assert "the host vm-17 was unreachable" in html and "UNREACHABLE! =&gt; ssh" in html
    consumer = login(app.test_client(), users["consumer"])
    mine = consumer.get(f"/subscriptions/{subscription.id}").get_data(as_text=True)
    assert "The automation that does this step failed" in mine
    assert "UNREACHABLE" not in mine  # the traceback is for the agents

    response = agent_client.post(
        f"/fulfillment/tasks/{task.id}", data={"to": "retry", "version": task.version}
    )
    assert response.status_code == 302
    assert len(awx_server.launches) == 2
    assert awx_server.launches[1].body["extra_vars"]["offerdesk"]["task_id"] == task.id
    assert run_due_retries() == 2
    first, task = fresh_tasks(order_id)
    assert first.status == "done" and task.status == "done"
    assert subscription_of(order_id).status == "active"
    assert [(d.status, d.job_id) for d in deliveries_of(task.id)] == [
        ("delivered", 101),
        ("delivered", 102),
    ]
    assert awx_server.reads == [101, 101, 102, 102]  # the failed job is polled no more


def test_a_launch_answered_503_is_tried_again(
    app, immediate, awx_server, awx_integration, order_with_plan
):
    app.config["INTEGRATION_RETRY_DELAY"] = 10
    awx_server.launch_answers = [(503, {"detail": "Service Unavailable"})]
    awx_integration(awx_server.url, max_attempts=3)
    order_id = order_with_plan([awx_step("Provision VM", "Tower")])
    (task,) = fresh_tasks(order_id)
    assert task.status == "queued" and immediate.scheduled_count() == 1

    assert run_due_retries() == 3  # the second launch, then two polls
    (task,) = fresh_tasks(order_id)
    assert task.status == "done"
    assert log_of(task.id) == [
        (LAUNCH, 503),
        (LAUNCH, 201),
        ("GET /api/v2/jobs/101/", 200),
        ("GET /api/v2/jobs/101/", 200),
    ]


@pytest.mark.parametrize(
    ("token", "template", "status_code"),
    [("not-the-token", 42, 401), (TOKEN, 7, 404)],
)
def test_a_refused_launch_fails_the_step_after_max_attempts_with_the_error(
    app, immediate, awx_server, awx_integration, order_with_plan, token, template, status_code
):
    awx_integration(awx_server.url, max_attempts=2, token=token)
    order_id = order_with_plan([awx_step("Provision VM", "Tower", job_template=template)])
    assert run_due_retries() == 1
    (task,) = fresh_tasks(order_id)
    assert task.status == "failed"
    assert task.failure_reason.startswith(
        f"Tower: no success after 2 attempts (HTTP {status_code} "
    )
    assert [code for _, code in log_of(task.id)] == [status_code, status_code]
    assert deliveries_of(task.id)[0].status == "failed"
    assert subscription_of(order_id).failure_reason.endswith(
        "could not be reached; support can run it again."
    )


def test_a_launch_refused_with_400_fails_at_once_with_what_awx_said(
    app, immediate, awx_server, awx_integration, order_with_plan
):
    awx_server.launch_answers = [(400, {"variables_needed_to_start": ["'region' is missing"]})]
    awx_integration(awx_server.url, max_attempts=5)
    order_id = order_with_plan([awx_step("Provision VM", "Tower")])
    (task,) = fresh_tasks(order_id)
    assert task.status == "failed" and retries_due() == []
    assert "no success after 1 attempt (HTTP 400" in task.failure_reason
    assert "'region' is missing" in task.failure_reason


def test_awx_unreachable_while_polling_fails_the_step_after_max_attempts_polls(
    app, immediate, awx_server, awx_integration, order_with_plan
):
    app.config["INTEGRATION_RETRY_DELAY"] = 1
    awx_integration(awx_server.url, max_attempts=3)
    order_id = order_with_plan([awx_step("Provision VM", "Tower")])
    awx_server.stop()
    assert run_due_retries() == 3
    (task,) = fresh_tasks(order_id)
    assert task.status == "failed"
    assert task.failure_reason.startswith(
        "Tower: AWX job 101 could not be read 3 times in a row (ConnectionRefusedError"
    )
    assert [code for _, code in log_of(task.id)] == [201, None, None, None]


def test_a_duplicate_of_a_poll_job_reads_nothing_and_schedules_nothing(
    app, immediate, awx_server, awx_integration, order_with_plan
):
    awx_server.scripts = [JobScript(statuses=["running"])]
    awx_integration(awx_server.url)
    order_id = order_with_plan([awx_step("Provision VM", "Tower")])
    (task,) = fresh_tasks(order_id)
    (delivery,) = deliveries_of(task.id)
    (scheduled,) = retries_due()  # poll number 0
    immediate.execute(scheduled, timestamp=scheduled.eta)
    assert awx_server.reads == [101] and immediate.scheduled_count() == 1  # poll 1 is next

    poll_awx_job(delivery.id, 0)  # the same poll once more (a worker killed before its ack)
    assert awx_server.reads == [101] and immediate.scheduled_count() == 1
    assert deliveries_of(task.id)[0].polls == 1


# --- the step in the plan --------------------------------------------------------------------


def awx_plan(**step) -> list[dict]:
    return [{"name": "Provision VM", "mode": "automatic", "expected_hours": 1, **step}]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"integration": "Tower"}, "Give the id of the AWX job template this step launches."),
        ({"integration": "Tower", "job_template": "abc"}, "The job template id is a whole number"),
        ({"integration": "Tower", "job_template": 0}, "The job template id is a whole number"),
        (
            {"integration": "Provisioner", "job_template": 42},
            "Only a step calling an AWX integration launches a job template.",
        ),
    ],
)
def test_the_job_template_is_checked_at_save(
    catalog_setup, awx_integration, step_integration, step, message
):
    awx_integration("http://127.0.0.1:9")
    step_integration("http://127.0.0.1:9/steps")
    with pytest.raises(ValidationFailed) as refused:
        catalog.create_offer(
            catalog_setup["catalog_manager"],
            complete_offer_data("VM-X", fulfillment_plan=awx_plan(**step)),
        )
    (problem,) = refused.value.fields["fulfillment_plan.0.job_template"]
    assert problem.startswith(message)


def test_the_api_keeps_the_job_template_and_the_export_writes_it(
    api, catalog_setup, awx_integration
):
    awx_integration("http://127.0.0.1:9")
    client = api(token_for(catalog_setup["catalog_manager"]))
    response = client.post(
        "/api/v1/offers",
        json=complete_offer_data(
            "VM-X", fulfillment_plan=awx_plan(integration="Tower", job_template="42")
        ),
    )
    assert response.status_code == 201, response.json
    assert response.json["fulfillment_plan"] == [
        {
            "name": "Provision VM",
            "mode": "automatic",
            "group": "",
            "integration": "Tower",
            "job_template": 42,
            "expected_hours": 1.0,
        }
    ]
    (exported,) = export_offers(["VM-X"]).values()
    assert exported["fulfillment_plan"][0]["job_template"] == 42


def test_the_editor_shows_the_job_template_and_its_field_message(
    app, catalog_setup, awx_integration, make_offer
):
    from tests.catalog.test_routes import offer_form

    awx_integration("http://127.0.0.1:9")
    offer = make_offer(
        "VM-X", publish=False, fulfillment_plan=awx_plan(integration="Tower", job_template=42)
    )
    manager = login(app.test_client(), catalog_setup["catalog_manager"])
    page = manager.get(f"/catalog/manage/offers/{offer.id}").get_data(as_text=True)
    assert 'name="fulfillment_plan-0-job_template"' in page and 'value="42"' in page
    refused = manager.post(
        "/catalog/manage/offers/new",
        data=offer_form("VM-Y", **{"fulfillment_plan-0-integration": "Tower"}),
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="fulfillment_plan-0-job_template-error-1"' in html
    assert "Give the id of the AWX job template this step launches." in html


def test_a_webhook_step_is_not_given_a_job_template(catalog_setup, step_integration):
    step_integration("http://127.0.0.1:9/steps")
    offer = catalog.create_offer(
        catalog_setup["catalog_manager"],
        complete_offer_data("VM-X", fulfillment_plan=[webhook_step("Provision", "Provisioner")]),
    )
    assert "job_template" not in offer.fulfillment_plan[0]
