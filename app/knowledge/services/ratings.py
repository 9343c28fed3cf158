"""How readers rate articles ("was this helpful?") and how often an article answered a question."""

from __future__ import annotations

import sqlalchemy as sa

from ... import clock
from ...accounts.models import User
from ...extensions import db
from ...support.models import Deflection
from ..models import ArticleFeedback, KnowledgeArticle
from .articles import article_for


def rate_article(user: User, article_id: int, helpful: bool) -> KnowledgeArticle:
    article = article_for(user, article_id)
    vote = db.session.scalar(
        sa.select(ArticleFeedback).where(
            ArticleFeedback.article_id == article.id, ArticleFeedback.user_id == user.id
        )
    )
    if vote is None:
        db.session.add(
            ArticleFeedback(
                article_id=article.id,
                user_id=user.id,
                helpful=bool(helpful),
                created_at=clock.now(),
            )
        )
    else:
        vote.helpful = bool(helpful)
    db.session.flush()
    return article


def article_ratings(article_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(helpful, not helpful) votes per article, in one query."""
    if not article_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            ArticleFeedback.article_id,
            sa.func.sum(sa.case((ArticleFeedback.helpful.is_(True), 1), else_=0)),
            sa.func.sum(sa.case((ArticleFeedback.helpful.is_(False), 1), else_=0)),
        )
        .where(ArticleFeedback.article_id.in_(article_ids))
        .group_by(ArticleFeedback.article_id)
    ).all()
    ratings = dict.fromkeys(article_ids, (0, 0))
    ratings.update({article_id: (int(yes or 0), int(no or 0)) for article_id, yes, no in rows})
    return ratings


def deflection_counts(article_ids: list[int]) -> dict[int, int]:
    """How many times each article answered a consumer's question (deflections are recorded by
    support, when no request is opened)."""
    counts = dict.fromkeys(article_ids, 0)
    if article_ids:
        rows = db.session.execute(
            sa.select(Deflection.article_id, sa.func.count(Deflection.id))
            .where(Deflection.article_id.in_(article_ids))
            .group_by(Deflection.article_id)
        )
        counts.update({article_id: int(count) for article_id, count in rows})
    return counts
