"""Automatic fulfillment steps against a real HTTP receiver (tests/receiver.py), which answers
from a script and can call the portal back with the callback token it was given."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from app import jobs
from app.accounts.models import SYSTEM
from app.extensions import db
from app.integrations.services import integrations
from app.subscriptions import services as subs
from app.subscriptions.models import FulfillmentTask, StepDelivery, Subscription
from tests.catalog.conftest import catalog_setup, make_offer  # noqa: F401
from tests.jobs.conftest import immediate, wait_for  # noqa: F401
from tests.receiver import Receiver
from tests.subscriptions.conftest import agent  # noqa: F401

SECRET = "step-receiver-secret-0123456789"


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def start(**settings) -> Receiver:
        settings = {"path": "/steps", "default": (200, {"status": "done"}), **settings}
        receiver = Receiver(SECRET, **settings).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def receiver(receivers):
    return receivers()


@pytest.fixture
def step_integration():
    def make(url: str, *, name: str = "Provisioner", max_attempts: int = 3, **fields):
        created = integrations.create_integration(
            SYSTEM,
            name=name,
            kind="webhook",
            url=url,
            secret=SECRET,
            max_attempts=max_attempts,
            **fields,
        )
        db.session.commit()
        return created.integration

    return make


def webhook_step(name: str, integration: str, hours: float = 1) -> dict:
    return {"name": name, "mode": "automatic", "integration": integration, "expected_hours": hours}


@pytest.fixture
def order_with_plan(make_offer, users):
    """order_with_plan([steps]) → the consumer's committed order of an offer with that plan."""

    def order(plan: list[dict], code: str = "VM-SMALL", key: str = "key-1"):
        offer = make_offer(code, fulfillment_plan=plan)
        placed, _ = subs.subscribe(
            users["consumer"],
            offer.id,
            options={"profile": "developer", "devices": 2},
            accept_terms=True,
            idempotency_key=key,
        )
        db.session.commit()
        return placed.id

    return order


def retries_due() -> list:
    return jobs.huey.read_schedule(datetime(2999, 1, 1))


def run_due_retries() -> int:
    """Run the scheduled retries as a worker would when they are due; how many ran."""
    ran = 0
    while due := retries_due():
        for retry in due:
            jobs.huey.execute(retry, timestamp=retry.eta)
            ran += 1
    return ran


def fresh_tasks(order_id: int) -> list[FulfillmentTask]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(FulfillmentTask)
            .where(FulfillmentTask.order_id == order_id)
            .order_by(FulfillmentTask.sequence)
        )
    )


def deliveries_of(task_id: int) -> list[StepDelivery]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(StepDelivery).where(StepDelivery.task_id == task_id).order_by(StepDelivery.id)
        )
    )


def subscription_of(order_id: int) -> Subscription:
    db.session.expire_all()
    (task, *_) = fresh_tasks(order_id)
    return db.session.get(Subscription, task.order.subscription_id)


@pytest.fixture
def awx_server():
    """A running AWX stand-in (tests/fulfillment/awx_standin.py) on a free port."""
    from tests.fulfillment.awx_standin import AwxStandIn

    server = AwxStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def awx_integration(app):
    """awx_integration(url) → a committed integration of kind awx with the stand-in's token;
    AWX jobs are polled every 10 ms (the polls go to Huey's schedule; tests run them)."""
    from tests.fulfillment.awx_standin import TOKEN

    app.config["AWX_POLL_SECONDS"] = 0.01

    def make(url: str, *, name: str = "Tower", max_attempts: int = 3, token: str = TOKEN):
        created = integrations.create_integration(
            SYSTEM, name=name, kind="awx", url=url, secret=token, max_attempts=max_attempts
        )
        db.session.commit()
        return created.integration

    return make


def awx_step(name: str, integration: str, job_template: int = 42, hours: float = 1) -> dict:
    return {
        "name": name,
        "mode": "automatic",
        "integration": integration,
        "job_template": job_template,
        "expected_hours": hours,
    }
