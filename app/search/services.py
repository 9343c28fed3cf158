"""Searching offers and knowledge articles: the one service behind /search and GET /api/v1/offers.

How a search is answered
------------------------
1. The text is split into words the way the index analyses it (query.py: lower case, stop words
   dropped, Porter stems). Each word must match (AND); a word matches its stem in any text
   field, any term it is a prefix of ("acc" finds "access"), and, when it is in no field at all,
   terms within one or two edits ("vpm" finds "vpn") (matching.py). Such a word also gets a
   spelling correction from the index's unstemmed words: "did you mean vpn access?"
   (suggestions.py).
2. The matching documents are ranked by BM25F with Whoosh's statistics (ranking.py computes
   it from the posting lists: Whoosh's scores, without its per-posting matchers), from a
   searcher kept per thread while the index's files are unchanged (searchers.py). Which of
   them the user may see, their effective price now, category and billing come from ONE SQL
   query (the matched codes bound as one parameter) over `visible_offers_query(user)` (catalog
   managers: every live offer), so audiences, canary pilots and validity windows apply at query
   time: an offer whose valid_from passes becomes findable with no reindex, and a stale index
   can never show an offer the user may not see (visibility.py).
3. Filters, facet counts (facets.py), sorting and pagination (results.py) run over those rows;
   only the page's rows are read in full, and only their snippets are highlighted by Whoosh
   and rendered safely (highlight.py: everything escaped, then <mark> around the hits).
4. If the index is missing, empty, broken or raises while searching, the same criteria run as
   SQL (fallback.py: a LIKE over the visible offers, facets by GROUP BY, LIMIT/OFFSET) and a
   warning is logged. `SearchResult.source` says which answered; `degraded` is True for that
   fallback. An empty query (browse with filters) is always answered by SQL.

Steps 1 to 3 describe the Whoosh backend. With SEARCH_BACKEND=postgres (the default on
PostgreSQL) the words are matched by PostgreSQL full-text search instead (app/search/postgres/:
generated tsvector columns, pg_trgm for typos and "did you mean"), with the same rules, and the
same visibility, facets, results and highlighting code; it needs no index and no fallback.
See docs/search.md.

Knowledge articles are listed apart (the top five). A published article is found by
everyone when it is tied to no offer, or to at least one offer the user may see now; catalog
managers and support agents find every published article. So an article never gives away a
hidden, canary or scheduled offer, and neither does "did you mean": a correction is offered
only when the corrected words find something the user may see.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from .. import clock
from ..accounts.models import User
from . import searchers
from .facets import category_labels, filtered_candidates
from .fallback import search_database
from .highlight import offer_snippets
from .index import store
from .index.store import IndexUnavailable
from .matching import Expansion, expand, matching_docs, split_documents, terms_by_field
from .postgres.answer import search_postgres
from .query import Criteria, Word, parse_criteria
from .results import (
    ARTICLE_CANDIDATES,
    ARTICLE_LIMIT,
    ArticleHit,
    OfferHit,
    SearchResult,
    article_hit,
    offer_hit,
    ranked_articles,
    ranked_page,
)
from .suggestions import correction
from .visibility import candidate_rows, findable_articles, page_rows

log = logging.getLogger(__name__)

IN_LIMIT = 5000  # above this many matched codes, reading every visible offer beats IN (...)

# What callers outside app/search use: the tests, and tests/bench/bench_search.py (which times
# the database path under its old name).
_search_database = search_database
__all__ = ["IN_LIMIT", "SearchResult", "_search_database", "parse_criteria", "search_offers"]


def search_offers(
    user: User,
    q: str | None = "",
    *,
    category: str | int | None = None,
    billing: str | None = None,
    kind: str | None = None,
    min_price: Decimal | str | float | None = None,
    max_price: Decimal | str | float | None = None,
    price_range: str | None = None,
    sort: str = "relevance",
    page: int | str = 1,
    per_page: int | str = 20,
) -> SearchResult:
    """Search the offers (and knowledge articles) `user` may see now.

    Arguments may be raw query-string values; blanks mean "no filter":
      q           words; each must match (stemmed, as a prefix, or within 1-2 typos); "" lists all
      category    a category slug, or its id
      billing     "one_time" | "monthly" | "yearly"
      kind        "new_instance" | "modification" | "termination" | "support" | "bundle"
      min_price, max_price   the effective price now, both bounds included
      price_range "under_10" | "10_50" | "50_200" | "200_plus" (the price facet's values)
      sort        "relevance" (default) | "price_asc" | "price_desc" | "newest"
      page, per_page          1-based; per_page at most 100

    Returns a SearchResult: `hits` (OfferHit: id, code, name, price, billing, category, status,
    `title`/`snippet` as safe Markup with <mark> around matches), `total`, `pages`, `facets`
    ({"category"|"billing"|"kind"|"price": [FacetValue(value, label, count, selected)]}),
    `suggestion` ("did you mean", or None), `articles` (published knowledge articles that
    match), `source` ("index" or "database") and `degraded`. `result.to_dict()` is the JSON
    shape for GET /api/v1/offers.

    Raises ValidationFailed (422 in the API) with field errors for bad parameters: q longer
    than 200 characters, an unknown billing/kind/price/sort value, a price that is not an
    amount, min_price above max_price, page or per_page out of range."""
    criteria = parse_criteria(
        q,
        category=category,
        billing=billing,
        kind=kind,
        min_price=min_price,
        max_price=max_price,
        price_range=price_range,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    return _answer(user, criteria, clock.now())


def backend() -> str:
    """The search backend this app answers with: "whoosh" or "postgres" (SEARCH_BACKEND)."""
    return current_app.config.get("SEARCH_BACKEND") or "whoosh"


def _answer(user: User, criteria: Criteria, now: datetime) -> SearchResult:
    """From the search backend when there are words to match; from the database for an empty
    query, and when the Whoosh index cannot answer."""
    if not criteria.words:
        return search_database(user, criteria, now, degraded=False)
    if backend() == "postgres":
        return search_postgres(user, criteria, now, in_limit=IN_LIMIT)
    try:
        return _search_index(user, criteria, now)
    except sa.exc.SQLAlchemyError:
        raise  # a database problem is not an index problem
    except IndexUnavailable as reason:
        log.warning("Search answered from the database: %s. Run `flask search reindex`.", reason)
    except Exception:  # noqa: BLE001 - a broken index must not break search
        log.warning(
            "Search index failed while searching; answered from the database. "
            "Run `flask search reindex`.",
            exc_info=True,
        )
        store.request_repair("the index failed while searching")
    return search_database(user, criteria, now, degraded=True)


# --- the index path ---------------------------------------------------------------------------


class _Alternative(NamedTuple):
    """The corrected query ("did you mean"), if any, and the offers and articles it matches."""

    words: list[Word] | None
    codes: set[str]
    article_ids: list[int]


def _alternative(opened, words: list[Word], expansions: list[Expansion]) -> _Alternative:
    corrected = correction(words, [list(e.near) for e in expansions])
    if not corrected:
        return _Alternative(corrected, set(), [])
    alternative = [_expansion(opened, word, fuzzy=False) for word in corrected]
    offers, docnums, _ = _matches(opened, alternative, scored=False)
    searcher = opened.searcher
    article_ids = [searcher.stored_fields(docnum).get("article_id") for docnum in sorted(docnums)][
        :ARTICLE_CANDIDATES
    ]
    return _Alternative(corrected, set(offers), article_ids)


def _expansion(opened, word: Word, *, fuzzy: bool = True) -> Expansion:
    reader = opened.searcher.reader()
    return opened.kept(("expansion", word, fuzzy), lambda: expand(reader, word, fuzzy=fuzzy))


def _matches(opened, expansions: list[Expansion], *, scored: bool = True) -> tuple:
    """(matching offer documents by code, matching article documents, the offers' scores by
    docnum, when `scored`): they depend on the searcher's generation only, so they are kept
    with it (the user's visibility and filters apply afterwards)."""

    def find() -> tuple:
        offers, articles = split_documents(opened.kinds(), matching_docs(opened.ranker, expansions))
        scores = opened.ranker.scores(expansions, set(offers.values())) if scored else None
        return offers, articles, scores

    return opened.kept(
        ("matches", tuple(expansions), scored), find, lambda found: len(found[0]) + len(found[1])
    )


def _search_index(user: User, criteria: Criteria, now: datetime) -> SearchResult:
    opened = searchers.current()
    try:
        return _answer_from(opened, user, criteria, now)
    except sa.exc.SQLAlchemyError:
        raise
    except Exception:
        searchers.forget()  # whatever broke, the next search opens the index afresh
        raise


def _answer_from(opened, user: User, criteria: Criteria, now: datetime) -> SearchResult:
    searcher = opened.searcher
    expansions = [_expansion(opened, word) for word in criteria.words]
    matched, article_docnums, scores = _matches(
        opened, expansions, scored=criteria.sort == "relevance"
    )
    alternative = _alternative(opened, criteria.words, expansions)

    rows = candidate_rows(
        user, now, set(matched) | alternative.codes, criteria.sort, in_limit=IN_LIMIT
    )
    categories = category_labels()
    candidates = [(rows[code], docnum) for code, docnum in matched.items() if code in rows]
    kept, facets = filtered_candidates(candidates, criteria, categories)
    page = ranked_page(scores, kept, criteria)

    terms = terms_by_field(expansions)
    hits = _offer_hits(opened, page, now, terms)
    articles, findable = _articles(
        user, now, searcher, expansions, article_docnums, alternative, criteria.sort, terms
    )
    suggestion = None
    if alternative.words and (
        alternative.codes & set(rows) or findable.intersection(alternative.article_ids)
    ):
        suggestion = " ".join(word.raw for word in alternative.words)

    return SearchResult.from_index(
        criteria, len(kept), facets, hits=hits, suggestion=suggestion, articles=articles
    )


def _offer_hits(opened, page: list, now: datetime, terms: dict) -> list[OfferHit]:
    """The page's hits, from its rows read in full, with titles and snippets marked."""
    full = page_rows(now, [row.id for row, _, _ in page])
    hits = []
    for row, score, docnum in page:
        row = full[row.id]
        own = _terms_of(opened.ranker, docnum, terms)
        title, snippet = opened.kept(
            ("hit", docnum, row.name, row.summary, tuple(sorted(own.items()))),
            lambda docnum=docnum, row=row, own=own: offer_snippets(
                opened.searcher.stored_fields(docnum), row, own
            ),
        )
        hits.append(offer_hit(row, now, title, snippet, score))
    return hits


def _terms_of(ranker, docnum: int, terms: dict) -> dict:
    """The terms this document's stored fields have (its postings say so): a field none of
    them is in is not analysed for highlighting at all. The name is highlighted from the
    database's row, which the index may not have caught up with, so it keeps every term."""
    return {
        fieldname: texts
        if fieldname == "name"
        else frozenset(text for text in texts if docnum in ranker.postings(fieldname, text))
        for fieldname, texts in terms.items()
    }


def _articles(
    user: User,
    now: datetime,
    searcher,
    expansions: list[Expansion],
    docnums: set[int],
    alternative: _Alternative,
    sort: str,
    terms: dict,
) -> tuple[list[ArticleHit], set[int]]:
    """The top articles the user may find, and which of the candidates (the alternative's
    included) they may find at all."""
    by_relevance = sort == "relevance"
    article_docs = ranked_articles(searcher, expansions, docnums, by_relevance)
    findable = findable_articles(
        user, now, [stored["article_id"] for stored in article_docs] + alternative.article_ids
    )
    article_docs = [stored for stored in article_docs if stored["article_id"] in findable]
    if not by_relevance:
        article_docs.sort(key=lambda stored: (stored.get("name", "").lower(), stored["article_id"]))
    return [article_hit(stored, terms) for stored in article_docs[:ARTICLE_LIMIT]], findable
