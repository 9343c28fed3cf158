"""The index learns of bulk changes (an audience, an offer's article links) from the catalog's
and knowledge's domain events, and applies them only once the transaction commits."""

from __future__ import annotations

from app.accounts import services as accounts
from app.catalog import services as catalog
from app.extensions import db
from app.knowledge import services as knowledge
from tests.search.conftest import indexed, names, search


def test_a_consumer_newly_in_the_audience_finds_the_offer_after_the_commit(make_offer, users):
    finance = accounts.find_group_by_name("Finance").id
    engineering = accounts.find_group_by_name("Engineering").id
    make_offer("VPN-ACCESS", group_ids=[engineering])
    assert names(search(users["consumer"], "vpn")) == []  # consumer: Finance

    catalog.set_audience(users["catalog_manager"], "VPN-ACCESS", group_ids=[engineering, finance])
    db.session.flush()
    assert indexed("offer:VPN-ACCESS")["group_ids"] == str(engineering)  # not before the commit
    db.session.commit()

    assert indexed("offer:VPN-ACCESS")["group_ids"] == ",".join(
        str(group) for group in sorted([finance, engineering])
    )
    assert names(search(users["consumer"], "vpn")) == ["VPN access"]


def test_an_article_linked_to_an_offer_the_consumer_sees_is_found_after_the_commit(
    make_offer, users
):
    manager = users["catalog_manager"]
    engineering = accounts.find_group_by_name("Engineering").id
    make_offer("HIDDEN", name="Engineering lab", group_ids=[engineering])
    make_offer("VPN-ACCESS")
    article = knowledge.save_article(manager, title="Rotating tokens", body="How to rotate.")
    knowledge.link_articles(manager, "HIDDEN", [article.id])
    db.session.commit()  # the test is the edge: services only flush
    assert search(users["consumer"], "rotating").articles == []

    knowledge.link_articles(manager, "VPN-ACCESS", [article.id])
    db.session.flush()
    assert indexed(f"article:{article.id}")["offer_codes"] == "HIDDEN"  # not before the commit
    db.session.commit()

    assert indexed(f"article:{article.id}")["offer_codes"] == "HIDDEN VPN-ACCESS"

    assert [a.title for a in search(users["consumer"], "rotating").articles] == ["Rotating tokens"]
