"""Articles that may answer a support request while the consumer types it."""

from __future__ import annotations

import re

import sqlalchemy as sa

from ...accounts.models import User
from ...extensions import db
from ..models import ArticleStatus, KnowledgeArticle, offer_articles
from .articles import like_pattern, readable_articles_clause

WORD_RE = re.compile(r"[\w-]{4,}", re.UNICODE)


def suggest_articles(
    user: User, offer_code: str, text: str, limit: int = 5
) -> list[KnowledgeArticle]:
    """Published articles the reader may see that may answer a request about an offer being
    typed: the offer's own articles first, then any whose title or body shares the request's
    words, most shared words first."""
    words = sorted({word.lower() for word in WORD_RE.findall(text or "")})[:12]
    linked = sa.select(offer_articles.c.article_id).where(offer_articles.c.offer_code == offer_code)
    score = sa.literal(0)
    for word in words:
        pattern = like_pattern(word)
        score = (
            score
            + sa.case(
                (sa.func.lower(KnowledgeArticle.title).like(pattern, escape="\\"), 2), else_=0
            )
            + sa.case((sa.func.lower(KnowledgeArticle.body).like(pattern, escape="\\"), 1), else_=0)
        )
    score = score + sa.case((KnowledgeArticle.id.in_(linked), 1), else_=0)
    query = (
        sa.select(KnowledgeArticle)
        .where(
            KnowledgeArticle.status == ArticleStatus.PUBLISHED,
            readable_articles_clause(user),
            score > (1 if words else 0),
        )
        .order_by(score.desc(), KnowledgeArticle.title)
        .limit(limit)
    )
    return list(db.session.scalars(query))
