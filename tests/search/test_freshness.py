"""The index follows every commit that changes an offer or an article, with no manual reindex."""

from datetime import timedelta

from app import clock, unit_of_work
from app.accounts import services as accounts
from app.catalog import services as catalog
from app.catalog.models import ServiceOffer
from app.extensions import db
from app.knowledge import services as knowledge
from app.search import index
from tests.search.conftest import indexed, indexed_keys, names, search


def generation() -> int:
    return index.open_index().latest_generation()


def test_publishing_indexes_the_offer(make_offer, users):
    offer = make_offer("VPN-ACCESS", publish=False)
    assert indexed("offer:VPN-ACCESS") is None
    manager = users["catalog_manager"]
    for status in ("planned", "ready"):
        catalog.transition_offer(manager, offer.id, status)
        unit_of_work.commit()
    assert indexed("offer:VPN-ACCESS") is None  # drafts are not indexed
    catalog.transition_offer(manager, offer.id, "published")
    unit_of_work.commit()
    assert indexed("offer:VPN-ACCESS")["offer_id"] == offer.id
    assert names(search(users["consumer"], "vpn")) == ["VPN access"]


def test_draft_edits_do_not_touch_the_index(make_offer, users):
    offer = make_offer("VPN-ACCESS", publish=False)
    before = generation()
    catalog.update_offer(
        users["catalog_manager"],
        offer.id,
        {"summary": "Edited draft"},
        expected_version=offer.version,
    )
    unit_of_work.commit()
    assert generation() == before


def test_retiring_now_hides_it_and_retiring_later_keeps_it(make_offer, users):
    manager = users["catalog_manager"]
    later = make_offer("VPN-ACCESS")
    now = make_offer("OLD-VPN", name="Old VPN")
    catalog.transition_offer(
        manager, later.id, "retired", end_date=(clock.now() + timedelta(days=30)).isoformat()
    )
    unit_of_work.commit()
    catalog.transition_offer(manager, now.id, "retired")
    unit_of_work.commit()
    result = search(users["consumer"], "vpn")
    assert names(result) == ["VPN access"]
    assert result.hits[0].status == "retiring"
    assert indexed("offer:OLD-VPN")["status"] == "retired"


def test_publishing_a_revision_replaces_the_old_one(make_offer, users):
    manager = users["catalog_manager"]
    first = make_offer("VPN-ACCESS")
    draft = catalog.create_revision(manager, first.id)
    unit_of_work.commit()
    draft = catalog.update_offer(
        manager,
        draft.id,
        {"name": "VPN access plus", "description": "Now with quantum-safe tunnels."},
        expected_version=draft.version,
    )
    unit_of_work.commit()
    assert names(search(users["consumer"], "quantum")) == []  # the draft is not live
    for status in ("planned", "ready", "published"):
        draft = catalog.transition_offer(manager, draft.id, status)
        unit_of_work.commit()
    result = search(users["consumer"], "quantum")
    assert names(result) == ["VPN access plus"]
    assert result.hits[0].id == draft.id != first.id
    assert indexed("offer:VPN-ACCESS")["revision"] == 2
    assert indexed_keys().count("offer:VPN-ACCESS") == 1


def test_audience_changes_made_with_bulk_statements_reach_the_index(make_offer, users):
    finance = accounts.find_group_by_name("Finance").id
    engineering = accounts.find_group_by_name("Engineering").id
    make_offer("VPN-ACCESS")
    assert indexed("offer:VPN-ACCESS")["group_ids"] == ""
    catalog.set_audience(users["catalog_manager"], "VPN-ACCESS", group_ids=[engineering])
    unit_of_work.commit()
    document = indexed("offer:VPN-ACCESS")
    assert document["group_ids"] == str(engineering)
    assert search(users["consumer"], "vpn").total == 0
    catalog.set_audience(
        users["catalog_manager"],
        "VPN-ACCESS",
        group_ids=[finance, engineering],
        pilot_group_ids=[finance],
        canary=True,
    )
    unit_of_work.commit()
    document = indexed("offer:VPN-ACCESS")
    assert document["canary"] is True and document["pilot_group_ids"] == str(finance)
    assert names(search(users["consumer"], "vpn")) == ["VPN access"]
    assert search(users["other_consumer"], "vpn").total == 0


def test_articles_follow_publication_and_links(make_offer, users):
    manager = users["catalog_manager"]
    make_offer("VPN-ACCESS")
    article = knowledge.save_article(
        manager, title="Rotating tokens", body="How to rotate.", status="draft"
    )
    unit_of_work.commit()
    assert indexed(f"article:{article.id}") is None
    article = knowledge.save_article(
        manager,
        article_id=article.id,
        title="Rotating tokens",
        body="How to rotate.",
        status="published",
    )
    unit_of_work.commit()
    assert [a.title for a in search(users["consumer"], "rotating").articles] == ["Rotating tokens"]
    knowledge.link_articles(manager, "VPN-ACCESS", [article.id])
    unit_of_work.commit()
    assert indexed(f"article:{article.id}")["offer_codes"] == "VPN-ACCESS"
    knowledge.save_article(
        manager, article_id=article.id, title="Rotating tokens", body="x", status="draft"
    )
    unit_of_work.commit()
    assert indexed(f"article:{article.id}") is None
    assert search(users["consumer"], "rotating").articles == []


def test_renaming_a_category_reindexes_its_offers(make_offer, users, categories):
    manager = users["catalog_manager"]
    make_offer("VPN-ACCESS", category_id=categories["network"].id)
    assert names(search(users["consumer"], "network")) == ["VPN access"]
    catalog.save_category(manager, category_id=categories["network"].id, name="Connectivity")
    unit_of_work.commit()
    assert indexed("offer:VPN-ACCESS")["category"] == "Connectivity"
    result = search(users["consumer"], "connectivity")
    assert names(result) == ["VPN access"]
    assert result.hits[0].category_slug == "connectivity"


def test_a_future_price_applies_when_it_takes_effect(make_offer, users):
    make_offer("VPN-ACCESS")
    start = clock.now() + timedelta(days=10)
    catalog.add_price_change(
        users["catalog_manager"], "VPN-ACCESS", price="99.00", effective_from=start.isoformat()
    )
    unit_of_work.commit()
    assert str(search(users["consumer"], "vpn").hits[0].price) == "7.50"
    clock.freeze(start + timedelta(seconds=1))
    result = search(users["consumer"], "vpn", price_range="50_200")
    assert str(result.hits[0].price) == "99.00"


def test_nothing_is_indexed_until_commit_and_nothing_after_rollback(make_offer, users):
    offer = make_offer("VPN-ACCESS")
    before = generation()
    offer.name = "Renamed but rolled back"
    db.session.flush()
    assert generation() == before
    db.session.rollback()
    db.session.commit()
    assert generation() == before
    assert indexed("offer:VPN-ACCESS")["name"] == "VPN access"


def test_direct_orm_changes_are_indexed_too(make_offer, users):
    offer = make_offer("VPN-ACCESS")
    offer.name = "VPN access (renamed)"
    db.session.commit()
    assert indexed("offer:VPN-ACCESS")["name"] == "VPN access (renamed)"
    db.session.delete(db.session.get(ServiceOffer, offer.id))
    db.session.commit()
    assert indexed("offer:VPN-ACCESS") is None
