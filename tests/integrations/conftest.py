"""Integration fixtures: a real HTTP receiver (tests/receiver.py) with the integrations' secret,
and integrations and webhooks created through the services."""

from __future__ import annotations

import pytest

from app.accounts.models import SYSTEM
from app.extensions import db
from app.integrations.services import integrations, webhooks
from tests.jobs.conftest import immediate, wait_for  # noqa: F401
from tests.receiver import Receiver

SECRET = "receiver-shared-secret-0123456789"


@pytest.fixture
def receiver():
    server = Receiver(SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def make_integration():
    def make(url: str, *, name: str = "Hooks", secret: str | None = SECRET, **fields):
        created = integrations.create_integration(
            SYSTEM, name=name, kind="webhook", url=url, secret=secret, **fields
        )
        db.session.commit()
        return created.integration

    return make


@pytest.fixture
def subscribed(make_integration):
    """An integration at `url` subscribed to `events`, committed."""

    def make(url: str, events=("offer.published",), **fields):
        integration = make_integration(url, **fields)
        webhook = webhooks.subscribe(SYSTEM, integration=integration.name, events=list(events))
        db.session.commit()
        return webhook

    return make
