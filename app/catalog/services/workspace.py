"""The catalog manager's workspace and the consumer home: lists, counts, suggestions,
history."""

from __future__ import annotations

import sqlalchemy as sa

from ... import clock
from ...accounts.models import User
from ...accounts.services import require_role
from ...audit import services as audit
from ...extensions import db
from ...i18n import _
from ..models import OfferKind, OfferSettings, OfferStatus, ServiceOffer, offer_audience
from .access import CATALOG_ROLES
from .categories import subtree_ids
from .listing import CARD_LOAD
from .visibility import visible_offers_query

SUGGESTION_LIMIT = 50


def offer_suggestions(
    actor: User, offer: ServiceOffer, *, for_bundle: bool = False, limit: int = SUGGESTION_LIMIT
) -> list[tuple[str, str]]:
    """(code, name) of published offers the editor suggests as `offer`'s replacement, or with
    `for_bundle` as a member to add (no bundles, none already in it). The same product's and
    category's come first, then by name; at most `limit`: the field takes any code typed, and
    a catalog of thousands is no list to scroll through."""
    require_role(actor, *CATALOG_ROLES, message=_("Only catalog managers edit offers."))
    query = sa.select(ServiceOffer.code, ServiceOffer.name).where(
        ServiceOffer.status == OfferStatus.PUBLISHED.value, ServiceOffer.code != offer.code
    )
    if for_bundle:
        query = query.where(
            ServiceOffer.kind != OfferKind.BUNDLE.value,
            ServiceOffer.code.not_in([member.member_code for member in offer.members]),
        )
    distance = sa.case((ServiceOffer.product_id == offer.product_id, 0), else_=1) + sa.case(
        (ServiceOffer.category_id == offer.category_id, 0), else_=1
    )
    rows = db.session.execute(
        query.order_by(distance, ServiceOffer.name, ServiceOffer.code).limit(limit)
    )
    return [(code, name) for code, name in rows]


def workspace_query(
    actor: User,
    *,
    status: str = "",
    category_id: int | None = None,
    group_id: int | None = None,
    search: str = "",
) -> sa.Select:
    """Every current revision (the one being edited, else the live one), with filters."""
    require_role(
        actor, *CATALOG_ROLES, message=_("Only catalog managers see the catalog workspace.")
    )
    query = sa.select(ServiceOffer).where(ServiceOffer.status != OfferStatus.SUPERSEDED.value)
    if status == "scheduled":
        query = query.where(
            ServiceOffer.status == OfferStatus.PUBLISHED.value,
            ServiceOffer.valid_from > clock.now(),
        )
    elif status:
        query = query.where(ServiceOffer.status == status)
    if category_id:
        query = query.where(ServiceOffer.category_id.in_(subtree_ids(category_id)))
    if group_id == -1:  # everyone: no audience rows, or a canary for everyone (pilots only)
        named_audience = sa.exists().where(
            offer_audience.c.offer_code == ServiceOffer.code,
            offer_audience.c.is_pilot.is_(False),
        )
        canary = sa.exists().where(
            OfferSettings.offer_code == ServiceOffer.code, OfferSettings.canary.is_(True)
        )
        any_audience = sa.exists().where(offer_audience.c.offer_code == ServiceOffer.code)
        query = query.where(sa.or_(~any_audience, sa.and_(canary, ~named_audience)))
    elif group_id:
        query = query.where(
            sa.exists().where(
                offer_audience.c.offer_code == ServiceOffer.code,
                offer_audience.c.group_id == group_id,
            )
        )
    if search:
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(ServiceOffer.name).like(pattern),
                sa.func.lower(ServiceOffer.code).like(pattern),
            )
        )
    return query.order_by(ServiceOffer.code, ServiceOffer.revision)


def status_counts(actor: User) -> dict[str, int]:
    require_role(
        actor, *CATALOG_ROLES, message=_("Only catalog managers see the catalog workspace.")
    )
    rows = db.session.execute(
        sa.select(ServiceOffer.status, sa.func.count(ServiceOffer.id)).group_by(ServiceOffer.status)
    ).all()
    counts = {status.value: 0 for status in OfferStatus}
    counts.update(dict(rows))
    counts["scheduled"] = (
        db.session.scalar(
            sa.select(sa.func.count(ServiceOffer.id)).where(
                ServiceOffer.status == OfferStatus.PUBLISHED.value,
                ServiceOffer.valid_from > clock.now(),
            )
        )
        or 0
    )
    return counts


def featured_and_new(user: User, limit: int = 6) -> tuple[list[ServiceOffer], list[ServiceOffer]]:
    """The consumer home: featured offers, and the newest published ones not featured already
    (an offer is shown once)."""
    base = visible_offers_query(user).options(*CARD_LOAD)
    featured = list(
        db.session.scalars(
            # A subquery, not a join: audience_clause's EXISTS on offer_settings would
            # otherwise correlate to the joined table and lose its FROM.
            base.where(
                ServiceOffer.code.in_(
                    sa.select(OfferSettings.offer_code).where(OfferSettings.featured.is_(True))
                )
            )
            .order_by(ServiceOffer.name)
            .limit(limit)
        )
    )
    newest = list(
        db.session.scalars(
            # Every published revision has a publication moment; saying so lets the plain
            # index on published_at serve the DESC order (NULLS LAST would not, on PostgreSQL).
            base.where(
                ServiceOffer.published_at.is_not(None),
                ServiceOffer.id.not_in([offer.id for offer in featured] or [-1]),
            )
            .order_by(ServiceOffer.published_at.desc(), ServiceOffer.id.desc())
            .limit(limit)
        )
    )
    return featured, newest


CODE_LEVEL_OBJECTS = ("offer_audience", "offer_articles", "offer_settings")


def offer_history(offer: ServiceOffer, limit: int = 200) -> list[audit.AuditEvent]:
    """The audit events of one revision and of what belongs to its code (audience, articles,
    featured flag, price changes), newest first."""
    return list(
        db.session.scalars(
            sa.select(audit.AuditEvent)
            .where(
                sa.or_(
                    sa.and_(
                        audit.AuditEvent.object_type == "offer",
                        audit.AuditEvent.object_id == str(offer.id),
                    ),
                    sa.and_(
                        audit.AuditEvent.object_type.in_(CODE_LEVEL_OBJECTS),
                        audit.AuditEvent.object_id == offer.code,
                    ),
                    # price changes are audited by their own id, with the code as summary
                    sa.and_(
                        audit.AuditEvent.object_type == "price_change",
                        audit.AuditEvent.summary == offer.code,
                    ),
                )
            )
            .order_by(audit.AuditEvent.occurred_at.desc(), audit.AuditEvent.id.desc())
            .limit(limit)
        )
    )
