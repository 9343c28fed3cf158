"""Feedback to development: backlog items (defects and features) raised from support requests
for a digital product's team, each counting the requests it came from."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ... import clock
from ... import validation as check
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...catalog.models import DigitalProduct
from ...errors import ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _, _l
from ...notifications.models import NotificationKind
from ...notifications.services import notify
from ..models import BacklogItem, BacklogStatus, SupportRequest, backlog_item_requests
from .products import chosen_product, products
from .requests import request_for
from .text import typed_text


def raise_backlog_item(
    actor: User,
    request_id: int | None,
    *,
    product_id: Any,
    kind: Any,
    title: Any,
    description: Any = "",
) -> BacklogItem:
    require_role(
        actor,
        Role.SUPPORT_AGENT,
        Role.PRODUCT_MANAGER,
        message=_("Agents and product managers raise backlog items."),
    )
    request = request_for(actor, request_id) if request_id else None
    errors: check.Errors = {}
    product = chosen_product(errors, product_id)
    kind = check.choice(errors, "kind", kind, ["defect", "feature"], "kind")
    title = typed_text(errors, "title", title, required=True, max_length=200)
    description = typed_text(errors, "description", description, max_length=20_000)
    if errors:
        raise ValidationFailed(_("The backlog item could not be raised."), fields=errors)
    item = BacklogItem(
        product_id=product.id,
        kind=kind,
        title=title,
        description=description,
        status=BacklogStatus.NEW.value,
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    if request is not None:
        item.source_requests = [request]
    db.session.add(item)
    db.session.flush()
    audit.record(
        actor,
        "backlog_item",
        item.id,
        "raised",
        summary=f"from request {request.id}" if request else title,
    )
    owner = product.owner
    if owner is not None:
        notify(
            [owner],
            _l("New %(kind)s for %(name)s", kind=kind, name=product.name),
            title,
            "/support/backlog",
            kind=NotificationKind.SUPPORT_REPLIES,
        )
    return item


def backlog_query(actor: User, *, product_id: int | None = None) -> sa.Select:
    require_role(
        actor,
        Role.PRODUCT_MANAGER,
        Role.SUPPORT_AGENT,
        message=_("Only product managers and agents see the backlog."),
    )
    query = sa.select(BacklogItem).options(selectinload(BacklogItem.source_requests))
    if product_id:
        query = query.where(BacklogItem.product_id == product_id)
    return query.order_by(BacklogItem.created_at.desc())


def backlog_items(actor: User, *, product_id: int | None = None) -> list[BacklogItem]:
    return list(db.session.scalars(backlog_query(actor, product_id=product_id)))


def backlog_counts(actor: User) -> list[tuple[DigitalProduct, int, int, int]]:
    """(product, defects, features, source requests) per product, in one query."""
    require_role(
        actor,
        Role.PRODUCT_MANAGER,
        Role.SUPPORT_AGENT,
        message=_("Only product managers and agents see the backlog."),
    )
    sources = (
        sa.select(backlog_item_requests.c.backlog_item_id, sa.func.count().label("n"))
        .group_by(backlog_item_requests.c.backlog_item_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            DigitalProduct,
            sa.func.sum(sa.case((BacklogItem.kind == "defect", 1), else_=0)),
            sa.func.sum(sa.case((BacklogItem.kind == "feature", 1), else_=0)),
            sa.func.coalesce(sa.func.sum(sources.c.n), 0),
        )
        .join(BacklogItem, BacklogItem.product_id == DigitalProduct.id)
        .outerjoin(sources, sources.c.backlog_item_id == BacklogItem.id)
        .group_by(DigitalProduct.id)
        .order_by(DigitalProduct.name)
    ).all()
    return [
        (product, int(defects or 0), int(features or 0), int(requests or 0))
        for product, defects, features, requests in rows
    ]


def link_backlog_item(actor: User, item_id: Any, request_id: int) -> BacklogItem:
    """Add a request as one more source of an existing backlog item (the count grows)."""
    require_role(
        actor,
        Role.SUPPORT_AGENT,
        Role.PRODUCT_MANAGER,
        message=_("Agents and product managers link backlog items."),
    )
    request = request_for(actor, request_id)
    item = get_by_id(BacklogItem, item_id)
    if item is None:
        raise ValidationFailed(
            _("Choose an existing backlog item."),
            fields={"item_id": [_("Choose an existing backlog item.")]},
        )
    if any(source.id == request.id for source in item.source_requests):
        raise ValidationFailed(
            _(
                "Request %(id)s is already a source of backlog item %(id2)s.",
                id=request.id,
                id2=item.id,
            ),
            fields={"item_id": [_("Already linked to this request.")]},
        )
    item.source_requests.append(request)
    audit.record(actor, "backlog_item", item.id, "linked", summary=f"request {request.id}")
    db.session.flush()
    return item


def backlog_items_of(request: SupportRequest) -> list[BacklogItem]:
    return list(
        db.session.scalars(
            sa.select(BacklogItem)
            .join(backlog_item_requests, backlog_item_requests.c.backlog_item_id == BacklogItem.id)
            .where(backlog_item_requests.c.request_id == request.id)
            .order_by(BacklogItem.id)
        )
    )


def open_backlog_items(product_id: int | None = None) -> list[BacklogItem]:
    query = sa.select(BacklogItem).where(BacklogItem.status != BacklogStatus.DONE)
    if product_id:
        query = query.where(BacklogItem.product_id == product_id)
    return list(db.session.scalars(query.order_by(BacklogItem.id.desc()).limit(100)))


def backlog_export_rows(actor: User, *, product_id: int | None = None) -> list[list]:
    """One CSV row per backlog item: product, kind, title, status, source requests and their count."""
    items = backlog_items(actor, product_id=product_id)
    names = {product.id: product.name for product in products()}
    return [
        [
            names.get(item.product_id, ""),
            item.kind,
            item.title,
            item.status,
            item.created_at.strftime("%Y-%m-%d"),
            " ".join(str(source.id) for source in item.source_requests),
            len(item.source_requests),
        ]
        for item in items
    ]
