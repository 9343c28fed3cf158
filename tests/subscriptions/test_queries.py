"""List pages run a fixed number of SQL statements, whatever the number of rows."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.subscriptions import services as subs
from app.subscriptions.models import FulfillmentTask
from app.subscriptions.services.drafts import save as save_draft
from tests.conftest import count_queries, login, token_for


@pytest.fixture
def grow(make_offer, users, agent):
    """grow(n) → the Finance consumer has n subscriptions: a mix of fulfilling, active and failed."""
    offers = [make_offer("VPN-ACCESS"), make_offer("LAPTOP", name="Laptop")]
    made = {"count": 0}

    def factory(total: int) -> None:
        while made["count"] < total:
            number = made["count"]
            order, _ = subs.subscribe(
                users["consumer"],
                offers[number % 2].id,
                options={},
                accept_terms=True,
                idempotency_key=f"k{number}",
            )
            task = db.session.scalars(
                sa.select(FulfillmentTask).where(
                    FulfillmentTask.order_id == order.id, FulfillmentTask.mode == "manual"
                )
            ).first()
            if number % 3 == 1:
                subs.transition_task(agent, task.id, "complete")
            elif number % 3 == 2:
                subs.transition_task(agent, task.id, "start")
            elif number % 5 == 0:
                subs.transition_task(agent, task.id, "fail", reason="stuck")
            made["count"] += 1

    return factory


def statements_for(client, path: str) -> int:
    client.get(path)  # warm up: first-use work (caches, connection) is not what we measure
    with count_queries() as queries:
        response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return len(queries)


@pytest.mark.parametrize(
    "path", ["/subscriptions", "/subscriptions?status=fulfilling", "/subscriptions/export.csv"]
)
def test_my_subscriptions_query_count_is_flat(app, users, grow, make_offer, path):
    client = login(app.test_client(), users["consumer"])
    offers = [make_offer("MONITOR-27", name="Monitor"), make_offer("PHONE-STD", name="Phone")]

    def drafts(total: int) -> None:  # the Drafts section lists saved order forms too
        for number in range(total):
            save_draft(users["consumer"], offers[number % 2], {})
        db.session.commit()

    grow(3)
    drafts(1)
    few = statements_for(client, path)
    grow(25)
    drafts(6)
    many = statements_for(client, path)
    assert few == many, (few, many)
    # 11 (two for the drafts: them, and the live revisions to resume on); 14 before the
    # header's unread and cart counts became one statement and the owners' roles and groups
    # were left out
    assert many <= 11, many


def test_queue_query_count_is_flat(app, catalog_setup, agent, grow):
    client = login(app.test_client(), agent)
    grow(3)
    few = statements_for(client, "/fulfillment")
    grow(25)
    many = statements_for(client, "/fulfillment")
    assert few == many, (few, many)
    assert many <= 10


@pytest.mark.parametrize("path", ["/api/v1/subscriptions", "/api/v1/fulfillment-tasks"])
def test_api_lists_query_count_is_flat(api, users, catalog_setup, agent, grow, path):
    user = agent if "fulfillment" in path else users["consumer"]
    client = api(token_for(user))
    grow(3)
    few = statements_for(client, path)
    grow(25)
    many = statements_for(client, path)
    assert few == many, (few, many)
