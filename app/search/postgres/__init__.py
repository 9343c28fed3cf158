"""The PostgreSQL search backend (SEARCH_BACKEND=postgres): full-text search over generated,
weighted `search_vector` columns on offers and knowledge articles (GIN indexes), pg_trgm
trigram indexes on names for typo matching and "did you mean". The columns are generated, so
they are current in the transaction that changes the row and every app host sees the same
answer at once: nothing to reindex. Built by migration c4e8a1f3b7d2 (PostgreSQL only).

POSTGRES_ONLY names the columns and indexes that migration adds: the models leave them out (a
generated column SQLite does not have), and comparing the models with the database skips them."""

from __future__ import annotations

POSTGRES_ONLY = frozenset(
    {
        "search_vector",
        "ix_service_offers_search_vector",
        "ix_knowledge_articles_search_vector",
        "ix_service_offers_name_trgm",
        "ix_service_offers_summary_trgm",
        "ix_service_offers_description_trgm",
        "ix_knowledge_articles_title_trgm",
    }
)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's comparison of the models with the database: leave out what only the
    PostgreSQL search backend's migration made."""
    return not (reflected and compare_to is None and name in POSTGRES_ONLY)
