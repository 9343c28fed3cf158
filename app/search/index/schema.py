"""The index's schema: the fields of an offer or article document, the analyzer every text field
and every query word goes through, and the weight of each searched field."""

from __future__ import annotations

from whoosh import fields
from whoosh.analysis import StemmingAnalyzer

SCHEMA_VERSION = 2

ANALYZER = StemmingAnalyzer()

# Text fields the query searches, with their weight. Articles use the same fields (title in
# name, body in description, linked offer codes in code_words): fewer fields, faster queries.
QUERY_FIELDS: dict[str, float] = {
    "name": 4.0,
    "code_words": 3.0,
    "summary": 2.0,
    "category": 1.5,
    "description": 1.0,
}
# Fields whose unstemmed words feed typo matching and "did you mean" (spell_<field>).
SPELLING_FIELDS = ("name", "code_words", "summary", "category", "description")


def _text(*, stored: bool = True) -> fields.TEXT:
    """Stemmed text; spelling=True also indexes the unstemmed words (spell_<field>) for typo
    matching and "did you mean". Field weights are applied at query time (QUERY_FIELDS)."""
    return fields.TEXT(analyzer=ANALYZER, stored=stored, spelling=True)


def build_schema() -> fields.Schema:
    return fields.Schema(
        key=fields.ID(unique=True, stored=True),  # "offer:<code>" or "article:<id>"
        type=fields.ID(stored=True, sortable=True),  # "offer" or "article"
        # both: an article's title is its name, its body its description, its offers' codes
        # its code_words
        name=_text(),
        code_words=_text(),
        summary=_text(),
        description=_text(),
        # offers
        code=fields.ID(stored=True, sortable=True),
        offer_id=fields.NUMERIC(int, bits=64, stored=True),
        revision=fields.NUMERIC(int, stored=True),
        status=fields.ID(stored=True),
        category=_text(),
        category_id=fields.NUMERIC(int, bits=64, stored=True),
        kind=fields.ID(stored=True),
        billing=fields.ID(stored=True),
        price=fields.NUMERIC(int, bits=64, decimal_places=2, stored=True, sortable=True),
        currency=fields.ID(stored=True),
        published_at=fields.DATETIME(stored=True, sortable=True),
        valid_from=fields.DATETIME(stored=True),
        valid_to=fields.DATETIME(stored=True),
        # The audience as it was at indexing time. Informational only: visibility is decided
        # by SQL at query time (see app/search/index/__init__.py).
        group_ids=fields.KEYWORD(stored=True, commas=True),
        pilot_group_ids=fields.KEYWORD(stored=True, commas=True),
        canary=fields.BOOLEAN(stored=True),
        # knowledge articles
        article_id=fields.NUMERIC(int, bits=64, stored=True),
        offer_codes=fields.KEYWORD(stored=True),
        updated_at=fields.DATETIME(stored=True),
    )


SCHEMA = build_schema()
