"""Matching query words against the index: what each word expands to (its stem in any text
field, any term it is a prefix of, and, when it is in no field at all, the stems of the
indexed words within one or two edits), which documents match every word, and the query that
scores them."""

from __future__ import annotations

from dataclasses import dataclass

from whoosh import query as wq

from .index.schema import ANALYZER, QUERY_FIELDS, SCHEMA
from .query import Word
from .suggestions import near_words

PREFIX_MIN = 2
PREFIX_LIMIT = 50  # terms one word may expand to as a prefix, per field
FUZZY_MIN = 3


@dataclass(frozen=True)
class Expansion:
    """What one query word matches in the index: (field, term, boost) triples, and, when the
    word is not in the index at all, the indexed words it may be a misspelling of."""

    terms: tuple[tuple[str, str, float], ...]
    near: tuple[str, ...]


def _prefix_terms(reader, fieldname: str, prefix: str) -> list[str]:
    field_type = SCHEMA[fieldname]
    found = []
    for term in reader.expand_prefix(fieldname, prefix):
        found.append(field_type.from_bytes(term) if isinstance(term, bytes) else term)
        if len(found) >= PREFIX_LIMIT:
            break
    return found


def expand(reader, word: Word, *, fuzzy: bool = True) -> Expansion:
    """The terms one word matches: its stem in any text field, any term it is a prefix of,
    and, when it is in no field at all, the stems of the indexed words within one or two edits.

    Typos are matched through those words' stems rather than with Whoosh's FuzzyTerm: on a
    stemmed field with spelling=True, FuzzyTerm expands against the *unstemmed* spelling words
    and then looks them up among the stems, so "databse" never reaches "databas"."""
    terms: dict[tuple[str, str], float] = {}

    def add(fieldname: str, term: str, boost: float) -> None:
        key = (fieldname, term)
        if key not in terms and reader.doc_frequency(fieldname, term) > 0:
            terms[key] = boost

    for fieldname, boost in QUERY_FIELDS.items():
        add(fieldname, word.stem, boost)
        if len(word.raw) >= PREFIX_MIN:
            for term in _prefix_terms(reader, fieldname, word.raw):
                add(fieldname, term, boost * 0.5)
    near: list[str] = []
    if not terms and len(word.raw) >= FUZZY_MIN:
        near = near_words(reader, word.raw)
        if fuzzy:
            for candidate in near:
                for stem in {token.text for token in ANALYZER(candidate)}:
                    for fieldname, boost in QUERY_FIELDS.items():
                        add(fieldname, stem, boost * 0.3)
    return Expansion(
        tuple((fieldname, term, boost) for (fieldname, term), boost in terms.items()),
        tuple(near),
    )


def matching_docs(ranker, expansions: list[Expansion]) -> set[int]:
    """Documents matching every word, from the posting lists as sets (ranking.Ranker's, kept
    with the searcher)."""
    matched: set[int] | None = None
    for expansion in expansions:
        docs: set[int] = set()
        for fieldname, term, _ in expansion.terms:
            docs.update(ranker.postings(fieldname, term))
        matched = docs if matched is None else matched & docs
        if not matched:
            return set()
    return matched or set()


def scoring_query(expansions: list[Expansion]) -> wq.Query:
    return wq.And(
        [
            wq.Or([wq.Term(fieldname, term, boost=boost) for fieldname, term, boost in e.terms])
            for e in expansions
        ]
    )


def terms_by_field(expansions: list[Expansion]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for expansion in expansions:
        for fieldname, term, _ in expansion.terms:
            found.setdefault(fieldname, set()).add(term)
    return {fieldname: frozenset(texts) for fieldname, texts in found.items()}


def split_documents(kinds: tuple, docnums: set[int]) -> tuple[dict[str, int], set[int]]:
    """Matching offer documents by code, and matching article documents (`kinds`: each
    document's type and code, OpenSearcher.kinds())."""
    types, codes = kinds
    offers: dict[str, int] = {}
    articles: set[int] = set()
    for docnum in docnums:
        if types[docnum] == "offer":
            offers[codes[docnum]] = docnum
        else:
            articles.add(docnum)
    return offers, articles
