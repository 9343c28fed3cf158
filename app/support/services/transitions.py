"""Moving a support request through its statuses: the moves and who may make each (the
REQUESTS machine), the SLA clock paused and resumed on the way, and who is told."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ... import clock
from ... import validation as check
from ...accounts.models import User
from ...audit import services as audit
from ...errors import InvalidTransition, NotAllowed, ValidationFailed
from ...extensions import db
from ...i18n import _, _l
from ...labels import label, lazy_label
from ...notifications.models import NotificationKind
from ...notifications.services import notify
from ...versioning import version_change
from .. import signals
from ..models import RequestMessage, RequestStatus, SupportRequest
from ..states import REQUESTS
from . import sla
from .agents import is_agent, tier_agents
from .requests import check_version, flush_versioned, is_requester, request_for
from .text import typed_text

R = RequestStatus


def request_to_move(actor: User, request_id: int) -> SupportRequest:
    """The request, if `actor` may change its status at all: an agent or its requester (which
    moves each may make, the table says; colleagues in the group only see it and write on it).
    Asked before anything sent is read."""
    request = request_for(actor, request_id)
    if not (is_agent(actor) or is_requester(actor, request)):
        raise NotAllowed(_("Only support agents and the person who opened it change its status."))
    return request


def transition_request(
    actor: User, request_id: int, to: str, *, expected_version: Any = None, reason: Any = ""
) -> SupportRequest:
    request = request_to_move(actor, request_id)
    to = to if isinstance(to, str) else str(to)
    errors: check.Errors = {}
    reason = typed_text(errors, "reason", reason, max_length=20_000)
    if errors:
        raise ValidationFailed(_("The status could not be changed."), fields=errors)
    check_version(request, expected_version)
    agent = _check_move(actor, request, to)
    changes = {"status": {"before": request.status, "after": to}, **version_change(request)}
    before = REQUESTS.move(request, to)
    now = clock.now()
    _move_clocks(actor, request, before, to, agent, now)
    if reason and agent:
        sla.mark_first_response(request, actor)  # a written public answer is a response
    flush_versioned(request)
    if reason:
        db.session.add(
            RequestMessage(
                request_id=request.id,
                author_id=actor.id,
                body=reason,
                internal=False,
                created_at=now,
            )
        )
    audit.record(actor, "support_request", request.id, "transition", changes=changes)
    _notify_transition(actor, request, before, to, reason)
    if to == R.RESOLVED:
        db.session.flush()
        signals.request_resolved.send(request)
    return request


def may_make(who: str, *, agent: bool, consumer: bool) -> bool:
    """Whether someone (an agent, the requester's group) may make a move the machine gives `who`."""
    return (
        (who == "agent" and agent)
        or (who == "consumer" and consumer)
        or (who == "either" and (agent or consumer))
    )


def _check_move(actor: User, request: SupportRequest, to: str) -> bool:
    """Refuse a move the machine does not list, or one this actor may not make; True when the
    actor moves it as an agent."""
    if not REQUESTS.allows(request.status, to):
        allowed = REQUESTS.targets(request.status)
        known = to in {status.value for status in RequestStatus}
        target = label(to) if known else f"“{to[:40]}” (not a status)"
        why = (
            " It is closed: open a new request instead."
            if request.status == R.CLOSED
            else " It already is."
            if to == request.status
            else ""
        )
        raise InvalidTransition(
            _(
                "A %(replace)s request cannot become %(target)s.%(why)s Allowed next: %(value)s.",
                replace=label(request.status),
                target=target,
                why=why,
                value=", ".join(allowed) or "none",
            ),
            fields={"to": [_("Allowed next: %(value)s.", value=", ".join(allowed) or "none")]},
        )
    who = REQUESTS.data(request.status, to).who
    agent = is_agent(actor)
    if not may_make(who, agent=agent, consumer=is_requester(actor, request)):
        raise NotAllowed(
            {
                "agent": "Only a support agent can do that.",
                "consumer": _("Only the person who opened the request can do that."),
            }.get(who, "Not allowed.")
        )
    return agent


def _move_clocks(
    actor: User, request: SupportRequest, before: str, to: str, agent: bool, now: datetime
) -> None:
    """What the move does to the SLA clock, the resolution time and the assignee."""
    if to == R.IN_PROGRESS:
        sla.resume(request)
        if before == R.RESOLVED:
            request.resolved_at = None
        if agent and request.assignee_id is None and before == R.NEW:
            request.assignee_id = actor.id
    elif to == R.WAITING_ON_CONSUMER:
        sla.mark_first_response(request, actor)
        sla.pause(request)
    elif to == R.RESOLVED:
        sla.mark_first_response(request, actor)
        request.resolved_at = now
        if (
            request.resolution_due is not None
            and now > request.resolution_due
            and request.resolution_breached_at is None
        ):
            request.resolution_breached_at = request.resolution_due
        sla.pause(request)
    elif to == R.CLOSED:
        request.closed_at = now


def _notify_transition(
    actor: User, request: SupportRequest, before: str, to: str, reason: str = ""
) -> None:
    """Public text only: the consumer hears of status changes, the assignee (or the tier) of the consumer's moves."""
    link = f"/support/requests/{request.id}"
    if is_agent(actor):
        texts = {
            R.WAITING_ON_CONSUMER: _("We need more information from you."),
            R.RESOLVED: _("Resolved: please accept the resolution or reopen the request."),
            R.IN_PROGRESS: _("We are working on your request."),
        }
        body = "\n\n".join(part for part in (texts.get(to, ""), reason[:300]) if part)
        notify(
            [request.requester],
            _l("Request %(id)s: %(replace)s", id=request.id, replace=to.replace("_", " ")),
            body,
            link,
            kind=NotificationKind.SUPPORT_REPLIES,
        )
    else:
        word = _l("reopened") if before == R.RESOLVED and to == R.IN_PROGRESS else lazy_label(to)
        recipients = (
            [request.assignee] if request.assignee is not None else tier_agents(request.tier)
        )
        notify(
            recipients,
            _l("Request %(id)s %(word)s", id=request.id, word=word),
            request.subject,
            link,
            kind=NotificationKind.SUPPORT_REPLIES,
        )
