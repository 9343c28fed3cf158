"""The request page as one user may see it (the HTML page and the API's detail both show it):
the thread, attachments, linked incident and backlog items, the SLA clock and the buttons."""

from __future__ import annotations

from ...accounts.models import Role, User
from ...extensions import db
from ...subscriptions.models import Subscription
from ..models import IncidentStatus, RequestStatus, SupportRequest
from ..states import REQUESTS
from . import sla
from .agents import is_agent, tier_of
from .attachments import attachments_for
from .backlog import backlog_items_of
from .incidents import can_work_incidents, incident_for_request, incident_progress
from .messages import messages_for
from .requests import is_requester, request_for
from .transitions import may_make

R = RequestStatus


def request_view(user: User, request_id: int) -> dict:
    """Everything the request page shows, as this user may see it."""
    request = request_for(user, request_id)
    staff = is_agent(user) or user.has_role(Role.PRODUCT_MANAGER)
    subscription = db.session.get(Subscription, request.subscription_id)
    incident = incident_for_request(request)
    return {
        "request": request,
        "subscription": subscription,
        "messages": messages_for(user, request),
        "attachments": attachments_for(user, request),
        "incident": incident,
        "incident_progress": incident_progress(incident) if incident else [],
        "backlog_items": backlog_items_of(request) if staff else [],
        "sla": sla.sla_state(request),
        "actions": {
            **request_actions(user, request),
            "incident": can_work_incidents(user)
            and request.status != R.CLOSED
            and (incident is None or incident.status == IncidentStatus.CLOSED),
        },
    }


def request_actions(user: User, request: SupportRequest) -> dict:
    """Which buttons this user gets on this request (the services still check every move)."""
    agent = is_agent(user)
    consumer = is_requester(user, request)
    colleague = not consumer and request.group_id in user.group_ids and user.has_role(Role.CONSUMER)
    status = request.status
    moves = {
        to
        for to in REQUESTS.targets(status)
        if may_make(REQUESTS.data(status, to).who, agent=agent, consumer=consumer)
    }
    open_ = status != R.CLOSED
    return {
        "agent": agent,
        "consumer": consumer,
        "colleague": colleague,
        "transitions": sorted(moves),
        "reply": open_ and (agent or consumer or colleague),
        "take": agent
        and open_
        and request.assignee_id != user.id
        and tier_of(user) >= request.tier,
        "assign": agent and open_,
        "escalate": agent and request.tier < 3 and status not in (R.RESOLVED, R.CLOSED),
        "incident": can_work_incidents(user) and open_,
        "backlog": (agent or user.has_role(Role.PRODUCT_MANAGER)),
        "rate": consumer and status in (R.RESOLVED, R.CLOSED),
    }
