"""Which articles help with which offers: the links, and the offers a link or a filter may name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ... import validation as check
from ...accounts.models import User
from ...accounts.services import require_role
from ...audit import services as audit
from ...catalog.models import LIVE_STATUSES, DigitalProduct, ServiceOffer
from ...errors import NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _
from ...inputs import search_text, whole_number
from .. import signals
from ..models import ArticleStatus, KnowledgeArticle, offer_articles
from .articles import (
    WRITER_ROLES,
    clean_text,
    is_knowledge_staff,
    readable_offer_codes,
    save_article,
)

ARTICLE_CHOICES = 50
OFFER_MATCHES = 20


def articles_of(code: str, *, published_only: bool = False) -> list[KnowledgeArticle]:
    query = (
        sa.select(KnowledgeArticle)
        .join(offer_articles, offer_articles.c.article_id == KnowledgeArticle.id)
        .where(offer_articles.c.offer_code == code)
        .order_by(KnowledgeArticle.title)
    )
    if published_only:
        query = query.where(KnowledgeArticle.status == ArticleStatus.PUBLISHED.value)
    return list(db.session.scalars(query))


def article_offer_codes(article_id: int) -> list[str]:
    return sorted(
        db.session.scalars(
            sa.select(offer_articles.c.offer_code).where(offer_articles.c.article_id == article_id)
        )
    )


def offers_of_articles(article_ids: list[int]) -> dict[int, list[str]]:
    linked: dict[int, list[str]] = {article_id: [] for article_id in article_ids}
    if article_ids:
        rows = db.session.execute(
            sa.select(offer_articles.c.article_id, offer_articles.c.offer_code)
            .where(offer_articles.c.article_id.in_(article_ids))
            .order_by(offer_articles.c.offer_code)
        )
        for article_id, code in rows:
            linked[article_id].append(code)
    return linked


def link_articles(actor: User | None, code: str, article_ids: Iterable[int]) -> None:
    """The offer's articles become exactly `article_ids` (for every revision of the code)."""
    require_role(
        actor, *WRITER_ROLES, message=_("Only catalog managers and support agents link articles.")
    )
    any_revision = sa.select(ServiceOffer.id).where(ServiceOffer.code == code).limit(1)
    if db.session.scalar(any_revision) is None:
        raise NotFound(_("No such offer."))
    ids = set(article_ids)
    found = (
        set(db.session.scalars(sa.select(KnowledgeArticle.id).where(KnowledgeArticle.id.in_(ids))))
        if ids
        else set()
    )
    if ids - found:
        raise ValidationFailed(
            _("Unknown article."), fields={"article_ids": [_("Choose existing articles.")]}
        )
    before = sorted(a.id for a in articles_of(code))
    db.session.execute(sa.delete(offer_articles).where(offer_articles.c.offer_code == code))
    if ids:
        db.session.execute(
            sa.insert(offer_articles),
            [{"offer_code": code, "article_id": aid} for aid in sorted(ids)],
        )
    audit.record(
        actor,
        "offer_articles",
        code,
        "articles_changed",
        changes=audit.diff({"articles": before}, {"articles": sorted(ids)}),
    )
    db.session.flush()
    signals.articles_linked.send(code, before=before, after=sorted(ids))


def write_article_for_offer(actor: User, code: str, *, title: str, body: str) -> KnowledgeArticle:
    """A new published article, linked to the offer next to its other articles, in one
    transaction (nothing is saved when either part is refused)."""
    article = save_article(actor, title=title, body=body)
    linked = [existing.id for existing in articles_of(code)]
    link_articles(actor, code, [*linked, article.id])
    return article


def article_choices(
    offer: ServiceOffer, *, matching: str = "", limit: int | None = None
) -> list[KnowledgeArticle]:
    """The articles the editor offers to link: every one already linked, then at most `limit`
    others, those of the offer's product first, whose title holds `matching`. A catalog needs
    an article per offer, so listing them all would grow with the catalog."""
    linked = articles_of(offer.code)
    others = sa.select(KnowledgeArticle).where(
        KnowledgeArticle.id.not_in([article.id for article in linked])
    )
    text = search_text(matching)
    if text:
        others = others.where(KnowledgeArticle.title.icontains(text, autoescape=True))
    same_product = sa.case((KnowledgeArticle.product_id == offer.product_id, 0), else_=1)
    others = others.order_by(same_product, KnowledgeArticle.title, KnowledgeArticle.id)
    return linked + list(db.session.scalars(others.limit(limit or ARTICLE_CHOICES)))


def _checked_links(
    errors: check.Errors, offer_codes: Any, product_id: Any
) -> tuple[set, int | None]:
    """The offer codes and the product an article form names, each problem a field message."""
    codes = {
        clean_text(str(code)).strip().upper() for code in (offer_codes or []) if str(code).strip()
    }
    unknown = (
        codes
        - set(db.session.scalars(sa.select(ServiceOffer.code).where(ServiceOffer.code.in_(codes))))
        if codes
        else set()
    )
    if unknown:
        check.add(
            errors, "offer_codes", _("Unknown offer: %(names)s.", names=", ".join(sorted(unknown)))
        )
    product: int | None = None
    if product_id not in (None, ""):
        number = whole_number(product_id)
        if number and db.session.get(DigitalProduct, number) is not None:
            product = number
        else:
            check.add(errors, "product_id", _("Choose a digital product from the list."))
    return codes, product


def save_article_with_offers(
    actor: User,
    *,
    title: Any,
    body: Any,
    status: Any,
    product_id: Any = None,
    offer_codes: Any = (),
    article_id: int | None = None,
    expected_version: Any = None,
) -> KnowledgeArticle:
    """Write an article (save_article) and tie it to offers and a product, in one transaction;
    `expected_version` is the version the writer opened (the optimistic lock)."""
    require_role(
        actor, *WRITER_ROLES, message=_("Only catalog managers and support agents write articles.")
    )
    errors: check.Errors = {}
    codes, product = _checked_links(errors, offer_codes, product_id)
    # The article and its links are saved together or not at all: a refused link undoes it.
    savepoint = db.session.begin_nested()
    try:
        article = save_article(
            actor,
            title=clean_text(title),
            body=clean_text(body),
            status=clean_text(status) if isinstance(status, str) else "",
            product_id=product,
            article_id=article_id,
            expected_version=expected_version,
        )
    except ValidationFailed as error:
        for field, messages in error.fields.items():
            for message in messages:
                check.add(errors, field, message)
        article = None
    if errors or article is None:
        savepoint.rollback()
        raise ValidationFailed(_("The article could not be saved."), fields=errors)
    savepoint.commit()
    before = set(article_offer_codes(article.id))
    for code in sorted(codes ^ before):
        ids = {linked.id for linked in articles_of(code)}
        ids = ids | {article.id} if code in codes else ids - {article.id}
        link_articles(actor, code, ids)
    db.session.flush()
    return article


def offer_choices(
    user: User | None = None,
    *,
    codes: Iterable[str] | None = None,
    matching: str = "",
    limit: int | None = None,
) -> list[tuple[str, str]]:
    """(code, name) of the offers a filter or a link may name. Staff (or no user): every code,
    named after its newest revision; others: offers they may see or consume, named after the
    newest live revision, so no draft or hidden offer is given away. `codes` names only those;
    `matching` keeps codes and names containing the text, codes starting with it first."""
    candidates = sa.select(ServiceOffer.code, sa.func.max(ServiceOffer.revision).label("revision"))
    if user is not None and not is_knowledge_staff(user):
        candidates = candidates.where(
            ServiceOffer.status.in_(LIVE_STATUSES),
            ServiceOffer.code.in_(readable_offer_codes(user)),
        )
    if codes is not None:
        candidates = candidates.where(ServiceOffer.code.in_(sorted({clean_text(c) for c in codes})))
    newest = candidates.group_by(ServiceOffer.code).subquery()
    query = sa.select(ServiceOffer.code, ServiceOffer.name).join(
        newest,
        sa.and_(newest.c.code == ServiceOffer.code, newest.c.revision == ServiceOffer.revision),
    )
    order = [ServiceOffer.name, ServiceOffer.code]
    text = search_text(matching)
    if text:
        query = query.where(
            sa.or_(
                ServiceOffer.code.icontains(text, autoescape=True),
                ServiceOffer.name.icontains(text, autoescape=True),
            )
        )
        order.insert(0, sa.case((ServiceOffer.code.istartswith(text, autoescape=True), 0), else_=1))
    rows = db.session.execute(query.order_by(*order).limit(limit)).all()
    return [(code, name) for code, name in rows]
