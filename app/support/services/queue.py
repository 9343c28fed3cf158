"""The agents' queue: open requests at a tier, soonest due first, with their filters;
assignment to an agent of the request's tier or above; escalation to the next tier."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ... import clock
from ... import validation as check
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...catalog.models import ServiceOffer
from ...errors import InvalidTransition, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _, _l
from ...notifications.models import NotificationKind
from ...notifications.services import notify
from ...subscriptions.models import Subscription
from ...versioning import version_change
from .. import signals
from ..models import RequestMessage, RequestStatus, SupportRequest
from ..states import REQUESTS
from .agents import tier_agents
from .requests import check_version, flush_versioned, request_for
from .text import clean_text, typed_text

R = RequestStatus


def queue_query(
    actor: User,
    *,
    tier: int | None = None,
    status: str = "",
    priority: str = "",
    offer_code: str = "",
    product_id: int | None = None,
    assignee: str = "",
    breached: bool = False,
) -> sa.Select:
    """The agent's queue: open requests at a tier (the agent's own by default), soonest due first."""
    require_role(
        actor, Role.SUPPORT_AGENT, message=_("Only support agents work the support queue.")
    )
    query = sa.select(SupportRequest).join(
        Subscription, Subscription.id == SupportRequest.subscription_id
    )
    query = query.where(SupportRequest.tier == (tier or actor.support_tier or 1))
    query = (
        query.where(SupportRequest.status == status)
        if status
        else query.where(SupportRequest.status != R.CLOSED)
    )
    if priority:
        query = query.where(SupportRequest.priority == priority)
    if offer_code:
        query = query.where(Subscription.offer_code == clean_text(offer_code).strip().upper())
    if product_id:
        query = query.where(
            Subscription.offer_id.in_(
                sa.select(ServiceOffer.id).where(ServiceOffer.product_id == product_id)
            )
        )
    if assignee == "me":
        query = query.where(SupportRequest.assignee_id == actor.id)
    elif assignee == "none":
        query = query.where(SupportRequest.assignee_id.is_(None))
    if breached:
        query = query.where(
            sa.or_(
                SupportRequest.response_breached_at.is_not(None),
                SupportRequest.resolution_breached_at.is_not(None),
            )
        )
    due = sa.func.coalesce(
        sa.case(
            (SupportRequest.first_response_at.is_(None), SupportRequest.first_response_due),
            else_=None,
        ),
        SupportRequest.resolution_due,
    )
    return query.options(
        selectinload(SupportRequest.assignee), selectinload(SupportRequest.requester)
    ).order_by(due.is_(None), due, SupportRequest.id)


def assign(
    actor: User, request_id: int, assignee_id: Any, *, expected_version: Any = None
) -> SupportRequest:
    require_role(actor, Role.SUPPORT_AGENT, message=_("Only support agents assign requests."))
    request = request_for(actor, request_id)
    check_version(request, expected_version)
    if request.status == R.CLOSED:
        raise InvalidTransition(
            _("This request is closed; it cannot be assigned."),
            fields={"assignee_id": [_("The request is closed.")]},
        )
    assignee = get_by_id(User, assignee_id)
    if assignee is None or not assignee.has_role(Role.SUPPORT_AGENT) or not assignee.active:
        raise ValidationFailed(
            _("Choose an active support agent."),
            fields={"assignee_id": [_("Choose an active support agent.")]},
        )
    if (assignee.support_tier or 1) < request.tier:
        raise ValidationFailed(
            _(
                "This request is at tier %(tier)s; choose an agent of that tier or above.",
                tier=request.tier,
            ),
            fields={"assignee_id": [_("Needs tier %(tier)s or above.", tier=request.tier)]},
        )
    changes = {
        "assignee_id": {"before": request.assignee_id, "after": assignee.id},
        **version_change(request),
    }
    request.assignee_id = assignee.id
    if request.status == R.NEW:
        changes["status"] = {"before": R.NEW.value, "after": R.IN_PROGRESS.value}
        REQUESTS.move(request, R.IN_PROGRESS)
    flush_versioned(request)
    audit.record(actor, "support_request", request.id, "assigned", changes=changes)
    if assignee.id != actor.id:
        notify(
            [assignee],
            _l("Assigned to you: request %(id)s", id=request.id),
            request.subject,
            f"/support/requests/{request.id}",
            kind=NotificationKind.SUPPORT_REPLIES,
        )
    return request


def escalate(
    actor: User, request_id: int, reason: Any, *, expected_version: Any = None
) -> SupportRequest:
    """Hand the request to the next tier with a reason (kept as an internal note)."""
    require_role(actor, Role.SUPPORT_AGENT, message=_("Only support agents escalate requests."))
    request = request_for(actor, request_id)
    check_version(request, expected_version)
    errors: check.Errors = {}
    reason = typed_text(errors, "reason", reason, required=True, max_length=5000)
    if request.tier >= 3:
        check.add(
            errors,
            "tier",
            _(
                "Tier 3 (development) is the last tier; raise an incident or a backlog item instead."
            ),
        )
    if request.status in (R.RESOLVED, R.CLOSED):
        check.add(errors, "status", _("Reopen the request before escalating it."))
    if errors:
        raise ValidationFailed(_("The request could not be escalated."), fields=errors)
    changes = {
        "tier": {"before": request.tier, "after": request.tier + 1},
        **version_change(request),
    }
    request.tier += 1
    request.assignee_id = None
    flush_versioned(request)
    db.session.add(
        RequestMessage(
            request_id=request.id,
            author_id=actor.id,
            body=_("Escalated to tier %(tier)s: %(reason)s", tier=request.tier, reason=reason),
            internal=True,
            created_at=clock.now(),
        )
    )
    audit.record(
        actor,
        "support_request",
        request.id,
        "escalated",
        changes=changes,
    )
    db.session.flush()
    signals.request_escalated.send(request, from_tier=request.tier - 1)
    notify(
        tier_agents(request.tier),
        _l("Escalated to tier %(tier)s: %(subject)s", tier=request.tier, subject=request.subject),
        reason[:300],
        f"/support/requests/{request.id}",
        kind=NotificationKind.SUPPORT_REPLIES,
    )
    return request
