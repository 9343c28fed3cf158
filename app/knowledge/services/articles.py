"""Knowledge articles: who may read which, finding them, and writing them."""

from __future__ import annotations

import html
from typing import Any

import nh3
import sqlalchemy as sa

from ... import clock, versioning
from ... import validation as check
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...catalog.models import DigitalProduct
from ...errors import NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ...inputs import CONTROL_CHARACTERS
from ...markdown import render_markdown
from ...subscriptions.models import Subscription
from .. import signals
from ..models import ArticleStatus, KnowledgeArticle, offer_articles
from ..states import ARTICLE

WRITER_ROLES = (Role.CATALOG_MANAGER, Role.SUPPORT_AGENT)


def clean_text(value: Any) -> Any:
    """Control characters (NUL above all, which PostgreSQL refuses) removed from typed text."""
    return CONTROL_CHARACTERS.sub("", value) if isinstance(value, str) else value


def is_knowledge_staff(user: User) -> bool:
    return user.has_role(Role.SUPPORT_AGENT, Role.CATALOG_MANAGER, Role.PRODUCT_MANAGER)


def can_write_articles(user: User) -> bool:
    return user.has_role(*WRITER_ROLES)


def readable_offer_codes(user: User) -> sa.Select:
    """Offer codes whose knowledge a reader may see: offers visible to them now, and offers their
    groups subscribe to (knowledge of what they consume stays readable)."""
    # imported here: the catalog's services use this domain to list an offer's articles
    from ...catalog import services as catalog
    from ...catalog.models import ServiceOffer

    visible = catalog.visible_offers_query(user).with_only_columns(ServiceOffer.code)
    subscribed = sa.select(Subscription.offer_code).where(
        Subscription.group_id.in_(sorted(user.group_ids) or [-1])
    )
    return sa.union(visible, subscribed)


def readable_articles_clause(user: User):
    """SQL: an article this user may read. Staff read every one, drafts included; others read
    published articles tied to no offer or to an offer they may see or consume, so an article
    never gives away a hidden, canary or scheduled offer."""
    if is_knowledge_staff(user):
        return sa.true()
    linked = sa.exists().where(offer_articles.c.article_id == KnowledgeArticle.id)
    readable = sa.exists().where(
        offer_articles.c.article_id == KnowledgeArticle.id,
        offer_articles.c.offer_code.in_(readable_offer_codes(user)),
    )
    return sa.and_(KnowledgeArticle.status == ArticleStatus.PUBLISHED, sa.or_(~linked, readable))


def article_for(user: User, article_id: int) -> KnowledgeArticle:
    article = get_by_id(KnowledgeArticle, article_id)
    if article is None or not db.session.scalar(
        sa.select(sa.func.count(KnowledgeArticle.id)).where(
            KnowledgeArticle.id == article.id, readable_articles_clause(user)
        )
    ):
        raise NotFound(_("No such article."))
    return article


def count_view(user: User, article_id: int) -> None:
    """One more reading of an article this user may read. The article page reports it with a
    POST once it is shown, so that reading the page (a GET) changes nothing."""
    article = article_for(user, article_id)
    db.session.execute(
        sa.update(KnowledgeArticle)
        .where(KnowledgeArticle.id == article.id)
        .values(views=KnowledgeArticle.views + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(article, ["views"])  # the next read sees the database's count


def like_pattern(text: str) -> str:
    """%text% for LIKE, with the user's own % and _ taken literally."""
    cleaned = (
        clean_text(text)
        .strip()
        .lower()[:200]
        .replace("\\", "\\\\")
        .replace("%", "\\%")
        .replace("_", "\\_")
    )
    return f"%{cleaned}%"


def articles_query(
    user: User, *, product_id: int | None = None, offer_code: str = "", search: str = ""
) -> sa.Select:
    query = sa.select(KnowledgeArticle).where(readable_articles_clause(user))
    offer_code = clean_text(offer_code or "").strip().upper()
    if product_id:
        query = query.where(KnowledgeArticle.product_id == product_id)
    if offer_code:
        query = query.where(
            KnowledgeArticle.id.in_(
                sa.select(offer_articles.c.article_id).where(
                    offer_articles.c.offer_code == offer_code
                )
            )
        )
    if search and search.strip():
        pattern = like_pattern(search)
        query = query.where(
            sa.or_(
                sa.func.lower(KnowledgeArticle.title).like(pattern, escape="\\"),
                sa.func.lower(KnowledgeArticle.body).like(pattern, escape="\\"),
            )
        )
    return query.order_by(KnowledgeArticle.title, KnowledgeArticle.id)


def search_articles(
    user: User,
    text: str = "",
    *,
    product_id: int | None = None,
    offer_code: str = "",
    published_only: bool = False,
) -> sa.Select:
    """Articles matching the text, as this user may see them (published only for readers)."""
    query = articles_query(user, product_id=product_id, offer_code=offer_code, search=text or "")
    if published_only:
        query = query.where(KnowledgeArticle.status == ArticleStatus.PUBLISHED)
    return query


def list_articles() -> list[KnowledgeArticle]:
    return list(db.session.scalars(sa.select(KnowledgeArticle).order_by(KnowledgeArticle.title)))


def products() -> list[DigitalProduct]:
    """The digital products an article may be about."""
    return list(db.session.scalars(sa.select(DigitalProduct).order_by(DigitalProduct.name)))


def article_excerpt(body: str, length: int = 160) -> str:
    """The article's first words as plain text (Markdown and tags removed)."""
    text = " ".join(html.unescape(nh3.clean(str(render_markdown(body)), tags=set())).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _announce(article: KnowledgeArticle, status_before: str | None) -> None:
    db.session.flush()
    signals.article_changed.send(article)
    if article.status == ArticleStatus.PUBLISHED and status_before != article.status:
        signals.article_published.send(article)


def save_article(
    actor: User | None,
    *,
    title: str,
    body: str,
    status: str = ArticleStatus.PUBLISHED,
    product_id: int | None = None,
    article_id: int | None = None,
    expected_version: Any = None,
) -> KnowledgeArticle:
    """Create or change a titled Markdown article (links to offers: links.py). A change based on
    an older `expected_version` than the saved one is refused with who changed what."""
    require_role(
        actor, *WRITER_ROLES, message=_("Only catalog managers and support agents write articles.")
    )
    errors: check.Errors = {}
    title = check.text(errors, "title", title, required=True, max_length=200)
    body = check.text(errors, "body", body, required=True, max_length=100_000)
    status = check.choice(errors, "status", str(status), [s.value for s in ArticleStatus], "status")
    if product_id is not None and get_by_id(DigitalProduct, product_id) is None:
        check.add(errors, "product_id", _("Choose from the list."))
    if errors:
        raise ValidationFailed(_("The article could not be saved."), fields=errors)
    if article_id is None:
        article = KnowledgeArticle(
            title=title,
            body=body,
            status=status,
            product_id=product_id,
            author_id=actor.id,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        db.session.add(article)
        db.session.flush()
        changes = {"version": {"before": None, "after": article.version}}
        audit.record(actor, "article", article.id, "created", changes=changes, summary=title)
        _announce(article, None)
        return article
    return _change_article(
        actor,
        article_id,
        expected_version,
        title=title,
        body=body,
        status=status,
        product_id=product_id,
    )


def _change_article(
    actor: User, article_id: int, expected_version: Any, **wanted: Any
) -> KnowledgeArticle:
    article = get_by_id(KnowledgeArticle, article_id)
    if article is None:
        raise NotFound(_("No such article."))
    lock = {"noun": "article", "object_type": "article", "refusal": versioning.stale_edit}
    versioning.check_version(article, expected_version, **lock)
    before = {field: getattr(article, field) for field in wanted}
    status_before = article.status
    changes = audit.diff(before, wanted)
    if changes:
        changes.update(versioning.version_change(article))
        if wanted["status"] != article.status:
            ARTICLE.move(article, wanted["status"])
        article.title, article.body = wanted["title"], wanted["body"]
        article.product_id = wanted["product_id"]
        article.updated_at = clock.now()
    audit.record(actor, "article", article.id, "updated", changes=changes)
    versioning.flush_versioned(article, **lock)
    if changes:
        _announce(article, status_before)
    return article
