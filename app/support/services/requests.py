"""The support request as an aggregate: which requests a user sees (one by id, their groups'
list, one by idempotency key), the subscriptions a consumer may ask for support on, and the
optimistic guard (a form sent from an older version is refused; two updates of one version
cannot both win)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ...accounts.models import Role, User
from ...errors import Conflict, NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...subscriptions.models import Subscription, SubscriptionStatus
from ..models import SupportRequest
from .agents import is_agent


def request_for(user: User, request_id: int) -> SupportRequest:
    request = get_by_id(SupportRequest, request_id)
    if request is None or not (
        is_agent(user) or user.has_role(Role.PRODUCT_MANAGER) or request.group_id in user.group_ids
    ):
        raise NotFound("No such support request.")
    return request


def my_requests_query(user: User, *, status: str = "") -> sa.Select:
    query = sa.select(SupportRequest).where(
        SupportRequest.group_id.in_(sorted(user.group_ids) or [-1])
    )
    if status:
        query = query.where(SupportRequest.status == status)
    return query.options(selectinload(SupportRequest.assignee)).order_by(
        SupportRequest.created_at.desc(), SupportRequest.id.desc()
    )


def request_by_key(actor: User, key: str | None) -> SupportRequest | None:
    """The request `actor` already opened with this idempotency key, if any."""
    if key is None:
        return None
    return db.session.scalar(
        sa.select(SupportRequest).where(
            SupportRequest.requester_id == actor.id, SupportRequest.idempotency_key == key
        )
    )


def requestable_subscriptions(user: User) -> list[Subscription]:
    """The subscriptions this consumer may ask for support on: its groups', not terminated."""
    if not user.has_role(Role.CONSUMER) or not user.group_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Subscription)
            .where(
                Subscription.group_id.in_(sorted(user.group_ids)),
                Subscription.status != SubscriptionStatus.TERMINATED.value,
            )
            .order_by(Subscription.created_at.desc(), Subscription.id.desc())
        )
    )


def subscriptions_of(requests: list[SupportRequest]) -> dict[int, Subscription]:
    """The subscriptions (with their offers) behind a page of requests, in one query."""
    ids = sorted({request.subscription_id for request in requests})
    if not ids:
        return {}
    return {
        subscription.id: subscription
        for subscription in db.session.scalars(
            sa.select(Subscription).where(Subscription.id.in_(ids))
        )
    }


def check_version(request: SupportRequest, expected_version: Any) -> None:
    if expected_version in (None, ""):
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise ValidationFailed(
            "The form's version is not valid; reload the request.",
            fields={"version": ["Reload the request."]},
        ) from None
    if expected != request.version:
        raise Conflict(
            "Someone else updated this request while you were working on it (now version "
            f"{request.version}). Reload to see their change; your text is kept below.",
            fields={"version": [f"Stale: now version {request.version}."]},
        )


def bump(request: SupportRequest) -> None:
    """Guarded version bump: a concurrent update of the same version makes this one fail."""
    result = db.session.execute(
        sa.update(SupportRequest)
        .where(SupportRequest.id == request.id, SupportRequest.version == request.version)
        .values(version=SupportRequest.version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(
            "Someone else updated this request at the same moment; reload and try again.",
            fields={"version": ["The request changed."]},
        )
    request.version += 1
