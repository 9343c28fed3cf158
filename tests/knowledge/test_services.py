"""Knowledge rules, through the services, on a real database: who reads which article, votes,
links to offers, writing with offers, and suggestions while a request is typed."""

import pytest
import sqlalchemy as sa

from app import unit_of_work
from app.catalog import services as catalog
from app.errors import NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from app.knowledge import services as knowledge
from app.knowledge.models import KnowledgeArticle
from app.support import services as support


@pytest.fixture
def manager(catalog_setup):
    return catalog_setup["catalog_manager"]


@pytest.fixture
def product(users):
    return catalog.save_product(users["product_manager"], name="Remote Access Platform")


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_articles_link_to_existing_offers_only(make_offer, manager):
    make_offer("VPN")
    item = knowledge.save_article(manager, title="Other", body="Text.")
    with pytest.raises(NotFound):
        knowledge.link_articles(manager, "NOPE", [item.id])
    with pytest.raises(ValidationFailed) as failure:
        knowledge.link_articles(manager, "VPN", [item.id, 987654])
    assert list(failure.value.fields) == ["article_ids"]
    db.session.commit()
    assert [a.title for a in knowledge.articles_of("VPN")] == ["How to use VPN"]
    assert knowledge.articles_of("NOPE") == []


def test_an_article_written_for_an_offer_joins_its_articles_or_nothing_is_saved(
    make_offer, manager
):
    make_offer("VPN")
    article = knowledge.write_article_for_offer(
        manager, "VPN", title="Split tunnelling", body="When to turn it on."
    )
    assert [a.title for a in knowledge.articles_of("VPN")] == ["How to use VPN", article.title]
    unit_of_work.commit()  # the edge of the first unit of work
    articles = count(KnowledgeArticle)
    with pytest.raises(ValidationFailed) as failure:
        knowledge.write_article_for_offer(manager, "VPN", title="", body="No title.")
    assert "title" in failure.value.fields
    db.session.rollback()
    assert count(KnowledgeArticle) == articles
    assert len(knowledge.articles_of("VPN")) == 2


def test_suggestions_put_the_offers_articles_first_and_match_words(active_subscription, users):
    manager = users["catalog_manager"]
    tunnel = knowledge.save_article(
        manager, title="VPN tunnel drops after sleep", body="Reconnect the tunnel."
    )
    knowledge.save_article(manager, title="Printer jams", body="Open the tray.")
    knowledge.save_article(manager, title="Tunnel secrets", body="Draft text", status="draft")
    linked = knowledge.articles_of("VPN-ACCESS")[0]
    found = knowledge.suggest_articles(users["consumer"], "VPN-ACCESS", "")
    assert [a.id for a in found] == [linked.id]
    titles = [
        a.title
        for a in knowledge.suggest_articles(users["consumer"], "VPN-ACCESS", "my tunnel drops")
    ]
    assert (
        titles[0] == tunnel.title
        and "Printer jams" not in titles
        and "Tunnel secrets" not in titles
    )
    assert [
        a.title
        for a in support.suggest_articles(users["consumer"], active_subscription.id, "tunnel")
    ][:1] == [tunnel.title]
    with pytest.raises(NotFound):
        support.suggest_articles(users["other_consumer"], active_subscription.id, "tunnel")


def test_articles_drafts_views_and_votes(users):
    manager, consumer = users["catalog_manager"], users["consumer"]
    draft = knowledge.save_article(manager, title="Coming soon", body="…", status="draft")
    published = knowledge.save_article(manager, title="Reset your password", body="Use the portal.")
    with pytest.raises(NotFound):
        knowledge.article_for(consumer, draft.id)
    assert knowledge.article_for(users["support_agent"], draft.id).id == draft.id
    knowledge.count_view(consumer, published.id)
    knowledge.count_view(users["other_consumer"], published.id)
    assert db.session.get(KnowledgeArticle, published.id).views == 2
    with pytest.raises(NotFound):
        knowledge.count_view(consumer, draft.id)  # nor is a hidden article's count moved
    knowledge.rate_article(consumer, published.id, True)
    knowledge.rate_article(consumer, published.id, False)  # one vote per reader: the last counts
    knowledge.rate_article(users["other_consumer"], published.id, False)
    assert knowledge.article_ratings([published.id]) == {published.id: (0, 2)}
    titles = [a.title for a in db.session.scalars(knowledge.search_articles(consumer, "PASSWORD"))]
    assert titles == ["Reset your password"]
    assert list(db.session.scalars(knowledge.search_articles(consumer, "100%_"))) == []
    assert [a.title for a in db.session.scalars(knowledge.search_articles(manager, ""))] == [
        "Coming soon",
        "Reset your password",
    ]


def test_article_is_written_with_its_offers_and_product(make_offer, users, product):
    make_offer("MAIL-BOX")
    make_offer("VPN-ACCESS")
    agent = users["support_agent"]
    article = knowledge.save_article_with_offers(
        agent,
        title="Mail on phones",
        body="## Steps\n\n1. Open settings",
        status="published",
        product_id=str(product.id),
        offer_codes=["MAIL-BOX", "VPN-ACCESS"],
    )
    assert knowledge.article_offer_codes(article.id) == ["MAIL-BOX", "VPN-ACCESS"]
    assert article.product_id == product.id
    assert len(knowledge.articles_of("VPN-ACCESS")) == 2  # the offer's own article stays linked
    knowledge.save_article_with_offers(
        agent,
        article_id=article.id,
        title="Mail on phones",
        body="Updated",
        status="draft",
        product_id="",
        offer_codes=["MAIL-BOX"],
    )
    assert knowledge.article_offer_codes(article.id) == ["MAIL-BOX"]
    assert len(knowledge.articles_of("VPN-ACCESS")) == 1
    [offers] = knowledge.offers_of_articles([article.id]).values()
    assert offers == ["MAIL-BOX"]


def test_bad_article_input_saves_nothing(make_offer, users):
    make_offer("MAIL-BOX")
    count = db.session.scalar(sa.select(sa.func.count(KnowledgeArticle.id)))
    with pytest.raises(ValidationFailed) as error:
        knowledge.save_article_with_offers(
            users["catalog_manager"],
            title="",
            body="",
            status="live",
            product_id="999",
            offer_codes=["NOPE"],
        )
    assert set(error.value.fields) == {"title", "body", "status", "product_id", "offer_codes"}
    assert db.session.scalar(sa.select(sa.func.count(KnowledgeArticle.id))) == count
    for role in ("consumer", "product_manager"):
        with pytest.raises(NotAllowed):
            knowledge.save_article_with_offers(users[role], title="X", body="Y", status="draft")


def test_articles_never_give_away_hidden_or_draft_offers(make_offer, users):
    from app.accounts import services as accounts

    engineering = accounts.find_group_by_name("Engineering")
    make_offer("GPU-SECRET", name="Secret GPU cluster", group_ids=(engineering.id,))
    make_offer("NEXT-GEN", name="Unannounced service", publish=False)
    finance, engineer, agent = users["consumer"], users["other_consumer"], users["support_agent"]
    secret = knowledge.articles_of("GPU-SECRET")[0]
    draft_offer_article = knowledge.articles_of("NEXT-GEN")[0]
    general = knowledge.save_article(
        users["catalog_manager"], title="General help", body="For everyone."
    )

    def titles(user):
        return {a.title for a in db.session.scalars(knowledge.search_articles(user, ""))}

    assert titles(finance) == {"General help"}
    assert titles(engineer) == {"General help", secret.title}
    assert {secret.title, draft_offer_article.title, general.title} <= titles(agent)
    with pytest.raises(NotFound):
        knowledge.article_for(finance, secret.id)
    with pytest.raises(NotFound):
        knowledge.article_for(engineer, draft_offer_article.id)
    names = dict(knowledge.offer_choices(finance))
    assert "GPU-SECRET" not in names and "NEXT-GEN" not in names
    assert names == {}
    assert dict(knowledge.offer_choices(engineer)) == {"GPU-SECRET": "Secret GPU cluster"}
    assert {"GPU-SECRET", "NEXT-GEN"} <= set(dict(knowledge.offer_choices(agent)))


def test_knowledge_of_a_subscribed_offer_stays_readable(active_subscription, users):
    article = knowledge.articles_of("VPN-ACCESS")[0]
    assert knowledge.article_for(users["consumer"], article.id).id == article.id
    assert dict(knowledge.offer_choices(users["consumer"])) == {"VPN-ACCESS": "VPN access"}
