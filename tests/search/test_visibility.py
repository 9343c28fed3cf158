"""Search answers only what the user may see now: audiences, canary pilots and validity
windows are applied at query time, by each search backend and the database fallback alike."""

from datetime import timedelta

import pytest

from app import clock
from app.accounts import services as accounts
from app.catalog import services as catalog
from app.extensions import db
from app.knowledge import services as knowledge
from tests.catalog.conftest import complete_offer_data
from tests.search.conftest import names, search

pytestmark = pytest.mark.usefixtures("search_backend")


def group(name: str) -> int:
    return accounts.find_group_by_name(name).id


def test_an_offer_for_another_group_is_not_found(make_offer, users, search_source):
    make_offer("VPN-ACCESS", group_ids=[group("Engineering")])
    source = search_source()
    hidden = search(users["consumer"], "vpn")
    assert hidden.source == source
    assert hidden.total == 0 and hidden.hits == []
    assert all(not values for values in hidden.facets.values())
    assert names(search(users["other_consumer"], "vpn")) == ["VPN access"]
    assert search(users["consumer"], "").total == 0  # browsing hides it too


def test_canary_offers_reach_pilot_groups_only(make_offer, users, search_source):
    make_offer(
        "VPN-ACCESS",
        group_ids=[group("Finance"), group("Engineering")],
        pilot_ids=[group("Engineering")],
        canary=True,
    )
    search_source()
    assert search(users["consumer"], "vpn").total == 0
    assert names(search(users["other_consumer"], "vpn")) == ["VPN access"]


def test_ending_the_canary_opens_the_offer_to_the_audience_without_reindex(make_offer, users):
    finance, engineering = group("Finance"), group("Engineering")
    make_offer("VPN-ACCESS", group_ids=[finance, engineering], pilot_ids=[engineering], canary=True)
    assert search(users["consumer"], "vpn").total == 0
    catalog.set_audience(
        users["catalog_manager"], "VPN-ACCESS", group_ids=[finance, engineering], canary=False
    )
    assert names(search(users["consumer"], "vpn")) == ["VPN access"]


def test_a_scheduled_offer_becomes_findable_when_the_clock_passes_valid_from(
    make_offer, users, search_source
):
    start = clock.now() + timedelta(days=2)
    make_offer("VPN-ACCESS", valid_from=start.isoformat())
    search_source()
    assert search(users["consumer"], "vpn").total == 0
    assert search(users["consumer"], "vpm").suggestion is None  # no hint of it either
    manager_view = search(users["catalog_manager"], "vpn")
    assert names(manager_view) == ["VPN access"]
    assert manager_view.hits[0].status == "scheduled"

    clock.freeze(start + timedelta(minutes=1))  # nothing re-indexed in between
    result = search(users["consumer"], "vpn")
    assert names(result) == ["VPN access"] and result.hits[0].status == "published"


def test_an_expired_offer_is_not_found(make_offer, users, search_source):
    end = clock.now() + timedelta(days=1)
    make_offer("VPN-ACCESS", valid_to=end.isoformat())
    search_source()
    assert names(search(users["consumer"], "vpn")) == ["VPN access"]
    clock.freeze(end + timedelta(seconds=1))
    assert search(users["consumer"], "vpn").total == 0
    assert search(users["catalog_manager"], "vpn").hits[0].status == "expired"


def test_drafts_are_not_found_by_anyone(make_offer, users, search_source):
    make_offer("VPN-ACCESS", publish=False)
    search_source()
    assert search(users["consumer"], "vpn").total == 0
    assert search(users["catalog_manager"], "vpn").total == 0


def test_misspellings_never_reveal_hidden_offers(make_offer, users):
    make_offer(
        "ZEPHYR",
        name="Zephyr analytics",
        summary="Secret project.",
        group_ids=[group("Engineering")],
    )
    hidden = search(users["consumer"], "zephir")
    assert hidden.total == 0 and hidden.suggestion is None
    visible = search(users["other_consumer"], "zephir")
    assert names(visible) == ["Zephyr analytics"] and visible.suggestion == "zephyr"


def test_articles_are_published_ones_only(make_offer, users):
    manager = users["catalog_manager"]
    knowledge.save_article(manager, title="Quota rules", body="Quotas explained.", status="draft")
    assert search(users["consumer"], "quota").articles == []
    assert search(users["catalog_manager"], "quota").articles == []


def test_articles_of_hidden_offers_are_not_found_by_outsiders(make_offer, users):
    make_offer("ZEPHYR", name="Zephyr analytics", group_ids=[group("Engineering")])
    assert search(users["consumer"], "zephyr").articles == []
    assert [a.title for a in search(users["other_consumer"], "zephyr").articles] == [
        "How to use ZEPHYR"
    ]
    assert [a.title for a in search(users["support_agent"], "zephyr").articles] == [
        "How to use ZEPHYR"
    ]


def test_a_bundle_holding_a_canary_offer_is_found_by_its_pilots_only(
    make_offer, users, search_source
):
    """Bundle visible to everyone, one member in canary for Finance: Engineering finds
    neither the member nor the bundle; Finance finds both (issue 15, item 2)."""
    manager = users["catalog_manager"]
    make_offer("VPN-ACCESS")
    make_offer("PAYROLL-PILOT", name="Payroll pilot", pilot_ids=[group("Finance")])
    bundle = catalog.create_offer(
        manager,
        complete_offer_data(
            "STARTER-KIT", name="Starter kit", summary="Payroll starter kit.", kind="bundle"
        ),
    )
    catalog.set_bundle_members(manager, bundle.id, ["VPN-ACCESS", "PAYROLL-PILOT"])
    article = knowledge.save_article(manager, title="Starter kit", body="Read me.")
    knowledge.link_articles(manager, "STARTER-KIT", [article.id])
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, bundle.id, status)
    db.session.commit()
    search_source()
    assert search(users["other_consumer"], "starter kit").total == 0
    assert search(users["other_consumer"], "payroll").total == 0
    assert names(search(users["consumer"], "starter kit")) == ["Starter kit"]
