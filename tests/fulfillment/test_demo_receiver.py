"""The demo's receiver (`python -m app.demo.receiver`, in `make run`'s Procfile) and its seeded
integration: a demo order's automatic step is delivered to it, it checks the signature, and
calls the live portal back running, then done with an output."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml

from app.config import ROOT
from app.demo import receiver as demo_receiver
from app.demo.seeds import load_integrations
from app.extensions import db
from app.subscriptions.models import Subscription
from tests.conftest import token_for
from tests.fulfillment.conftest import webhook_step
from tests.jobs.conftest import free_port, wait_for

pytestmark = pytest.mark.committed


def test_the_procfile_starts_the_demo_receiver():
    procfile = (ROOT / "Procfile").read_text()
    assert "receiver: ${BIN:-.venv/bin}/python -m app.demo.receiver" in procfile
    (seeded,) = yaml.safe_load((ROOT / "seeds" / "integrations.yaml").read_text())
    assert seeded["url"] == "http://127.0.0.1:5055/steps"
    assert seeded["secret"] == demo_receiver.SECRET


def test_a_demo_order_runs_through_the_demo_receiver(
    app, immediate, tmp_path: Path, live_server, make_offer, users, api
):
    port = free_port()
    (seeded,) = yaml.safe_load((ROOT / "seeds" / "integrations.yaml").read_text())
    seeded["url"] = f"http://127.0.0.1:{port}/steps"
    (tmp_path / "integrations.yaml").write_text(yaml.safe_dump([seeded]))
    assert load_integrations(tmp_path) == "integrations: 1 created"
    db.session.commit()
    assert load_integrations(tmp_path) == "integrations: 0 created"  # idempotent
    server = demo_receiver.serve("127.0.0.1", port, pause=0.1)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config["PUBLIC_URL"] = live_server.url
    try:
        offer = make_offer(
            "VM-DEMO", fulfillment_plan=[webhook_step("Provision VM", "Demo receiver")]
        )
        response = api(token_for(users["consumer"])).post(
            "/api/v1/subscriptions",
            json={"offer_id": offer.id, "options": {"profile": "developer"}, "accept_terms": True},
            headers={"Idempotency-Key": "demo-1"},
        )
        assert response.status_code == 201, response.json
        subscription_id = response.json["id"]

        def active():
            db.session.rollback()
            subscription = db.session.get(Subscription, subscription_id)
            return subscription.status == "active" and subscription

        subscription = wait_for(active, 20, "the demo receiver completed the step")
        task = subscription_tasks(subscription_id)
        assert subscription.outputs == {"reference": f"DEMO-{task.id}"}
        assert [entry.status for entry in task.log] == ["running", "done"]
    finally:
        app.config["PUBLIC_URL"] = "http://127.0.0.1:5000"
        server.shutdown()
        server.server_close()


def subscription_tasks(subscription_id: int):
    import sqlalchemy as sa

    from app.subscriptions.models import FulfillmentTask

    return db.session.scalars(
        sa.select(FulfillmentTask).where(FulfillmentTask.subscription_id == subscription_id)
    ).one()
