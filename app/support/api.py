"""JSON routes of Provide Service Support under /api/v1: they load a schema, call the same service
as the HTML pages and dump a schema. Errors are problem+json through the shared handlers."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for

from ..api.core import KEY_HEADER, api_user, endpoint, int_arg, key_errors_named_as_header, load
from ..errors import ValidationFailed
from ..extensions import db
from ..i18n import _
from .models import RequestStatus
from .schemas import (
    SupportMessageCreateSchema,
    SupportMessageSchema,
    SupportRequestCreateSchema,
    SupportRequestDetailSchema,
    SupportRequestPageSchema,
    SupportRequestSchema,
    SupportTransitionSchema,
)
from .services import messages, opening, queue, requests, sla, transitions
from .services.agents import is_agent
from .services.request_view import request_view

TAG = "support"


def _whose_arg() -> str:
    value = request.args.get("whose", "mine").strip()
    if value not in ("mine", "group"):
        raise ValidationFailed(_("Unknown whose."), fields={"whose": [_("Use mine or group.")]})
    return value


def _status_arg() -> str:
    value = request.args.get("status", "").strip()
    allowed = [status.value for status in RequestStatus]
    if value and value not in allowed:
        raise ValidationFailed(
            _("Unknown status."),
            fields={"status": [_("Use one of: %(names)s.", names=", ".join(allowed))]},
        )
    return value


def _page(query) -> dict:
    per_page = int_arg("per_page", current_app.config["ITEMS_PER_PAGE"], maximum=100)
    pagination = db.paginate(query, page=int_arg("page", 1), per_page=per_page, error_out=False)
    return {
        "items": pagination.items,
        "page": pagination.page,
        "per_page": pagination.per_page,
        "total": pagination.total,
        "pages": pagination.pages,
    }


def _request_data(item) -> dict:
    data = SupportRequestSchema().dump(item)
    data["sla"] = sla.sla_state(item)
    return data


@endpoint(
    "/support-requests",
    "POST",
    summary="Ask for help or report an issue on one of your group's subscriptions (an optional "
    "Idempotency-Key header makes a retry return 200 and the first request)",
    tag=TAG,
    body=SupportRequestCreateSchema,
    response=SupportRequestSchema,
    status=201,
)
def support_requests_create():
    user = api_user()
    opening.require_requester(user)  # before the body: a refused caller learns nothing of it
    data = load(SupportRequestCreateSchema())
    key = request.headers.get(KEY_HEADER)
    replayed = requests.request_by_key(user, key) is not None
    with key_errors_named_as_header():
        created = opening.open_request(
            user,
            data["subscription_id"],
            request_type=data["request_type"],
            priority=data["priority"],
            subject=data["subject"],
            description=data["description"],
            idempotency_key=key,
        )
    response = jsonify(_request_data(created))
    response.status_code = 200 if replayed else 201
    response.headers["Location"] = url_for("api.support_request_get", request_id=created.id)
    return response


@endpoint(
    "/support-requests",
    summary="The support requests you opened (whose=group: all your groups'); for support "
    "agents, the queue of a tier",
    tag=TAG,
    response=SupportRequestPageSchema,
    query={
        "status": "new, in_progress, waiting_on_consumer, resolved or closed",
        "whose": "mine (default) or group: also your colleagues' requests in your groups",
        "tier": "agents: the queue's tier (default: your own)",
        "page": "page number, from 1",
        "per_page": "1–100",
    },
)
def support_requests_list():
    user = api_user()
    status = _status_arg()
    tier = int_arg("tier", None, maximum=3)
    if is_agent(user):
        query = queue.queue_query(user, tier=tier, status=status)
    else:
        query = requests.my_requests_query(user, status=status, whose=_whose_arg())
    page = _page(query)
    page["items"] = [_request_data(item) for item in page["items"]]
    return jsonify(page)


@endpoint(
    "/support-requests/<int:request_id>",
    summary="A support request with its thread (internal notes only for agents)",
    tag=TAG,
    response=SupportRequestDetailSchema,
)
def support_request_get(request_id: int):
    view = request_view(api_user(), request_id)
    data = _request_data(view["request"])
    data["messages"] = SupportMessageSchema(many=True).dump(view["messages"])
    data["attachments"] = [
        {
            "id": item.id,
            "message_id": item.message_id,
            "filename": item.filename,
            "content_type": item.content_type,
            "size": item.size,
            "url": url_for("support.attachment", attachment_id=item.id),
        }
        for item in view["attachments"]
    ]
    incident = view["incident"]
    data["incident"] = (
        {
            "id": incident.id,
            "status": incident.status,
            "severity": incident.severity,
            "progress": view["incident_progress"],
        }
        if incident
        else None
    )
    return jsonify(data)


@endpoint(
    "/support-requests/<int:request_id>/messages",
    "POST",
    summary="Reply on a request (agents may add an internal note)",
    tag=TAG,
    body=SupportMessageCreateSchema,
    response=SupportMessageSchema,
    status=201,
)
def support_request_messages_create(request_id: int):
    user = api_user()
    messages.request_to_write_on(user, request_id)  # before the body, as for the other writes
    data = load(SupportMessageCreateSchema())
    message = messages.add_message(user, request_id, data["body"], internal=data["internal"])
    response = jsonify(SupportMessageSchema().dump(message))
    response.status_code = 201
    return response


@endpoint(
    "/support-requests/<int:request_id>/transitions",
    "POST",
    summary="Change a request's status; a stale version is refused with 409",
    tag=TAG,
    body=SupportTransitionSchema,
    response=SupportRequestSchema,
)
def support_request_transitions_create(request_id: int):
    user = api_user()
    transitions.request_to_move(user, request_id)  # before the body, as for the other writes
    data = load(SupportTransitionSchema())
    changed = transitions.transition_request(
        user, request_id, data["to"], expected_version=data["version"], reason=data["reason"]
    )
    return jsonify(_request_data(changed))
