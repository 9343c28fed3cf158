import pytest

from app import clock
from app.accounts import services as accounts
from app.extensions import db
from app.subscriptions import services as subs
from app.subscriptions.models import Subscription
from tests.catalog.conftest import (  # noqa: F401
    catalog_setup,
    complete_offer_data,  # noqa: F401
    make_offer,
)
from tests.conftest import module_world


@module_world
def agent(users, catalog_setup):
    """A tier-1 agent in the Support Desk group, which does the VPN offer's manual step."""
    desk = accounts.find_group_by_name("Support Desk")
    agent = users["support_agent"]
    accounts.set_group_members(users["admin"], desk.id, [agent.id])
    return agent


@pytest.fixture
def order_vpn(make_offer, users):
    """order_vpn(**options) → (order, created) for the Finance consumer."""
    offer_holder = {}

    def factory(key: str = "key-1", options=None, user=None, **offer_overrides):
        if "offer" not in offer_holder:
            offer_holder["offer"] = make_offer("VPN-ACCESS", **offer_overrides)
        return subs.subscribe(
            user or users["consumer"],
            offer_holder["offer"].id,
            options=options or {"profile": "developer", "devices": 2},
            accept_terms=True,
            idempotency_key=key,
        )

    factory.holder = offer_holder
    return factory


def leased_subscription(order_vpn, agent, start, lease: dict) -> Subscription:
    """A VPN subscription with this lease, ordered at `start` and made active by the agent."""
    clock.freeze(start)
    order, _ = order_vpn(**lease)
    task = next(task for task in order.tasks if task.mode == "manual")
    subs.transition_task(agent, task.id, "complete")
    return db.session.get(Subscription, order.subscription_id)
