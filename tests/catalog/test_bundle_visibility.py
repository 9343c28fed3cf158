"""A bundle is seen and ordered only by those who may see every member: its own audience and
each member's current audience (canary pilots included) at once (issue 15, item 2)."""

from __future__ import annotations

import pytest

from app.accounts import services as accounts
from app.catalog import services as catalog
from app.errors import NotFound
from app.extensions import db
from app.knowledge import services as knowledge
from app.subscriptions import services as subs
from tests.catalog.conftest import complete_offer_data
from tests.conftest import token_for

API = "/api/v1"


@pytest.fixture
def starter_kit(make_offer, users):
    """STARTER-KIT, visible to everyone, holds VPN-ACCESS (everyone) and PAYROLL-PILOT, a
    canary published to its pilot group Finance only."""
    manager = users["catalog_manager"]
    make_offer("VPN-ACCESS")
    finance = accounts.find_group_by_name("Finance").id
    make_offer("PAYROLL-PILOT", name="Payroll pilot", pilot_ids=[finance])
    bundle = catalog.create_offer(
        manager,
        complete_offer_data("STARTER-KIT", name="Starter kit", kind="bundle", options=[]),
    )
    catalog.set_bundle_members(manager, bundle.id, ["VPN-ACCESS", "PAYROLL-PILOT"])
    article = knowledge.save_article(manager, title="Starter kit", body="Read me.")
    knowledge.link_articles(manager, "STARTER-KIT", [article.id])
    for status in ("planned", "ready", "published"):
        bundle = catalog.transition_offer(manager, bundle.id, status)
    db.session.commit()
    return bundle


def visible_codes(user) -> list[str]:
    return sorted(o.code for o in db.session.scalars(catalog.visible_offers_query(user)))


def test_outside_a_members_pilot_groups_the_bundle_is_hidden(starter_kit, users):
    engineering = users["other_consumer"]
    assert visible_codes(engineering) == ["VPN-ACCESS"]
    with pytest.raises(NotFound):
        catalog.offer_for_viewer(engineering, starter_kit.id)
    assert not catalog.is_visible(engineering, starter_kit)
    finance = users["consumer"]
    assert visible_codes(finance) == ["PAYROLL-PILOT", "STARTER-KIT", "VPN-ACCESS"]
    assert catalog.offer_for_viewer(finance, starter_kit.id).code == "STARTER-KIT"


def test_the_bundle_follows_its_members_audience_as_it_changes(starter_kit, users):
    engineering = users["other_consumer"]
    catalog.widen_audience(users["catalog_manager"], "PAYROLL-PILOT")  # canary → everyone
    assert visible_codes(engineering) == ["PAYROLL-PILOT", "STARTER-KIT", "VPN-ACCESS"]
    catalog.set_audience(
        users["catalog_manager"],
        "VPN-ACCESS",
        group_ids=[accounts.find_group_by_name("Finance").id],
    )
    assert visible_codes(engineering) == ["PAYROLL-PILOT"]


def test_engineering_consumer_neither_sees_nor_orders_the_bundle(
    starter_kit, users, client_as, api
):
    http = client_as("other_consumer")  # Engineering
    assert http.get(f"/catalog/offers/{starter_kit.id}").status_code == 404
    listing = http.get("/catalog/").get_data(as_text=True)
    assert "VPN access" in listing
    assert "Starter kit" not in listing
    assert "Payroll pilot" not in listing
    assert (
        http.get(f"/subscriptions/new?offer={starter_kit.id}", follow_redirects=True).status_code
        == 404
    )
    client = api(token_for(users["other_consumer"]))
    assert client.get(f"{API}/offers/{starter_kit.id}").status_code == 404
    listed = client.get(f"{API}/offers").json
    assert "STARTER-KIT" not in str(listed)
    with pytest.raises(NotFound):
        subs.subscribe(
            users["other_consumer"],
            starter_kit.id,
            options={},
            accept_terms=True,
            idempotency_key="kit-engineering",
        )


def test_finance_consumer_sees_and_orders_the_bundle(starter_kit, users, client_as, api):
    http = client_as("consumer")  # Finance, the pilot group
    assert http.get(f"/catalog/offers/{starter_kit.id}").status_code == 200
    assert "Starter kit" in http.get("/catalog/").get_data(as_text=True)
    listed = api(token_for(users["consumer"])).get(f"{API}/offers").json
    assert "STARTER-KIT" in str(listed)
    order, created = subs.subscribe(
        users["consumer"],
        starter_kit.id,
        options={},
        accept_terms=True,
        idempotency_key="kit-finance",
    )
    assert created and order.subscription.offer_code == "STARTER-KIT"
