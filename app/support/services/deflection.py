"""Deflection: articles suggested while a consumer types a request, and the record that one
answered the question so that no request was opened."""

from __future__ import annotations

from ... import clock
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import NotFound
from ...extensions import db
from ...i18n import _
from ...knowledge import services as knowledge
from ...knowledge.models import KnowledgeArticle
from ...subscriptions import services as subscriptions
from ..models import Deflection
from .agents import require_actor
from .text import clean_text


def suggest_articles(
    user: User, subscription_id: int, text: str, limit: int = 5
) -> list[KnowledgeArticle]:
    """Articles that may answer a request the user is typing about one of their subscriptions."""
    require_actor(user)
    subscription = subscriptions.subscription_for(user, subscription_id)
    return knowledge.suggest_articles(user, subscription.offer_code, text, limit)


def record_deflection(
    user: User, subscription_id: int, article_id: int | None, query: str = ""
) -> Deflection:
    """The consumer says an article answered the question: no request is opened, and it counts."""
    require_role(user, Role.CONSUMER, message=_("Only consumers ask for support."))
    subscription = subscriptions.subscription_for(user, subscription_id)
    if subscription.group_id not in user.group_ids:
        raise NotFound(_("No such subscription."))
    if article_id is not None:
        knowledge.article_for(user, article_id)
    deflection = Deflection(
        subscription_id=subscription.id,
        user_id=user.id,
        article_id=article_id,
        query=clean_text(query if isinstance(query, str) else "")[:300],
        created_at=clock.now(),
    )
    db.session.add(deflection)
    db.session.flush()
    audit.record(user, "deflection", deflection.id, "deflected", summary=deflection.query[:200])
    return deflection
