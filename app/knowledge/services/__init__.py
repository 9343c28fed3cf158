"""The knowledge rules, one module per concept: articles (reading and writing), links (articles
↔ offers), ratings (votes and deflections), suggestions (while a request is typed). Callers use
`from app.knowledge import services` and the names below."""

from .articles import (
    article_excerpt,
    article_for,
    articles_query,
    can_write_articles,
    count_view,
    is_knowledge_staff,
    list_articles,
    products,
    readable_articles_clause,
    readable_offer_codes,
    save_article,
    search_articles,
)
from .links import (
    OFFER_MATCHES,
    article_choices,
    article_offer_codes,
    articles_of,
    link_articles,
    offer_choices,
    offers_of_articles,
    save_article_with_offers,
    write_article_for_offer,
)
from .ratings import article_ratings, deflection_counts, rate_article
from .suggestions import suggest_articles

__all__ = [
    "OFFER_MATCHES",
    "article_choices",
    "article_excerpt",
    "article_for",
    "article_offer_codes",
    "article_ratings",
    "articles_of",
    "articles_query",
    "can_write_articles",
    "count_view",
    "deflection_counts",
    "is_knowledge_staff",
    "link_articles",
    "list_articles",
    "offer_choices",
    "offers_of_articles",
    "products",
    "rate_article",
    "readable_articles_clause",
    "readable_offer_codes",
    "save_article",
    "save_article_with_offers",
    "search_articles",
    "suggest_articles",
    "write_article_for_offer",
]
