"""The index's schema: the fields of an offer or article document, the analyzer every text field
and every query word goes through, and the weight of each searched field."""

from __future__ import annotations

from whoosh import fields

from .analysis import ANALYZER, AnalysedText  # noqa: F401 - ANALYZER: the query side imports it here

# 3: text fields without positions, and the fields no query reads only stored.
SCHEMA_VERSION = 3

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
    """Stemmed text, with the unstemmed words in spell_<field> for typo matching and "did you
    mean" (analysis.py). Field weights are applied at query time (QUERY_FIELDS)."""
    return AnalysedText(stored=stored)


# What a search never asks the index about (visibility, prices and dates come from SQL at
# query time) is only stored: for the tests and operators reading a document back. Indexing
# it cost four numeric terms per value and a column per sortable field in every rebuild.
_KEPT = fields.STORED


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
        offer_id=_KEPT(),
        revision=_KEPT(),
        status=_KEPT(),
        category=_text(),
        category_id=_KEPT(),
        kind=_KEPT(),
        billing=_KEPT(),
        price=_KEPT(),
        currency=_KEPT(),
        published_at=_KEPT(),
        valid_from=_KEPT(),
        valid_to=_KEPT(),
        # The audience as it was at indexing time. Informational only: visibility is decided
        # by SQL at query time (see app/search/index/__init__.py).
        group_ids=_KEPT(),
        pilot_group_ids=_KEPT(),
        canary=_KEPT(),
        # knowledge articles
        article_id=_KEPT(),
        offer_codes=_KEPT(),
        updated_at=_KEPT(),
    )


SCHEMA = build_schema()
