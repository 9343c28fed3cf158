"""What the knowledge pages show, where a page needs several services."""

from __future__ import annotations

from ..accounts.models import User
from . import services
from .models import KnowledgeArticle


def knowledge_page(user: User, articles: list[KnowledgeArticle], *, offer: str) -> dict:
    """The list page around one page of found articles: their votes, the filters' choices."""
    named = dict(services.offer_choices(user, codes=[offer])) if offer else {}
    return {
        "ratings": services.article_ratings([article.id for article in articles]),
        "products": services.products(),
        "offer_suggestions": services.offer_choices(user, limit=services.OFFER_MATCHES),
        "offer": offer,
        "offer_name": named.get(offer, offer),
        "can_write": services.can_write_articles(user),
    }


def article_page(user: User, article_id: int) -> dict:
    """One article as this reader may see it; staff also see how many requests it answered
    before they were sent. Showing it counts nothing (the page posts the view)."""
    article = services.article_for(user, article_id)
    helpful, not_helpful = services.article_ratings([article.id])[article.id]
    offers = dict(services.offer_choices(user, codes=services.article_offer_codes(article.id)))
    can_write = services.can_write_articles(user)
    return {
        "article": article,
        "helpful": helpful,
        "not_helpful": not_helpful,
        "linked_offers": list(offers.items()),
        "product": next((p for p in services.products() if p.id == article.product_id), None),
        "can_write": can_write,
        "deflections": services.deflection_counts([article.id])[article.id] if can_write else None,
    }


def article_editor(user: User, article_id: int | None) -> dict:
    """The article being edited (None for a new one), its offer codes, and the form's choices."""
    existing = services.article_for(user, article_id) if article_id else None
    return {
        "article": existing,
        "offer_codes": services.article_offer_codes(existing.id) if existing else [],
        "product_choices": [("", "— none —")]
        + [(str(product.id), product.name) for product in services.products()],
        "offer_suggestions": services.offer_choices(limit=services.OFFER_MATCHES),
    }
