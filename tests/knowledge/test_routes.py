"""The knowledge base pages under /support/knowledge: listing, reading, voting and writing."""

import pytest
import sqlalchemy as sa

from app.catalog import services as catalog
from app.extensions import db
from app.knowledge import services as knowledge
from app.knowledge.models import KnowledgeArticle


@pytest.fixture
def product(users):
    return catalog.save_product(users["product_manager"], name="Remote Access Platform")


def page_text(response) -> str:
    return response.get_data(as_text=True)


def test_knowledge_list_searches_published_articles_and_filters_by_offer(
    active_subscription, users, client_as
):
    manager = users["catalog_manager"]
    knowledge.save_article(manager, title="Printer jams", body="Open the tray.")
    knowledge.save_article(manager, title="Secret draft", body="…", status="draft")
    consumer = client_as("consumer")
    html = page_text(consumer.get("/support/knowledge"))
    assert "How to use VPN-ACCESS" in html and "Printer jams" in html and "Secret draft" not in html
    assert "New article" not in html
    html = page_text(consumer.get("/support/knowledge?offer=+vpn-access"))
    assert "Knowledge for VPN access" in html and "Printer jams" not in html
    html = page_text(consumer.get("/support/knowledge?q=printer"))
    assert "Printer jams" in html and "How to use VPN-ACCESS" not in html
    staff = page_text(client_as("support_agent").get("/support/knowledge"))
    assert "Secret draft" in staff and "New article" in staff


@pytest.mark.parametrize(
    "query",
    ["?q=" + "x" * 5000, "?product=abc", "?offer=%01%ff", "?page=-3", "?q=%25_%5C", "?q=vpn%01"],
)
def test_knowledge_list_never_fails_on_odd_input(client_as, users, query):
    assert client_as("consumer").get("/support/knowledge" + query).status_code == 200


def test_article_page_shows_rating_and_sanitises_markdown_and_its_post_counts_views(
    users, client_as
):
    article = knowledge.save_article(
        users["catalog_manager"],
        title="Reset",
        body="## Steps\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) **bold**",
    )
    consumer = client_as("consumer")
    first = consumer.get(f"/support/knowledge/{article.id}")
    html = page_text(first)
    assert "<h2>Steps</h2>" in html and "<strong>bold</strong>" in html
    assert "<script>alert" not in html and "javascript:" not in html
    consumer.get(f"/support/knowledge/{article.id}")
    assert db.session.get(KnowledgeArticle, article.id).views == 0  # reading changes nothing
    assert f'action="/support/knowledge/{article.id}/view"' in first.get_data(as_text=True)
    for _ in range(3):
        assert consumer.post(f"/support/knowledge/{article.id}/view").status_code == 204
    assert db.session.get(KnowledgeArticle, article.id).views == 3
    response = consumer.post(f"/support/knowledge/{article.id}/feedback", data={"helpful": "yes"})
    assert response.status_code == 302
    html = page_text(consumer.get(f"/support/knowledge/{article.id}"))
    assert "1 of 1 readers found this helpful" in html and "3 views" in html
    assert (
        consumer.post(
            f"/support/knowledge/{article.id}/feedback", data={"helpful": "maybe"}
        ).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [("consumer", 404), ("support_agent", 200), ("catalog_manager", 200), ("product_manager", 200)],
)
def test_draft_articles_are_for_staff_only(users, client_as, role, status):
    draft = knowledge.save_article(
        users["catalog_manager"], title="Draft", body="…", status="draft"
    )
    assert client_as(role).get(f"/support/knowledge/{draft.id}").status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("consumer", 403),
        ("product_manager", 403),
        ("admin", 403),
        ("support_agent", 200),
        ("catalog_manager", 200),
    ],
)
def test_who_writes_articles(client_as, users, role, status):
    assert client_as(role).get("/support/knowledge/new").status_code == status


def test_writing_an_article_links_offers_and_keeps_text_on_errors(
    make_offer, users, client_as, product
):
    make_offer("VPN-ACCESS")
    agent = client_as("support_agent")
    body = "## Reconnect\n\nUnicode ✓ — 接続"
    refused = agent.post(
        "/support/knowledge/new",
        data={
            "title": "",
            "body": body,
            "status": "published",
            "product_id": str(product.id),
            "offer_codes": "VPN-ACCESS",
        },
    )
    assert refused.status_code == 422
    html = page_text(refused)
    assert "This field is required." in html and "Unicode ✓ — 接続" in html
    saved = agent.post(
        "/support/knowledge/new",
        data={
            "title": "Reconnect after sleep",
            "body": body,
            "status": "published",
            "product_id": str(product.id),
            "offer_codes": "vpn-access, ",
        },
    )
    assert saved.status_code == 302
    article = db.session.scalar(
        sa.select(KnowledgeArticle).where(KnowledgeArticle.title == "Reconnect after sleep")
    )
    assert (
        knowledge.article_offer_codes(article.id) == ["VPN-ACCESS"]
        and article.product_id == product.id
    )
    edit = agent.get(f"/support/knowledge/{article.id}/edit")
    assert edit.status_code == 200 and "Reconnect after sleep" in page_text(edit)
    assert 'name="offer_codes" type="text" value="VPN-ACCESS"' in page_text(edit)
    agent.post(
        f"/support/knowledge/{article.id}/edit",
        data={
            "title": "Reconnect",
            "body": "new",
            "status": "draft",
            "product_id": "",
            "offer_codes": "",
        },
    )
    db.session.expire_all()
    assert db.session.get(KnowledgeArticle, article.id).status == "draft"
    assert knowledge.article_offer_codes(article.id) == []


def test_knowledge_pages_do_not_name_offers_the_reader_may_not_see(make_offer, users, client_as):
    from app.accounts import services as accounts

    engineering = accounts.find_group_by_name("Engineering")
    make_offer("GPU-SECRET", name="Secret GPU cluster", group_ids=(engineering.id,))
    secret = knowledge.articles_of("GPU-SECRET")[0]
    consumer = client_as("consumer")
    html = page_text(consumer.get("/support/knowledge"))
    assert "Secret GPU cluster" not in html and "GPU-SECRET" not in html
    assert consumer.get(f"/support/knowledge/{secret.id}").status_code == 404
    engineer_html = page_text(client_as("other_consumer").get(f"/support/knowledge/{secret.id}"))
    assert "Secret GPU cluster" in engineer_html


def test_an_article_names_several_offers_by_code_and_unknown_ones_are_field_errors(
    make_offer, client_as
):
    make_offer("VPN-ACCESS")
    make_offer("MAIL-BOX", name="Mailbox")
    agent = client_as("support_agent")
    form = {"title": "Both", "body": "Text", "status": "published", "product_id": ""}
    refused = agent.post("/support/knowledge/new", data={**form, "offer_codes": "VPN-ACCESS NOPE"})
    assert refused.status_code == 422
    assert "Unknown offer: NOPE." in page_text(refused)
    saved = agent.post(
        "/support/knowledge/new", data={**form, "offer_codes": "mail-box;VPN-ACCESS, vpn-access"}
    )
    assert saved.status_code == 302
    article = db.session.scalar(sa.select(KnowledgeArticle).where(KnowledgeArticle.title == "Both"))
    assert knowledge.article_offer_codes(article.id) == ["MAIL-BOX", "VPN-ACCESS"]
