"""Reading a knowledge article in a real browser counts one view: the page posts it (with its
CSRF token) once shown, since the GET of the page itself changes nothing."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.knowledge import services as knowledge
from app.knowledge.models import KnowledgeArticle
from tests.conftest import DEMO_PASSWORD, browser_login
from tests.jobs.conftest import wait_for

pytestmark = pytest.mark.browser


def views_of(article_id: int) -> int:
    db.session.rollback()  # read what the live server committed
    return db.session.scalar(
        sa.select(KnowledgeArticle.views).where(KnowledgeArticle.id == article_id)
    )


def test_each_reading_of_an_article_counts_one_view(page, users):
    article = knowledge.save_article(
        users["catalog_manager"], title="Reset your token", body="Open **Account**."
    )
    db.session.commit()
    browser_login(page, users["consumer"].email, DEMO_PASSWORD)

    page.goto(f"/support/knowledge/{article.id}")
    expect(page.get_by_test_id("article-views")).to_have_text("0 views")
    wait_for(lambda: views_of(article.id) == 1, 10, "the first reading was counted")

    page.reload()
    expect(page.get_by_test_id("article-views")).to_have_text("1 view")
    wait_for(lambda: views_of(article.id) == 2, 10, "the second reading was counted")
    assert views_of(article.id) == 2
