"""Results: the hits, the result of a search and its JSON shape, and how matching documents
are ranked, sorted and paged. Knowledge articles are listed apart (the top ARTICLE_LIMIT)."""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from .. import clock
from ..catalog.models import BillingPeriod, OfferKind, ServiceOffer
from ..labels import capital_label
from ..paging import Paged
from .facets import FacetValue
from .highlight import clean, highlighted, render_marked, shorten
from .matching import scoring_query

if TYPE_CHECKING:
    from .query import Criteria

ARTICLE_LIMIT = 5
_NAME_WORD = re.compile(r"\w+", re.UNICODE)
ARTICLE_CANDIDATES = 25


@dataclass
class OfferHit:
    id: int
    code: str
    name: str
    summary: str
    title: Markup  # the name, hits marked
    snippet: Markup  # from the description or summary, hits marked
    price: Decimal | None
    currency: str
    billing_period: str
    kind: str
    category_id: int | None
    category_name: str | None
    category_slug: str | None
    published_at: datetime | None
    status: str  # display status: published, retiring (managers also see scheduled, expired...)
    score: float | None = None

    @property
    def billing_label(self) -> str:
        return _label(BillingPeriod, self.billing_period)

    @property
    def kind_label(self) -> str:
        return _label(OfferKind, self.kind)

    @property
    def url(self) -> str:
        return f"/catalog/offers/{self.id}"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "summary": self.summary,
            "title_html": str(self.title),
            "snippet_html": str(self.snippet),
            "price": None if self.price is None else f"{self.price:.2f}",
            "currency": self.currency,
            "billing_period": self.billing_period,
            "kind": self.kind,
            "category": None
            if self.category_id is None
            else {"id": self.category_id, "name": self.category_name, "slug": self.category_slug},
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "status": self.status,
            "score": self.score,
            "url": self.url,
        }


@dataclass
class ArticleHit:
    id: int
    title: str
    title_html: Markup
    snippet: Markup

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "title_html": str(self.title_html),
            "snippet_html": str(self.snippet),
        }


@dataclass
class SearchResult(Paged):
    query: str
    hits: list[OfferHit]
    total: int
    page: int
    per_page: int
    sort: str
    filters: dict[str, Any]
    facets: dict[str, list[FacetValue]]
    suggestion: str | None
    source: str  # "index" or "database"
    degraded: bool  # True when the index was unavailable and the database answered instead
    articles: list[ArticleHit] = field(default_factory=list)

    @classmethod
    def from_index(cls, criteria: Criteria, total: int, facets: dict, **found) -> SearchResult:
        """An answer of a search backend (not the SQL fallback): `found` holds hits, suggestion
        and articles."""
        return cls(
            query=criteria.text,
            total=total,
            page=criteria.page,
            per_page=criteria.per_page,
            sort=criteria.sort,
            filters=criteria.filters(),
            facets=facets,
            source="index",
            degraded=False,
            **found,
        )

    @property
    def items(self) -> list[OfferHit]:
        return self.hits

    @property
    def filtered(self) -> bool:
        return any(value not in (None, "") for value in self.filters.values())

    def to_dict(self) -> dict:
        """JSON-ready (prices as strings, snippets as HTML with <mark>, everything else escaped)."""
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
            "sort": self.sort,
            "filters": {
                key: (str(value) if isinstance(value, Decimal) else value)
                for key, value in self.filters.items()
            },
            "source": self.source,
            "degraded": self.degraded,
            "suggestion": self.suggestion,
            "items": [hit.to_dict() for hit in self.hits],
            "facets": {
                name: [value.to_dict() for value in values] for name, values in self.facets.items()
            },
            "articles": [article.to_dict() for article in self.articles],
        }


def _label(enum_class, value: str) -> str:
    try:
        return enum_class(value).label
    except ValueError:
        return capital_label(value)


def _display_status(row, now: datetime) -> str:
    return ServiceOffer.display_status(row, now)


def offer_hit(row, now: datetime, title: Markup, snippet: Markup, score: float | None) -> OfferHit:
    return OfferHit(
        id=row.id,
        code=row.code,
        name=row.name,
        summary=row.summary or "",
        title=title,
        snippet=snippet,
        price=row.price,
        currency=row.currency,
        billing_period=row.billing_period,
        kind=row.kind,
        category_id=row.category_id,
        category_name=row.category_name,
        category_slug=row.category_slug,
        published_at=clock.as_utc(row.published_at),
        status=_display_status(row, now),
        score=None if score is None else round(float(score), 4),
    )


def article_hit(stored: dict, terms: dict) -> ArticleHit:
    title = clean(stored.get("name", ""))
    title_html = highlighted(title, terms.get("name", frozenset()), whole=True) or title
    body = stored.get("description", "")
    snippet = highlighted(body, terms.get("description", frozenset())) or shorten(body)
    return ArticleHit(
        id=stored["article_id"],
        title=title,
        title_html=render_marked(title_html),
        snippet=render_marked(snippet),
    )


def sort_key(sort: str):
    """The order of candidate rows for the sorts other than relevance (Whoosh ranks those)."""

    def by_name(row) -> tuple:
        return (row.name.lower(), row.id)

    if sort == "price_asc":
        return lambda row: (row.price is None, row.price or 0, *by_name(row))
    if sort == "price_desc":
        return lambda row: (row.price is None, -(row.price or 0), *by_name(row))
    return lambda row: (  # newest
        row.published_at is None,
        -(clock.as_utc(row.published_at).timestamp() if row.published_at else 0),
        -row.id,
    )


def _name_words(text: str) -> str:
    return " ".join(_NAME_WORD.findall(text.lower()))


def exact_name_docs(kept: list, text: str) -> set[int]:
    """The kept documents whose name is the query, word for word (case and punctuation aside):
    they rank first, so an offer's exact name always finds that offer first."""
    wanted = _name_words(text)
    if not wanted:
        return set()
    first = wanted.split(" ", 1)[0]
    return {
        docnum
        for row, docnum in kept
        if first in row.name.lower() and _name_words(row.name) == wanted
    }


def ranked_page(scores: dict[int, float], kept: list, criteria: Criteria) -> list:
    """The requested page of (row, score, docnum). By relevance: offers named exactly as the
    query first, then by BM25F score (`scores` by docnum: ranking.Ranker's, Whoosh's scores),
    then by name; other orders sort the rows."""
    start = (criteria.page - 1) * criteria.per_page
    end = start + criteria.per_page
    if criteria.sort != "relevance":
        key = sort_key(criteria.sort)
        kept.sort(key=lambda item: key(item[0]))
        return [(row, None, docnum) for row, docnum in kept[start:end]]
    exact = exact_name_docs(kept, criteria.text)

    def order(item) -> tuple:
        row, docnum = item
        return (docnum not in exact, -scores[docnum], row.name.lower(), row.id)

    # Only the page's end is needed in order: a heap of that many, not a sort of every match.
    page = heapq.nsmallest(end, kept, key=order)
    return [(row, scores[docnum], docnum) for row, docnum in page[start:end]]


def ranked_articles(searcher, expansions, docnums: set[int], by_relevance: bool) -> list[dict]:
    if not docnums:
        return []
    if by_relevance:
        results = searcher.search(
            scoring_query(expansions), filter=docnums, limit=ARTICLE_CANDIDATES
        )
        chosen = [docnum for _, docnum in results.top_n]
    else:
        chosen = sorted(docnums)[:ARTICLE_CANDIDATES]
    stored = [searcher.stored_fields(docnum) for docnum in chosen]
    return [fields for fields in stored if fields.get("article_id") is not None]
