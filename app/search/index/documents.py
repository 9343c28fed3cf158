"""The documents the index holds: one per live offer revision and one per published knowledge
article, built from what the database holds now."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ... import clock
from ...catalog.models import (
    LIVE_STATUSES,
    Category,
    OfferSettings,
    ServiceOffer,
    offer_audience,
)
from ...catalog.prices import price_in_force
from ...knowledge.models import ArticleStatus, KnowledgeArticle, offer_articles

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(^|\s)(?:#{1,6}|[*+-]|>|\d+\.)\s+|[*_`~|]+", re.MULTILINE)
# Every match of _MD_MARKS holds one of these characters or a digit before a full stop: most
# text has neither, and looking for them is quicker than trying _MD_MARKS at every position (a
# rebuild reduces 20,000 texts).
_MARK_CHARS = re.compile(r"[#*+>_`~|-]").search


def _may_have_marks(text: str) -> bool:
    if _MARK_CHARS(text):
        return True
    stop = text.find(".")
    while stop != -1:
        if stop and text[stop - 1].isdigit():  # isdigit: every \d and more
            return True
        stop = text.find(".", stop + 1)
    return False


def plain_text(text: str | None) -> str:
    """Markdown reduced to its words, for indexing and snippets (HTML is kept as text: the
    snippet renderer escapes it)."""
    text = _CONTROL.sub(" ", text or "")
    if "[" in text:
        text = _MD_LINK.sub(r"\1", text)
    if _may_have_marks(text):
        text = _MD_MARKS.sub(" ", text)
    # Runs of whitespace (str.isspace, which is what \s matches) as one space, none at the ends.
    return " ".join(text.split())


def _naive_utc(moment: datetime | None) -> datetime | None:
    """Whoosh DATETIME fields want naive datetimes: UTC without tzinfo."""
    moment = clock.as_utc(moment)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None


def _audiences(session: Session, codes: list[str]) -> dict[str, list[tuple[int, bool]]]:
    """Each code's (group id, is pilot) pairs."""
    audience: dict[str, list[tuple[int, bool]]] = {}
    for code, group_id, is_pilot in session.execute(
        sa.select(
            offer_audience.c.offer_code, offer_audience.c.group_id, offer_audience.c.is_pilot
        ).where(offer_audience.c.offer_code.in_(codes))
    ):
        audience.setdefault(code, []).append((group_id, bool(is_pilot)))
    return audience


# Read as plain rows (no ORM entities, no relationships loaded): a rebuild reads every offer.
_OFFER_COLUMNS = (
    ServiceOffer.id,
    ServiceOffer.code,
    ServiceOffer.revision,
    ServiceOffer.status,
    ServiceOffer.name,
    ServiceOffer.summary,
    ServiceOffer.description,
    ServiceOffer.category_id,
    ServiceOffer.kind,
    ServiceOffer.billing_period,
    ServiceOffer.currency,
    ServiceOffer.published_at,
    ServiceOffer.valid_from,
    ServiceOffer.valid_to,
    Category.name.label("category_name"),
)


def offer_documents(session: Session, codes: list[str]) -> dict[str, dict]:
    """The document of each code's live revision (codes without one are absent)."""
    now = clock.now()
    offers = session.execute(
        sa.select(*_OFFER_COLUMNS, price_in_force(now).label("price_now"))
        .outerjoin(Category, Category.id == ServiceOffer.category_id)
        .where(ServiceOffer.code.in_(codes), ServiceOffer.status.in_(LIVE_STATUSES))
    ).all()
    audience = _audiences(session, codes)
    canary = dict(
        session.execute(
            sa.select(OfferSettings.offer_code, OfferSettings.canary).where(
                OfferSettings.offer_code.in_(codes)
            )
        ).all()
    )
    documents = {}
    for offer in offers:
        documents[offer.code] = _offer_document(
            offer, audience.get(offer.code, []), bool(canary.get(offer.code, False))
        )
    return documents


def _offer_document(offer, groups: list[tuple[int, bool]], canary: bool) -> dict:
    """One offer row's document (`offer` has the columns of _OFFER_COLUMNS and price_now)."""
    document = {
        "key": f"offer:{offer.code}",
        "type": "offer",
        "code": offer.code,
        "offer_id": offer.id,
        "revision": offer.revision,
        "status": offer.status,
        "name": offer.name,
        "code_words": offer.code.replace("-", " ").replace("_", " "),
        "summary": plain_text(offer.summary),
        "description": plain_text(offer.description),
        "category": offer.category_name or "",
        "kind": offer.kind,
        "billing": offer.billing_period,
        "currency": offer.currency,
        "group_ids": ",".join(str(group_id) for group_id, _ in groups),
        "pilot_group_ids": ",".join(str(group_id) for group_id, pilot in groups if pilot),
        "canary": canary,
    }
    optional = {
        "category_id": offer.category_id,
        "price": offer.price_now,
        "published_at": _naive_utc(offer.published_at),
        "valid_from": _naive_utc(offer.valid_from),
        "valid_to": _naive_utc(offer.valid_to),
    }
    document.update({name: value for name, value in optional.items() if value is not None})
    return document


def article_documents(session: Session, ids: list[int]) -> dict[int, dict]:
    """The document of each published article (unpublished or deleted ones are absent)."""
    articles = session.scalars(
        sa.select(KnowledgeArticle).where(
            KnowledgeArticle.id.in_(ids), KnowledgeArticle.status == ArticleStatus.PUBLISHED.value
        )
    ).all()
    codes: dict[int, list[str]] = {}
    for article_id, code in session.execute(
        sa.select(offer_articles.c.article_id, offer_articles.c.offer_code)
        .where(offer_articles.c.article_id.in_(ids))
        .order_by(offer_articles.c.offer_code)
    ):
        codes.setdefault(article_id, []).append(code)
    documents = {}
    for article in articles:
        document = {
            "key": f"article:{article.id}",
            "type": "article",
            "article_id": article.id,
            "name": article.title,
            "description": plain_text(article.body),
            "code_words": " ".join(
                code.replace("-", " ").replace("_", " ") for code in codes.get(article.id, [])
            ),
            "offer_codes": " ".join(codes.get(article.id, [])),
        }
        if article.updated_at is not None:
            document["updated_at"] = _naive_utc(article.updated_at)
        documents[article.id] = document
    return documents
