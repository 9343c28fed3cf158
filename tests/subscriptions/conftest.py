import pytest

from app.accounts import services as accounts
from app.subscriptions import services as subs
from tests.catalog.conftest import (  # noqa: F401
    catalog_setup,
    complete_offer_data,  # noqa: F401
    make_offer,
)


def pytest_configure(config):
    # Tests that race real connections need real commits; the harness honours this marker
    # (tests/isolation.py) where it isolates tests in SAVEPOINTs.
    config.addinivalue_line("markers", "committed: the test commits for real")


@pytest.fixture
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
