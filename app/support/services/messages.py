"""The thread of a support request: replies, agents' internal notes and their attachments. A
consumer's reply while the request waits on them restarts the clock."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ... import clock
from ... import validation as check
from ...accounts.models import Role, User
from ...audit import services as audit
from ...errors import InvalidTransition, NotAllowed, NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _, _l
from ...notifications.models import NotificationKind
from ...notifications.services import notify
from ...versioning import version_change
from ..models import RequestMessage, RequestStatus, SupportRequest
from ..states import REQUESTS
from . import sla
from .agents import is_agent, require_actor
from .attachments import clean_files, put_files, record_files
from .requests import flush_versioned, request_for
from .text import typed_text

R = RequestStatus


def messages_for(user: User, request: SupportRequest) -> list[RequestMessage]:
    """The thread as this user may see it: internal notes only for agents."""
    require_actor(user)
    query = sa.select(RequestMessage).where(RequestMessage.request_id == request.id)
    if not is_agent(user):
        query = query.where(RequestMessage.internal.is_(False))
    return list(
        db.session.scalars(
            query.options(selectinload(RequestMessage.author)).order_by(
                RequestMessage.created_at, RequestMessage.id
            )
        )
    )


def request_to_write_on(actor: User, request_id: int) -> SupportRequest:
    """The request, if `actor` may write on its thread: an agent, or the requester's group
    (to anyone else it does not exist). The API asks this before it reads the body."""
    request = request_for(actor, request_id)
    if not is_agent(actor) and not (
        request.group_id in actor.group_ids and actor.has_role(Role.CONSUMER)
    ):
        raise NotFound(_("No such support request."))
    return request


def add_message(
    actor: User, request_id: int, body: Any, *, internal: bool = False, files: list | None = None
) -> RequestMessage:
    """A reply (or an agent's internal note). A consumer's reply while we wait on them restarts the clock."""
    request = request_to_write_on(actor, request_id)
    agent = is_agent(actor)
    if internal and not agent:
        raise NotAllowed(_("Only agents write internal notes."))
    if request.status == R.CLOSED:
        raise InvalidTransition(
            _("This request is closed; open a new one."),
            fields={"body": [_("The request is closed.")]},
        )
    errors: check.Errors = {}
    body = typed_text(errors, "body", body, required=True, max_length=20_000)
    uploads = clean_files(files, errors)
    if errors:
        message = (
            _("An attachment was refused; your text is kept.")
            if set(errors) == {"attachments"}
            else _("The message could not be sent.")
        )
        raise ValidationFailed(message, fields=errors)
    stored = put_files(uploads)  # before any row is written: a failing store refuses the reply
    changes = _answer(actor, request, agent=agent, internal=bool(internal))
    message = RequestMessage(
        request_id=request.id,
        author_id=actor.id,
        body=body,
        internal=bool(internal),
        created_at=clock.now(),
    )
    db.session.add(message)
    db.session.flush()
    record_files(request, message, actor, stored, internal=bool(internal))
    link = f"/support/requests/{request.id}"
    if agent and not internal:
        notify(
            [request.requester],
            _l("Reply on request %(id)s", id=request.id),
            body[:300],
            link,
            kind=NotificationKind.SUPPORT_REPLIES,
        )
    elif not agent and request.assignee is not None:
        notify(
            [request.assignee],
            _l("Consumer replied on request %(id)s", id=request.id),
            body[:300],
            link,
            kind=NotificationKind.SUPPORT_REPLIES,
        )
    audit.record(
        actor, "support_request", request.id, "note" if internal else "reply", changes=changes
    )
    return message


def _answer(actor: User, request: SupportRequest, *, agent: bool, internal: bool) -> dict:
    """What the message does to the request (an agent's first public answer is its response, a
    consumer's answer ends the wait), written first: a stale request takes no message. Returns
    the reply's audit changes."""
    changes: dict = {}
    if agent and not internal:
        sla.mark_first_response(request, actor)
        if request in db.session.dirty:
            changes = {
                "first_response_at": {"before": None, "after": request.first_response_at},
                **version_change(request),
            }
    elif not agent and request.status == R.WAITING_ON_CONSUMER:
        _resume_on_reply(actor, request)
    if request in db.session.dirty:
        flush_versioned(request)
    return changes


def _resume_on_reply(actor: User, request: SupportRequest) -> None:
    """The consumer's answer while we wait on them moves the request back to work."""
    changes = {
        "status": {"before": R.WAITING_ON_CONSUMER.value, "after": R.IN_PROGRESS.value},
        **version_change(request),
    }
    REQUESTS.move(request, R.IN_PROGRESS)
    sla.resume(request)
    audit.record(actor, "support_request", request.id, "transition", changes=changes)
