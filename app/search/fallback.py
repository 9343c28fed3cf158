"""The SQL fallback: the same criteria answered by the database alone, when the index is
missing, empty, broken or raises, and for an empty query (browse with filters). A LIKE over
the visible offers for each word, facets by GROUP BY, LIMIT/OFFSET for the page."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..accounts.models import User
from ..catalog.models import Category, ServiceOffer
from ..catalog.prices import price_in_force
from ..extensions import db
from ..knowledge.models import KnowledgeArticle
from .facets import PRICE_RANGE_BY_VALUE, PRICE_RANGES, FacetValue, facet_values
from .highlight import clean, marked_words, render_marked, shorten
from .query import Criteria, Word
from .results import ARTICLE_LIMIT, ArticleHit, OfferHit, SearchResult, offer_hit
from .visibility import article_visibility, row_columns, visible_offers


def _text_clause(words: list[Word]):
    if not words:
        return sa.true()
    return sa.and_(
        *(
            sa.or_(
                ServiceOffer.name.icontains(word.needle, autoescape=True),
                ServiceOffer.code.icontains(word.needle, autoescape=True),
                ServiceOffer.summary.icontains(word.needle, autoescape=True),
                ServiceOffer.description.icontains(word.needle, autoescape=True),
                Category.name.icontains(word.needle, autoescape=True),
            )
            for word in words
        )
    )


def _sql_filters(criteria: Criteria, price, skip: str | None = None) -> list:
    clauses = []
    if skip != "category" and criteria.category:
        wanted = criteria.category
        clauses.append(
            sa.or_(Category.slug == wanted, ServiceOffer.category_id == int(wanted))
            if wanted.isdigit()
            else Category.slug == wanted
        )
    if skip != "billing" and criteria.billing:
        clauses.append(ServiceOffer.billing_period == criteria.billing)
    if skip != "kind" and criteria.kind:
        clauses.append(ServiceOffer.kind == criteria.kind)
    if criteria.min_price is not None:
        clauses.append(price >= criteria.min_price)
    if criteria.max_price is not None:
        clauses.append(price <= criteria.max_price)
    if skip != "price" and criteria.price_range:
        price_range = PRICE_RANGE_BY_VALUE[criteria.price_range]
        if price_range.low is not None:
            clauses.append(price >= price_range.low)
        if price_range.high is not None:
            clauses.append(price < price_range.high)
    return clauses


def _sql_order(criteria: Criteria, price) -> list:
    by_name = [sa.func.lower(ServiceOffer.name), ServiceOffer.id]
    if criteria.sort == "price_asc":
        return [price.asc().nulls_last(), *by_name]
    if criteria.sort == "price_desc":
        return [price.desc().nulls_last(), *by_name]
    if criteria.sort == "newest":
        return [ServiceOffer.published_at.desc().nulls_last(), ServiceOffer.id.desc()]
    if criteria.words:
        misses = sum(
            (
                sa.case((ServiceOffer.name.icontains(word.needle, autoescape=True), 0), else_=1)
                for word in criteria.words
            ),
            sa.literal(0),
        )
        return [misses, *by_name]
    return by_name


def search_database(
    user: User, criteria: Criteria, now: datetime, *, degraded: bool
) -> SearchResult:
    price = price_in_force(now)
    text = _text_clause(criteria.words)

    def visible(*columns, skip: str | None = None) -> sa.Select:
        return visible_offers(user, now, *columns).where(text, *_sql_filters(criteria, price, skip))

    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(visible(ServiceOffer.id).subquery())
    )
    rows = db.session.execute(
        visible(*row_columns(price), ServiceOffer.description)
        .order_by(*_sql_order(criteria, price))
        .limit(criteria.per_page)
        .offset((criteria.page - 1) * criteria.per_page)
    ).all()
    hits = [_hit(row, criteria.words, now) for row in rows]
    facets = _facets(visible, criteria, price)
    return SearchResult(
        query=criteria.text,
        hits=hits,
        total=int(total or 0),
        page=criteria.page,
        per_page=criteria.per_page,
        sort=criteria.sort,
        filters=criteria.filters(),
        facets=facets,
        suggestion=None,
        source="database",
        degraded=degraded,
        articles=_database_articles(user, now, criteria.words),
    )


def _hit(row, words: list[Word], now: datetime) -> OfferHit:
    title = marked_words(clean(row.name), words, limit=10_000) or clean(row.name)
    snippet = (
        marked_words(row.description, words)
        or marked_words(row.summary, words)
        or shorten(row.summary or row.description)
    )
    return offer_hit(row, now, render_marked(title), render_marked(snippet), None)


def _facets(visible, criteria: Criteria, price) -> dict[str, list[FacetValue]]:
    """Each facet counted by GROUP BY over the visible offers passing every other filter
    (`visible(*columns, skip=facet)`)."""
    count = sa.func.count(ServiceOffer.id)
    categories = db.session.execute(
        visible(Category.slug, Category.name, ServiceOffer.category_id, count, skip="category")
        .where(ServiceOffer.category_id.is_not(None))
        .group_by(Category.slug, Category.name, ServiceOffer.category_id)
    ).all()
    billing = dict(
        db.session.execute(
            visible(ServiceOffer.billing_period, count, skip="billing").group_by(
                ServiceOffer.billing_period
            )
        ).all()
    )
    kinds = dict(
        db.session.execute(
            visible(ServiceOffer.kind, count, skip="kind").group_by(ServiceOffer.kind)
        ).all()
    )
    return facet_values(
        criteria,
        [(slug, name, category_id, amount) for slug, name, category_id, amount in categories],
        billing,
        kinds,
        _price_range_counts(visible(price.label("price"), skip="price").subquery()),
    )


def _price_range_counts(priced) -> dict[str, int]:
    """How many of the priced rows fall in each price range."""
    bucket = sa.case(
        *(
            (
                sa.and_(
                    priced.c.price >= price_range.low if price_range.low is not None else sa.true(),
                    priced.c.price < price_range.high
                    if price_range.high is not None
                    else sa.true(),
                ),
                price_range.value,
            )
            for price_range in PRICE_RANGES
        ),
        else_=None,
    ).label("bucket")
    return {
        value: amount
        for value, amount in db.session.execute(
            sa.select(bucket, sa.func.count()).where(priced.c.price.is_not(None)).group_by(bucket)
        ).all()
        if value is not None
    }


def _database_articles(user: User, now: datetime, words: list[Word]) -> list[ArticleHit]:
    if not words:
        return []
    articles = db.session.execute(
        sa.select(KnowledgeArticle.id, KnowledgeArticle.title, KnowledgeArticle.body)
        .where(
            article_visibility(user, now),
            *(
                sa.or_(
                    KnowledgeArticle.title.icontains(word.needle, autoescape=True),
                    KnowledgeArticle.body.icontains(word.needle, autoescape=True),
                )
                for word in words
            ),
        )
        .order_by(sa.func.lower(KnowledgeArticle.title), KnowledgeArticle.id)
        .limit(ARTICLE_LIMIT)
    ).all()
    return [
        ArticleHit(
            id=article.id,
            title=article.title,
            title_html=render_marked(
                marked_words(clean(article.title), words, limit=10_000) or clean(article.title)
            ),
            snippet=render_marked(marked_words(article.body, words) or shorten(article.body)),
        )
        for article in articles
    ]
