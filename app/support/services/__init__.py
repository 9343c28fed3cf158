"""Provide Service Support, one module per concept. The support request: requests (who sees
which, the version guard), opening, transitions, messages, satisfaction and request_view (the
request page's content); beside it attachments, sla (working time, due times, the SLA check),
queue (the tiered queue, assignment, escalation), incidents, backlog, deflection, agents,
products and text (typed input).

Code inside app/support imports the concept modules. The names below are the ones used from
outside it (the tests, the demo seeding, which calls two knowledge services through here too),
so `from app.support import services` keeps working for them."""

from ...knowledge.services import rate_article, save_article_with_offers
from .agents import assignable_agents
from .attachments import (
    MAX_ATTACHMENTS,
    attachment_for,
    attachments_for,
    collect_orphaned_files,
)
from .backlog import (
    backlog_counts,
    backlog_export_rows,
    backlog_items_of,
    link_backlog_item,
    raise_backlog_item,
)
from .deflection import record_deflection, suggest_articles
from .incidents import (
    incident_progress,
    incidents_query,
    raise_incident,
    requests_of_incidents,
    transition_incident,
)
from .messages import add_message, messages_for
from .opening import PRIORITY_HINTS, open_request
from .queue import assign, escalate, queue_query
from .request_view import request_view
from .requests import my_requests_query, request_for, requestable_subscriptions
from .satisfaction import rate
from .sla import sla_check, sla_state
from .transitions import transition_request

__all__ = [
    "MAX_ATTACHMENTS",
    "PRIORITY_HINTS",
    "add_message",
    "assign",
    "assignable_agents",
    "attachment_for",
    "attachments_for",
    "collect_orphaned_files",
    "backlog_counts",
    "backlog_export_rows",
    "backlog_items_of",
    "escalate",
    "incident_progress",
    "incidents_query",
    "link_backlog_item",
    "messages_for",
    "my_requests_query",
    "open_request",
    "queue_query",
    "raise_backlog_item",
    "raise_incident",
    "rate",
    "rate_article",
    "record_deflection",
    "request_for",
    "request_view",
    "requestable_subscriptions",
    "requests_of_incidents",
    "save_article_with_offers",
    "sla_check",
    "sla_state",
    "suggest_articles",
    "transition_incident",
    "transition_request",
]
