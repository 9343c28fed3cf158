"""The knowledge article's lifecycle, declared once: a draft is published, a published article
may be taken back to draft. The model's status column is watched by this machine (models.py
re-exports the enum) and its CHECK constraint holds the same states."""

from __future__ import annotations

import enum

from ..statemachine import StateMachine


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


ARTICLE = StateMachine(
    "knowledge article",
    ArticleStatus,
    {
        (ArticleStatus.DRAFT, ArticleStatus.PUBLISHED): "its writer publishes it",
        (ArticleStatus.PUBLISHED, ArticleStatus.DRAFT): "its writer takes it back to draft",
    },
    initial=(ArticleStatus.DRAFT, ArticleStatus.PUBLISHED),
)
