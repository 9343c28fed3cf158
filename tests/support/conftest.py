import io

from app import unit_of_work
from app.accounts import services as accounts
from app.subscriptions import services as subs
from tests.catalog.conftest import catalog_setup, complete_offer_data, make_offer  # noqa: F401
from tests.conftest import module_world


@module_world
def agents(users, make_user, catalog_setup):
    """Agents at tiers 1, 2 and 3; tier 1 is in the Support Desk group."""
    desk = accounts.find_group_by_name("Support Desk")
    tier1 = users["support_agent"]
    accounts.set_group_members(users["admin"], desk.id, [tier1.id])
    return {1: tier1, 2: make_user("support_agent", tier=2), 3: make_user("support_agent", tier=3)}


@module_world
def active_subscription(make_offer, users, agents):
    offer = make_offer()
    order, _ = subs.subscribe(
        users["consumer"], offer.id, options={}, accept_terms=True, idempotency_key="s"
    )
    task = next(task for task in order.tasks if task.mode == "manual")
    subs.transition_task(agents[1], task.id, "complete")
    unit_of_work.commit()  # the fixture's unit of work, before the test's requests
    return order.subscription


def upload(name: str, data: bytes):
    stream = io.BytesIO(data)
    stream.filename = name
    return stream
