"""Knowledge articles, readers' votes on them, and their links to offers."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..accounts.models import User
from ..extensions import db
from ..models_base import UTCDateTime
from .states import ARTICLE, ArticleStatus

__all__ = ["ArticleFeedback", "ArticleStatus", "KnowledgeArticle", "offer_articles"]


class KnowledgeArticle(db.Model):
    __tablename__ = "knowledge_articles"
    __table_args__ = (ARTICLE.check_constraint(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(
        sa.String(16), default=ArticleStatus.PUBLISHED.value, index=True
    )
    product_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("digital_products.id", ondelete="SET NULL")
    )
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    views: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(server_default="1")  # the optimistic lock

    author: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


ARTICLE.watch(KnowledgeArticle.status)


class ArticleFeedback(db.Model):
    """A reader's "was this helpful?" vote; one per reader and article."""

    __tablename__ = "article_feedback"
    __table_args__ = (
        sa.UniqueConstraint("article_id", "user_id", name="uq_article_feedback_reader"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("knowledge_articles.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    helpful: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


# An offer code (all its revisions) ↔ the articles that help with it.
offer_articles = sa.Table(
    "offer_articles",
    db.metadata,
    sa.Column("offer_code", sa.String(40), primary_key=True),
    sa.Column(
        "article_id", sa.ForeignKey("knowledge_articles.id", ondelete="CASCADE"), primary_key=True
    ),
)
