"""The support request as an aggregate: which requests a user sees (one by id, their groups'
list, one by idempotency key), the subscriptions a consumer may ask for support on, and the
optimistic lock of requests and incidents (app/versioning.py: a form sent from an older version
is refused; of two updates of one version only the first is written)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ... import versioning
from ...accounts.models import Role, User
from ...errors import NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ...inputs import whole_number
from ...subscriptions.models import Subscription, SubscriptionStatus
from ..models import Incident, SupportRequest
from .agents import is_agent, require_actor


def request_for(user: User, request_id: int) -> SupportRequest:
    require_actor(user)
    request = get_by_id(SupportRequest, request_id)
    if request is None or not (
        is_agent(user) or user.has_role(Role.PRODUCT_MANAGER) or request.group_id in user.group_ids
    ):
        raise NotFound(_("No such support request."))
    return request


def is_requester(user: User, request: SupportRequest) -> bool:
    """Whether `user` opened the request as a consumer. The rule across a group: colleagues in
    the request's group see it and may add to its thread (they share the subscription), but
    only the requester makes the consumer's moves (answering, accepting the resolution,
    reopening) and rates the support, besides the agents."""
    return request.requester_id == user.id and user.has_role(Role.CONSUMER)


def my_requests_query(user: User, *, status: str = "", whose: str = "mine") -> sa.Select:
    """The requests the user opened; with whose="group", those of all the user's groups."""
    require_actor(user)
    if whose == "group":
        query = sa.select(SupportRequest).where(
            SupportRequest.group_id.in_(sorted(user.group_ids) or [-1])
        )
    else:
        query = sa.select(SupportRequest).where(SupportRequest.requester_id == user.id)
    if status:
        query = query.where(SupportRequest.status == status)
    return query.options(
        selectinload(SupportRequest.assignee), selectinload(SupportRequest.requester)
    ).order_by(SupportRequest.created_at.desc(), SupportRequest.id.desc())


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
    require_actor(user)
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


def check_version(row: SupportRequest | Incident, expected_version: Any) -> None:
    """Refuse a change sent from an older version of a request or incident than the saved one
    (409, who changed what since); a version that is not a whole number is a field error."""
    if expected_version in (None, ""):
        return
    if whole_number(expected_version) is None:
        raise ValidationFailed(
            _("The form's version is not valid; reload the page."),
            fields={"version": [_("Reload the page.")]},
        )
    versioning.check_version(row, expected_version, **_names(row))


def flush_versioned(row: SupportRequest | Incident) -> None:
    """Write the row's change now: if another writer saved the version this one read, refuse
    (409, who changed what) before anything else of this change is written."""
    versioning.flush_versioned(row, **_names(row))


def _names(row: SupportRequest | Incident) -> dict:
    if isinstance(row, Incident):
        return {"noun": "incident", "object_type": "incident"}
    return {"noun": "request", "object_type": "support_request"}


def group_requests(actor: User, group_id: int, *, limit: int = 20) -> list[SupportRequest]:
    """The group's newest support requests, for those who oversee the group (its managers,
    admins, staff); NotFound for anyone else."""
    from ...subscriptions.services.group_view import overseen_group

    group = overseen_group(actor, group_id)
    return list(
        db.session.scalars(
            sa.select(SupportRequest)
            .where(SupportRequest.group_id == group.id)
            .options(selectinload(SupportRequest.requester))
            .order_by(SupportRequest.created_at.desc(), SupportRequest.id.desc())
            .limit(limit)
        )
    )
