"""A search answered by PostgreSQL full-text search (SEARCH_BACKEND=postgres).

matching.py finds the live offers and published articles that match every word, with their
rank; from there the same code as the Whoosh backend decides what the user may see
(visibility.py), filters and counts facets (facets.py), builds the hits (results.py) and marks
the hits in titles and snippets (highlight.py, over the same analysed terms), so both backends
answer with the same shapes, the same visibility rules and the same markup."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ...accounts.models import User
from ...catalog.models import ServiceOffer
from ...extensions import db
from ...knowledge.models import KnowledgeArticle
from ..facets import category_labels, filtered_candidates
from ..highlight import offer_snippets
from ..index.documents import plain_text
from ..index.schema import ANALYZER
from ..query import Criteria
from ..results import (
    ARTICLE_LIMIT,
    ArticleHit,
    OfferHit,
    SearchResult,
    article_hit,
    exact_name_docs,
    offer_hit,
    sort_key,
)
from ..suggestions import correction
from ..visibility import article_visibility, candidate_rows, page_rows
from .matching import (
    ARTICLE_VECTOR,
    RANK_WEIGHTS,
    WordMatch,
    article_condition,
    match_words,
    offer_match,
    offer_rank,
    rank_query,
)
from .matching import (
    score as offer_score,
)


def search_postgres(
    user: User, criteria: Criteria, now: datetime, *, in_limit: int
) -> SearchResult:
    categories = category_labels()
    matches = match_words(criteria.words, categories)
    rows = _visible(user, now, matches, criteria.sort, in_limit)
    candidates = [(row, offer_score(row.rank, row.category_id, matches)) for row in rows.values()]
    corrected = correction(criteria.words, [list(match.near) for match in matches])
    alternative = match_words(corrected, categories, fuzzy=False) if corrected else []
    kept, facets = filtered_candidates(candidates, criteria, categories)

    suggestion = None
    if corrected and (
        _visible(user, now, alternative, "relevance", in_limit)
        or _articles(user, now, alternative, "relevance", 1)
    ):
        suggestion = " ".join(word.raw for word in corrected)
    return SearchResult.from_index(
        criteria,
        len(kept),
        facets,
        hits=_offer_hits(_ranked_page(kept, criteria), now, matches),
        suggestion=suggestion,
        articles=_articles(user, now, matches, criteria.sort, ARTICLE_LIMIT),
    )


def _visible(user: User, now: datetime, matches: list[WordMatch], sort: str, in_limit: int):
    """The offers the user may see that match every word, with their rank (one query)."""
    where = offer_match(matches)
    if where is None:
        return {}
    rank = offer_rank(matches).label("rank")
    return candidate_rows(user, now, set(), sort, in_limit=in_limit, where=where, extra=(rank,))


def _ranked_page(kept: list, criteria: Criteria) -> list:
    """The requested page of (row, score). By relevance: offers named exactly as the query (or
    whose code it is) first, then by rank, then by name; other orders sort the rows."""
    start = (criteria.page - 1) * criteria.per_page
    end = start + criteria.per_page
    if criteria.sort != "relevance":
        key = sort_key(criteria.sort)
        kept.sort(key=lambda item: key(item[0]))
        return [(row, None) for row, _ in kept[start:end]]
    wanted = criteria.text.strip().lower()
    exact = exact_name_docs([(row, row.code) for row, _ in kept], criteria.text)
    exact |= {row.code for row, _ in kept if row.code.lower() == wanted}
    kept.sort(
        key=lambda item: (item[0].code not in exact, -item[1], item[0].name.lower(), item[0].id)
    )
    return kept[start:end]


def marked_terms(matches: list[WordMatch], texts: dict[str, str]) -> dict[str, frozenset[str]]:
    """For each field's text, its analysed terms that a query word matches (what Whoosh's
    highlighter marks)."""
    terms = {}
    marked: dict[str, bool] = {}  # each distinct term checked once
    for fieldname, text in texts.items():
        tokens = {token.text for token in ANALYZER(text or "")}
        for term in tokens - marked.keys():
            marked[term] = any(match.marks(term) for match in matches)
        terms[fieldname] = frozenset(term for term in tokens if marked[term])
    return terms


def _offer_hits(page: list, now: datetime, matches: list[WordMatch]) -> list[OfferHit]:
    full = page_rows(now, [row.id for row, _ in page], ServiceOffer.description)
    hits = []
    for row, score in page:
        row = full[row.id]
        stored = {"summary": plain_text(row.summary), "description": plain_text(row.description)}
        terms = marked_terms(matches, {"name": row.name, **stored})
        title, snippet = offer_snippets(stored, row, terms)
        hits.append(offer_hit(row, now, title, snippet, score))
    return hits


def _articles(
    user: User, now: datetime, matches: list[WordMatch], sort: str, limit: int
) -> list[ArticleHit]:
    """The top published articles matching every word that the user may find."""
    if not matches or any(match.query is None for match in matches):
        return []
    by_title = [sa.func.lower(KnowledgeArticle.title), KnowledgeArticle.id]
    order = by_title
    if sort == "relevance":
        order = [sa.func.ts_rank_cd(RANK_WEIGHTS, ARTICLE_VECTOR, rank_query(matches)).desc()]
        order += by_title
    rows = db.session.execute(
        sa.select(KnowledgeArticle.id, KnowledgeArticle.title, KnowledgeArticle.body)
        .where(
            article_visibility(user, now), *(article_condition(match.query) for match in matches)
        )
        .order_by(*order)
        .limit(limit)
    ).all()
    hits = []
    for article_id, title, body in rows:
        stored = {"article_id": article_id, "name": title, "description": plain_text(body)}
        terms = marked_terms(matches, {"name": title, "description": stored["description"]})
        hits.append(article_hit(stored, terms))
    return hits
