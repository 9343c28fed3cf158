"""What the user may see now, with the price in force now, read from SQL at query time.

Which offers the user may see come from `visible_offers_query(user)` (catalog managers: every
live offer), so audiences, canary pilots and validity windows apply at query time: an offer
whose valid_from passes becomes findable with no reindex, and a stale index can never show an
offer the user may not see. A published article is found by everyone when it is tied to no
offer, or to at least one offer the user may see now; catalog managers and support agents
find every published article."""

from __future__ import annotations

import collections
import functools
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from ..accounts.models import Role, User
from ..catalog.models import LIVE_STATUSES, Category, ServiceOffer
from ..catalog.prices import price_in_force
from ..catalog.services import can_manage_catalog, visible_offers_query
from ..extensions import db
from ..knowledge.models import ArticleStatus, KnowledgeArticle, offer_articles


def offer_visibility(user: User, now: datetime):
    if can_manage_catalog(user):
        return ServiceOffer.status.in_(LIVE_STATUSES)
    return visible_offers_query(user, now).whereclause


def row_columns(price) -> tuple:
    return (
        ServiceOffer.id,
        ServiceOffer.code,
        ServiceOffer.name,
        ServiceOffer.summary,
        ServiceOffer.kind,
        ServiceOffer.billing_period,
        ServiceOffer.currency,
        ServiceOffer.status,
        ServiceOffer.valid_from,
        ServiceOffer.valid_to,
        ServiceOffer.published_at,
        ServiceOffer.category_id,
        Category.name.label("category_name"),
        Category.slug.label("category_slug"),
        price.label("price"),
    )


def visible_offers(user: User, now: datetime, *columns) -> sa.Select:
    return (
        sa.select(*columns)
        .select_from(ServiceOffer)
        .outerjoin(Category, Category.id == ServiceOffer.category_id)
        .where(offer_visibility(user, now))
    )


def candidate_rows(
    user: User,
    now: datetime,
    codes: set[str],
    sort: str,
    *,
    in_limit: int,
    where: sa.ColumnElement | None = None,
    extra: tuple = (),
) -> dict[str, Any]:
    """The visible offers among these codes, with what filters, facets and sorting need (one
    query; the page's rows are read in full afterwards). Above `in_limit` codes, every visible
    offer is read instead of IN (...), and the caller keeps the ones it matched. A backend that
    matches in SQL passes its condition as `where` (then `codes` is ignored) and its rank among
    the `extra` columns."""
    if not codes and where is None:
        return {}
    columns = [
        ServiceOffer.id,
        ServiceOffer.code,
        ServiceOffer.name,
        ServiceOffer.category_id,
        ServiceOffer.billing_period,
        ServiceOffer.kind,
        price_in_force(now).label("price"),
    ]
    if sort == "newest":  # parsing thousands of timestamps costs as much as the rest
        columns.append(ServiceOffer.published_at)
    query = visible_offers(user, now, *columns, *extra)
    if where is not None:
        query = query.where(where)
    elif len(codes) <= in_limit:
        query = query.where(among(ServiceOffer.code, sorted(codes)))
    # Core, not the ORM: thousands of plain rows, and the ORM's row processing doubled the
    # time. Plain named tuples, too: reading a field of SQLAlchemy's Row by name costs about
    # 2 microseconds, and filters, facets and sorting read several fields of every row.
    result = db.session.connection().execute(query)
    make = _row_type(tuple(result.keys()))
    return {row.code: row for row in map(make, result.all())}


@functools.lru_cache(maxsize=32)
def _row_type(fields: tuple[str, ...]):
    return collections.namedtuple("CandidateRow", fields)._make


def among(column, values: list) -> sa.ColumnElement:
    """SQL: the column's value is one of `values`, bound as ONE parameter (a JSON array on
    SQLite, an array on PostgreSQL). IN (...) with thousands of parameters cost more to
    render and bind than the query took to run."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
    listed = sa.func.json_each(sa.bindparam(None, json.dumps(list(values)), type_=sa.String))
    return column.in_(sa.select(sa.literal_column("value")).select_from(listed))


def page_rows(now: datetime, ids: list[int], *extra) -> dict[int, Any]:
    if not ids:
        return {}
    query = (
        sa.select(*row_columns(price_in_force(now)), *extra)
        .outerjoin(Category, Category.id == ServiceOffer.category_id)
        .where(ServiceOffer.id.in_(ids))
    )
    return {row.id: row for row in db.session.execute(query)}


def article_visibility(user: User, now: datetime):
    """SQL: a published article the user may find. Catalog managers and support agents find
    every one; others find articles tied to no offer or to at least one offer they may see
    now, so an article never gives away a hidden, canary or scheduled offer."""
    published = KnowledgeArticle.status == ArticleStatus.PUBLISHED.value
    if can_manage_catalog(user) or user.has_role(Role.SUPPORT_AGENT):
        return published
    linked = sa.exists().where(offer_articles.c.article_id == KnowledgeArticle.id)
    linked_visible = sa.exists(
        sa.select(offer_articles.c.article_id)
        .select_from(
            offer_articles.join(ServiceOffer, ServiceOffer.code == offer_articles.c.offer_code)
        )
        .where(offer_articles.c.article_id == KnowledgeArticle.id, offer_visibility(user, now))
    )
    return sa.and_(published, sa.or_(~linked, linked_visible))


def findable_articles(user: User, now: datetime, ids: list[int]) -> set[int]:
    ids = sorted({article_id for article_id in ids if article_id is not None})
    if not ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(KnowledgeArticle.id).where(
                KnowledgeArticle.id.in_(ids), article_visibility(user, now)
            )
        )
    )
