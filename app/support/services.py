"""Provide Service Support: deflections, requests with SLA clocks, the tiered queue,
escalation to operations (incidents) and feedback to development (backlog items)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import clock
from .. import validation as check
from ..accounts.models import Role, User, UserRole
from ..accounts.services import require_role
from ..audit import services as audit
from ..catalog.models import DigitalProduct
from ..errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from ..extensions import db, get_by_id
from ..inputs import CONTROL_CHARACTERS, unstorable_text
from ..knowledge import services as knowledge
from ..knowledge.models import KnowledgeArticle
from ..knowledge.services import (  # noqa: F401 - support/seeding.py calls them as services.*
    rate_article,
    save_article_with_offers,
)
from ..notifications.services import notify, notify_each
from ..subscriptions import services as subscriptions
from ..subscriptions.models import Subscription, SubscriptionStatus
from . import sla
from .models import (
    Attachment,
    BacklogItem,
    Deflection,
    Incident,
    IncidentStatus,
    Priority,
    RequestMessage,
    RequestStatus,
    RequestType,
    SupportRequest,
)

R = RequestStatus
AUTO_CLOSE_AFTER = timedelta(days=7)
PRIORITY_HINTS = {
    Priority.CRITICAL: "The service is down or unusable for many people, with no workaround.",
    Priority.HIGH: "A key function is broken for you or your team and there is no good workaround.",
    Priority.MEDIUM: "Something is wrong or slow, but you can keep working.",
    Priority.LOW: "A question, a small annoyance or a request for information.",
}
DEFAULT_TARGETS = {"critical": (1, 4), "high": (4, 8), "medium": (8, 24), "low": (24, 72)}
ALLOWED_ATTACHMENTS = {
    ".png": ("image/png", b"\x89PNG"),
    ".jpg": ("image/jpeg", b"\xff\xd8"),
    ".jpeg": ("image/jpeg", b"\xff\xd8"),
    ".gif": ("image/gif", b"GIF8"),
    ".pdf": ("application/pdf", b"%PDF"),
    ".txt": ("text/plain", None),
    ".log": ("text/plain", None),
    ".csv": ("text/csv", None),
}

# The one table for support requests: (from, to) → who may make the move.
REQUEST_TRANSITIONS: dict[tuple[str, str], str] = {
    (R.NEW, R.IN_PROGRESS): "agent",
    (R.NEW, R.WAITING_ON_CONSUMER): "agent",
    (R.NEW, R.RESOLVED): "agent",
    (R.IN_PROGRESS, R.WAITING_ON_CONSUMER): "agent",
    (R.IN_PROGRESS, R.RESOLVED): "agent",
    (R.WAITING_ON_CONSUMER, R.IN_PROGRESS): "either",
    (R.WAITING_ON_CONSUMER, R.RESOLVED): "agent",
    (R.RESOLVED, R.CLOSED): "consumer",  # accepts the resolution
    (R.RESOLVED, R.IN_PROGRESS): "consumer",  # reopens
}
INCIDENT_TRANSITIONS: dict[str, set[str]] = {
    IncidentStatus.OPEN: {IncidentStatus.INVESTIGATING, IncidentStatus.RESOLVED},
    IncidentStatus.INVESTIGATING: {IncidentStatus.MITIGATED, IncidentStatus.RESOLVED},
    IncidentStatus.MITIGATED: {IncidentStatus.INVESTIGATING, IncidentStatus.RESOLVED},
    IncidentStatus.RESOLVED: {IncidentStatus.CLOSED, IncidentStatus.INVESTIGATING},
    IncidentStatus.CLOSED: set(),
}
PAUSED_STATUSES = (R.WAITING_ON_CONSUMER, R.RESOLVED)


def clean_text(value: Any) -> Any:
    """Control characters (NUL above all, which PostgreSQL refuses) removed from typed text."""
    return CONTROL_CHARACTERS.sub("", value) if isinstance(value, str) else value


def _text(errors: check.Errors, field: str, value: Any, **options: Any) -> str:
    return check.text(errors, field, clean_text(value), **options)


def is_agent(user: User) -> bool:
    return user.has_role(Role.SUPPORT_AGENT)


# --- deflection ------------------------------------------------------------------------------


def suggest_articles(
    user: User, subscription_id: int, text: str, limit: int = 5
) -> list[KnowledgeArticle]:
    """Articles that may answer a request the user is typing about one of their subscriptions."""
    subscription = subscriptions.subscription_for(user, subscription_id)
    return knowledge.suggest_articles(user, subscription.offer_code, text, limit)


def record_deflection(
    user: User, subscription_id: int, article_id: int | None, query: str = ""
) -> Deflection:
    """The consumer says an article answered the question: no request is opened, and it counts."""
    require_role(user, Role.CONSUMER, message="Only consumers ask for support.")
    subscription = subscriptions.subscription_for(user, subscription_id)
    if subscription.group_id not in user.group_ids:
        raise NotFound("No such subscription.")
    if article_id is not None:
        knowledge.article_for(user, article_id)
    deflection = Deflection(
        subscription_id=subscription.id,
        user_id=user.id,
        article_id=article_id,
        query=clean_text(query if isinstance(query, str) else "")[:300],
        created_at=clock.now(),
    )
    db.session.add(deflection)
    db.session.flush()
    audit.record(user, "deflection", deflection.id, "deflected", summary=deflection.query[:200])
    db.session.commit()
    return deflection


# --- requests: reading -------------------------------------------------------------------


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
    require_role(actor, Role.SUPPORT_AGENT, message="Only support agents work the support queue.")
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
        from ..catalog.models import ServiceOffer

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


def messages_for(user: User, request: SupportRequest) -> list[RequestMessage]:
    """The thread as this user may see it: internal notes only for agents."""
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


def attachments_for(user: User, request: SupportRequest) -> list[Attachment]:
    query = sa.select(Attachment).where(Attachment.request_id == request.id)
    if not is_agent(user):
        query = query.where(Attachment.internal.is_(False))
    return list(db.session.scalars(query.order_by(Attachment.id)))


def attachment_for(user: User, attachment_id: int) -> tuple[Attachment, Path]:
    attachment = get_by_id(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("No such attachment.")
    request_for(user, attachment.request_id)
    if attachment.internal and not is_agent(user):
        raise NotFound("No such attachment.")
    return attachment, Path(current_app.config["UPLOAD_DIR"]) / attachment.stored_name


def sla_state(request: SupportRequest, now: datetime | None = None) -> dict:
    """Time left (seconds, negative when late) for response and resolution, or 'paused'."""
    now = now or clock.now()
    paused = request.status in PAUSED_STATUSES or request.paused_since is not None

    def left(due: datetime | None, done: datetime | None) -> int | None:
        if due is None or done is not None:
            return None
        return int((due - now).total_seconds())

    return {
        "paused": paused,
        "response_left": None
        if paused
        else left(request.first_response_due, request.first_response_at),
        "resolution_left": None if paused else left(request.resolution_due, request.resolved_at),
        "response_breached": request.response_breached_at is not None,
        "resolution_breached": request.resolution_breached_at is not None,
    }


# --- requests: writing -------------------------------------------------------------------


def _targets(subscription: Subscription, priority: str) -> tuple[float, float, bool]:
    contract = subscriptions.current_contract(subscription)
    levels = (contract.snapshot if contract else {}).get("service_levels") or {}
    response = (levels.get("response_hours") or {}).get(priority) or DEFAULT_TARGETS[priority][0]
    resolution = (levels.get("resolution_hours") or {}).get(priority) or DEFAULT_TARGETS[priority][
        1
    ]
    return float(response), float(resolution), levels.get("support_hours") == "business"


def _recompute_due(request: SupportRequest) -> None:
    start, paused, business = (
        request.created_at,
        request.paused_seconds,
        request.business_hours_only,
    )
    request.first_response_due = sla.add_working_time(
        start, request.response_target_hours * 3600 + paused, business
    )
    request.resolution_due = sla.add_working_time(
        start, request.resolution_target_hours * 3600 + paused, business
    )


MAX_ATTACHMENTS = 10
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} bytes"


def _clean_files(
    files: list | None, errors: check.Errors | None = None
) -> list[tuple[str, str, bytes]]:
    """(filename, content type, bytes) for each upload; problems are added to `errors` (or raised
    at once when no errors dict is given), naming the file and the reason."""
    cleaned: list[tuple[str, str, bytes]] = []
    own = errors is None
    errors = {} if errors is None else errors
    limit = int(current_app.config.get("MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024))
    uploads = [upload for upload in files or [] if (getattr(upload, "filename", "") or "").strip()]
    if len(uploads) > MAX_ATTACHMENTS:
        check.add(errors, "attachments", f"Attach at most {MAX_ATTACHMENTS} files at once.")
        uploads = []
    for upload in uploads:
        raw_name = str(upload.filename).replace("\\", "/").rsplit("/", 1)[-1]
        name = _UNSAFE_NAME.sub("", raw_name).strip()[:255] or "attachment"
        data = upload.read(limit + 1)
        suffix = Path(name).suffix.lower()
        allowed = ALLOWED_ATTACHMENTS.get(suffix)
        if len(data) > limit:
            check.add(errors, "attachments", f"{name} is larger than {_size_text(limit)}.")
        elif not data:
            check.add(errors, "attachments", f"{name} is empty.")
        elif allowed is None:
            check.add(
                errors,
                "attachments",
                f"{name}: only {', '.join(sorted(ALLOWED_ATTACHMENTS))} files are accepted.",
            )
        elif allowed[1] is not None and not data.startswith(allowed[1]):
            check.add(errors, "attachments", f"{name} does not look like a {suffix} file.")
        elif allowed[1] is None and b"\x00" in data[:4096]:
            check.add(errors, "attachments", f"{name} is not a text file.")
        else:
            cleaned.append((name, allowed[0], data))
    if own and errors:
        raise ValidationFailed("An attachment was refused; your text is kept.", fields=errors)
    return cleaned


def _store_files(
    request: SupportRequest, message: RequestMessage | None, actor: User, files, internal: bool
) -> None:
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for name, content_type, data in files:
        stored = secrets.token_hex(16)
        (folder / stored).write_bytes(data)
        db.session.add(
            Attachment(
                request_id=request.id,
                message_id=message.id if message else None,
                filename=name,
                stored_name=stored,
                content_type=content_type,
                size=len(data),
                internal=internal,
                uploaded_by_id=actor.id,
                created_at=clock.now(),
            )
        )


def open_request(
    actor: User,
    subscription_id: Any,
    *,
    request_type: Any,
    priority: Any,
    subject: Any,
    description: Any,
    files: list | None = None,
    idempotency_key: Any = None,
) -> SupportRequest:
    """A consumer asks for help or reports an issue on one of its group's subscriptions. With an
    idempotency key, sending the same request again (a double click, a retried POST) returns
    the first one and opens nothing new."""
    require_role(actor, Role.CONSUMER, message="Only consumers open support requests.")
    key = _request_key(idempotency_key)
    already = request_by_key(actor, key)
    if already is not None:
        return _same_request(already, subscription_id, subject, description)
    try:
        subscription = subscriptions.subscription_for(actor, int(subscription_id))
    except (TypeError, ValueError):
        raise ValidationFailed(
            "Choose a subscription.", fields={"subscription_id": ["Choose a subscription."]}
        ) from None
    if subscription.group_id not in actor.group_ids:
        raise NotFound("No such subscription.")
    errors: check.Errors = {}
    if subscription.status == SubscriptionStatus.TERMINATED:
        check.add(
            errors,
            "subscription_id",
            "This subscription is terminated; support is no longer available for it.",
        )
    request_type = check.choice(
        errors, "request_type", request_type, [t.value for t in RequestType], "type"
    )
    priority = check.choice(errors, "priority", priority, [p.value for p in Priority], "priority")
    subject = _text(errors, "subject", subject, required=True, max_length=200)
    description = _text(errors, "description", description, required=True, max_length=20_000)
    uploads = _clean_files(files, errors)
    if errors:
        message = (
            "An attachment was refused; your text is kept."
            if set(errors) == {"attachments"}
            else "The request could not be sent."
        )
        raise ValidationFailed(message, fields=errors)
    response, resolution, business = _targets(subscription, priority)
    request = SupportRequest(
        subscription_id=subscription.id,
        group_id=subscription.group_id,
        requester_id=actor.id,
        idempotency_key=key,
        request_type=request_type,
        priority=priority,
        subject=subject,
        description=description,
        status=R.NEW.value,
        tier=1,
        created_at=clock.now(),
        response_target_hours=response,
        resolution_target_hours=resolution,
        business_hours_only=business,
        version=1,
        paused_seconds=0,
    )
    _recompute_due(request)
    db.session.add(request)
    try:
        db.session.flush()  # the key's unique index answers here, before files are stored
    except IntegrityError:
        db.session.rollback()
        already = request_by_key(actor, key)
        if already is None:
            raise
        return _same_request(already, subscription_id, subject, description)
    _store_files(request, None, actor, uploads, internal=False)
    audit.record(actor, "support_request", request.id, "opened", summary=subject[:200])
    notify(
        _tier_agents(1),
        f"New {priority} request: {subject}",
        f"On {subscription.offer.name}.",
        f"/support/requests/{request.id}",
    )
    db.session.commit()
    return request


def _request_key(value: Any) -> str | None:
    if value in (None, ""):
        return None
    key = str(value).strip()
    if not key or len(key) > 100 or unstorable_text(key):
        raise ValidationFailed(
            "The idempotency key must be 1–100 characters.",
            fields={"idempotency_key": ["Send 1–100 characters, new for each request."]},
        )
    return key


def _same_request(
    already: SupportRequest, subscription_id: Any, subject: Any, description: Any
) -> SupportRequest:
    """A request sent again with its key is the first one; other content with a used key
    (a form reused after going back) is refused rather than silently dropped."""
    sent = (
        str(subscription_id).strip(),
        str(subject or "").strip(),
        str(description or "").strip(),
    )
    if sent != (str(already.subscription_id), already.subject, already.description):
        raise Conflict(
            f"This form was already sent as request {already.id}. Open a new form to ask "
            "something else; your text is kept below.",
            fields={"idempotency_key": [f"Already used for request {already.id}."]},
        )
    return already


def request_by_key(actor: User, key: str | None) -> SupportRequest | None:
    """The request `actor` already opened with this idempotency key, if any."""
    if key is None:
        return None
    return db.session.scalar(
        sa.select(SupportRequest).where(
            SupportRequest.requester_id == actor.id, SupportRequest.idempotency_key == key
        )
    )


def _tier_agents(tier: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.active.is_(True),
                User.support_tier == tier,
                User.roles.any(UserRole.role == Role.SUPPORT_AGENT.value),
            )
        )
    )


def _check_version(request: SupportRequest, expected_version: Any) -> None:
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


def _bump(request: SupportRequest) -> None:
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


def _pause(request: SupportRequest) -> None:
    if request.paused_since is None:
        request.paused_since = clock.now()


def _resume(request: SupportRequest) -> None:
    if request.paused_since is not None:
        request.paused_seconds += sla.working_seconds_between(
            request.paused_since, clock.now(), request.business_hours_only
        )
        request.paused_since = None
        _recompute_due(request)


def _mark_first_response(request: SupportRequest, actor: User) -> None:
    if request.first_response_at is None and is_agent(actor):
        now = clock.now()
        request.first_response_at = now
        if (
            request.first_response_due is not None
            and now > request.first_response_due
            and request.response_breached_at is None
        ):
            request.response_breached_at = request.first_response_due


def transition_request(
    actor: User, request_id: int, to: str, *, expected_version: Any = None, reason: Any = ""
) -> SupportRequest:
    request = request_for(actor, request_id)
    to = to if isinstance(to, str) else str(to)
    errors: check.Errors = {}
    reason = _text(errors, "reason", reason, max_length=20_000)
    if errors:
        raise ValidationFailed("The status could not be changed.", fields=errors)
    _check_version(request, expected_version)
    key = (request.status, to)
    who = REQUEST_TRANSITIONS.get(key)
    if who is None:
        allowed = [t for (f, t) in REQUEST_TRANSITIONS if f == request.status]
        known = to in {status.value for status in RequestStatus}
        target = to.replace("_", " ") if known else f"“{to[:40]}” (not a status)"
        why = (
            " It is closed: open a new request instead."
            if request.status == R.CLOSED
            else " It already is."
            if to == request.status
            else ""
        )
        raise InvalidTransition(
            f"A {request.status.replace('_', ' ')} request cannot become {target}.{why} "
            f"Allowed next: {', '.join(allowed) or 'none'}.",
            fields={"to": [f"Allowed next: {', '.join(allowed) or 'none'}."]},
        )
    agent = is_agent(actor)
    consumer = request.group_id in actor.group_ids and actor.has_role(Role.CONSUMER)
    if (
        (who == "agent" and not agent)
        or (who == "consumer" and not consumer)
        or (who == "either" and not (agent or consumer))
    ):
        raise NotAllowed(
            {
                "agent": "Only a support agent can do that.",
                "consumer": "Only the requester's group can do that.",
            }.get(who, "Not allowed.")
        )
    before = request.status
    _bump(request)
    request.status = to
    now = clock.now()
    if to == R.IN_PROGRESS:
        _resume(request)
        if before == R.RESOLVED:
            request.resolved_at = None
        if agent and request.assignee_id is None and before == R.NEW:
            request.assignee_id = actor.id
    elif to == R.WAITING_ON_CONSUMER:
        _mark_first_response(request, actor)
        _pause(request)
    elif to == R.RESOLVED:
        _mark_first_response(request, actor)
        request.resolved_at = now
        if (
            request.resolution_due is not None
            and now > request.resolution_due
            and request.resolution_breached_at is None
        ):
            request.resolution_breached_at = request.resolution_due
        _pause(request)
    elif to == R.CLOSED:
        request.closed_at = now
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
        if agent:
            _mark_first_response(request, actor)  # a written public answer is a response
    audit.record(
        actor,
        "support_request",
        request.id,
        "transition",
        changes={"status": {"before": before, "after": to}},
    )
    _notify_transition(actor, request, before, to, reason)
    db.session.commit()
    return request


def _notify_transition(
    actor: User, request: SupportRequest, before: str, to: str, reason: str = ""
) -> None:
    """Public text only: the consumer hears of status changes, the assignee (or the tier) of the consumer's moves."""
    link = f"/support/requests/{request.id}"
    if is_agent(actor):
        texts = {
            R.WAITING_ON_CONSUMER: "We need more information from you.",
            R.RESOLVED: "Resolved: please accept the resolution or reopen the request.",
            R.IN_PROGRESS: "We are working on your request.",
        }
        body = "\n\n".join(part for part in (texts.get(to, ""), reason[:300]) if part)
        notify([request.requester], f"Request {request.id}: {to.replace('_', ' ')}", body, link)
    else:
        word = "reopened" if before == R.RESOLVED and to == R.IN_PROGRESS else to.replace("_", " ")
        recipients = (
            [request.assignee] if request.assignee is not None else _tier_agents(request.tier)
        )
        notify(recipients, f"Request {request.id} {word}", request.subject, link)


def add_message(
    actor: User, request_id: int, body: Any, *, internal: bool = False, files: list | None = None
) -> RequestMessage:
    """A reply (or an agent's internal note). A consumer's reply while we wait on them restarts the clock."""
    request = request_for(actor, request_id)
    agent = is_agent(actor)
    if not agent and not (request.group_id in actor.group_ids and actor.has_role(Role.CONSUMER)):
        raise NotFound("No such support request.")
    if internal and not agent:
        raise NotAllowed("Only agents write internal notes.")
    if request.status == R.CLOSED:
        raise InvalidTransition(
            "This request is closed; open a new one.", fields={"body": ["The request is closed."]}
        )
    errors: check.Errors = {}
    body = _text(errors, "body", body, required=True, max_length=20_000)
    uploads = _clean_files(files, errors)
    if errors:
        message = (
            "An attachment was refused; your text is kept."
            if set(errors) == {"attachments"}
            else "The message could not be sent."
        )
        raise ValidationFailed(message, fields=errors)
    message = RequestMessage(
        request_id=request.id,
        author_id=actor.id,
        body=body,
        internal=bool(internal),
        created_at=clock.now(),
    )
    db.session.add(message)
    db.session.flush()
    _store_files(request, message, actor, uploads, internal=bool(internal))
    link = f"/support/requests/{request.id}"
    if agent and not internal:
        _mark_first_response(request, actor)
        notify([request.requester], f"Reply on request {request.id}", body[:300], link)
    elif not agent:
        if request.status == R.WAITING_ON_CONSUMER:
            _bump(request)
            request.status = R.IN_PROGRESS.value
            _resume(request)
            audit.record(
                actor,
                "support_request",
                request.id,
                "transition",
                changes={
                    "status": {"before": R.WAITING_ON_CONSUMER.value, "after": R.IN_PROGRESS.value}
                },
            )
        if request.assignee is not None:
            notify(
                [request.assignee], f"Consumer replied on request {request.id}", body[:300], link
            )
    audit.record(actor, "support_request", request.id, "note" if internal else "reply")
    db.session.commit()
    return message


def assign(
    actor: User, request_id: int, assignee_id: Any, *, expected_version: Any = None
) -> SupportRequest:
    require_role(actor, Role.SUPPORT_AGENT, message="Only support agents assign requests.")
    request = request_for(actor, request_id)
    _check_version(request, expected_version)
    if request.status == R.CLOSED:
        raise InvalidTransition(
            "This request is closed; it cannot be assigned.",
            fields={"assignee_id": ["The request is closed."]},
        )
    assignee = get_by_id(User, assignee_id)
    if assignee is None or not assignee.has_role(Role.SUPPORT_AGENT) or not assignee.active:
        raise ValidationFailed(
            "Choose an active support agent.",
            fields={"assignee_id": ["Choose an active support agent."]},
        )
    if (assignee.support_tier or 1) < request.tier:
        raise ValidationFailed(
            f"This request is at tier {request.tier}; choose an agent of that tier or above.",
            fields={"assignee_id": [f"Needs tier {request.tier} or above."]},
        )
    before = request.assignee_id
    _bump(request)
    request.assignee_id = assignee.id
    if request.status == R.NEW:
        request.status = R.IN_PROGRESS.value
    audit.record(
        actor,
        "support_request",
        request.id,
        "assigned",
        changes={"assignee_id": {"before": before, "after": assignee.id}},
    )
    if assignee.id != actor.id:
        notify(
            [assignee],
            f"Assigned to you: request {request.id}",
            request.subject,
            f"/support/requests/{request.id}",
        )
    db.session.commit()
    return request


def escalate(
    actor: User, request_id: int, reason: Any, *, expected_version: Any = None
) -> SupportRequest:
    """Hand the request to the next tier with a reason (kept as an internal note)."""
    require_role(actor, Role.SUPPORT_AGENT, message="Only support agents escalate requests.")
    request = request_for(actor, request_id)
    _check_version(request, expected_version)
    errors: check.Errors = {}
    reason = _text(errors, "reason", reason, required=True, max_length=5000)
    if request.tier >= 3:
        check.add(
            errors,
            "tier",
            "Tier 3 (development) is the last tier; raise an incident or a backlog item instead.",
        )
    if request.status in (R.RESOLVED, R.CLOSED):
        check.add(errors, "status", "Reopen the request before escalating it.")
    if errors:
        raise ValidationFailed("The request could not be escalated.", fields=errors)
    _bump(request)
    request.tier += 1
    request.assignee_id = None
    db.session.add(
        RequestMessage(
            request_id=request.id,
            author_id=actor.id,
            body=f"Escalated to tier {request.tier}: {reason}",
            internal=True,
            created_at=clock.now(),
        )
    )
    audit.record(
        actor,
        "support_request",
        request.id,
        "escalated",
        changes={"tier": {"before": request.tier - 1, "after": request.tier}},
    )
    notify(
        _tier_agents(request.tier),
        f"Escalated to tier {request.tier}: {request.subject}",
        reason[:300],
        f"/support/requests/{request.id}",
    )
    db.session.commit()
    return request


def rate(actor: User, request_id: int, satisfaction: Any, comment: Any = "") -> SupportRequest:
    request = request_for(actor, request_id)
    if not (request.group_id in actor.group_ids and actor.has_role(Role.CONSUMER)):
        raise NotAllowed("Only the requester's group rates the support received.")
    errors: check.Errors = {}
    if request.status not in (R.RESOLVED, R.CLOSED):
        check.add(errors, "satisfaction", "Rate the support once the request is resolved.")
    score = check.number(errors, "satisfaction", satisfaction, minimum=1, maximum=5, required=True)
    if score is not None and score != int(score):
        check.add(errors, "satisfaction", "Choose a whole number from 1 to 5.")
    comment = _text(errors, "satisfaction_comment", comment, max_length=2000)
    if errors:
        raise ValidationFailed("The rating could not be saved.", fields=errors)
    before = request.satisfaction
    request.satisfaction, request.satisfaction_comment = int(score), comment
    audit.record(
        actor,
        "support_request",
        request.id,
        "rated",
        changes={"satisfaction": {"before": before, "after": int(score)}},
    )
    db.session.commit()
    return request


def sla_check(now: datetime | None = None) -> dict:
    """Record breaches (and tell the assignee, or the tier), and close requests resolved 7 days ago."""
    now = now or clock.now()
    with_assignee = selectinload(SupportRequest.assignee)
    late_response = db.session.scalars(
        sa.select(SupportRequest)
        .options(with_assignee)
        .where(
            SupportRequest.status.in_([R.NEW, R.IN_PROGRESS]),
            SupportRequest.first_response_at.is_(None),
            SupportRequest.response_breached_at.is_(None),
            SupportRequest.first_response_due < now,
            SupportRequest.paused_since.is_(None),
        )
    ).all()
    late_resolution = db.session.scalars(
        sa.select(SupportRequest)
        .options(with_assignee)
        .where(
            SupportRequest.status.in_([R.NEW, R.IN_PROGRESS]),
            SupportRequest.resolution_breached_at.is_(None),
            SupportRequest.resolution_due < now,
            SupportRequest.paused_since.is_(None),
        )
    ).all()
    agents_of_tier: dict[int, list[User]] = {}  # read once per tier, not once per breach
    _mark(late_response, response_breached_at=SupportRequest.first_response_due)
    _mark(late_resolution, resolution_breached_at=SupportRequest.resolution_due)
    breaches = [("first response", late_response), ("resolution", late_resolution)]
    notify_each(
        _breach_message(request, which, agents_of_tier)
        for which, late in breaches
        for request in late
    )
    for which, late in breaches:
        audit.record_many(
            None, "support_request", "sla_breached", dict.fromkeys((r.id for r in late), which)
        )
    stale = db.session.scalars(
        sa.select(SupportRequest).where(
            SupportRequest.status == R.RESOLVED,
            SupportRequest.resolved_at <= now - AUTO_CLOSE_AFTER,
        )
    ).all()
    _mark(stale, status=R.CLOSED.value, closed_at=now, version=SupportRequest.version + 1)
    audit.record_many(
        None,
        "support_request",
        "auto_closed",
        dict.fromkeys((request.id for request in stale), "resolved for 7 days"),
    )
    db.session.commit()
    return {
        "response_breaches": len(late_response),
        "resolution_breaches": len(late_resolution),
        "closed": len(stale),
    }


def _mark(requests: list[SupportRequest], **values: Any) -> None:
    """One UPDATE for all of `requests` (row by row, SQLite would run one per request); the
    objects are refreshed from the database when next read."""
    if requests:
        db.session.execute(
            sa.update(SupportRequest)
            .where(SupportRequest.id.in_([request.id for request in requests]))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        for request in requests:
            db.session.expire(request, list(values))


def _breach_message(
    request: SupportRequest, which: str, agents_of_tier: dict[int, list[User]]
) -> tuple[list[User], str, str, str]:
    """To the assignee, or else to the request's tier."""
    if request.assignee is not None:
        recipients = [request.assignee]
    else:
        if request.tier not in agents_of_tier:
            agents_of_tier[request.tier] = _tier_agents(request.tier)
        recipients = agents_of_tier[request.tier]
    return (
        recipients,
        f"SLA breached ({which}): request {request.id}",
        request.subject,
        f"/support/requests/{request.id}",
    )


# --- escalation to operations, feedback to development ----------------------------------------


def raise_incident(
    actor: User,
    request_id: int,
    *,
    product_id: Any,
    severity: Any,
    title: Any,
    description: Any = "",
) -> Incident:
    if not (is_agent(actor) and (actor.support_tier or 1) >= 2):
        raise NotAllowed(
            "Incidents are raised by operations staff (support agents of tier 2 and up)."
        )
    request = request_for(actor, request_id)
    errors: check.Errors = {}
    product = _product(errors, product_id)
    level = check.number(errors, "severity", severity, minimum=1, maximum=4, required=True)
    if level is not None and level != int(level):
        check.add(errors, "severity", "Choose a whole number from 1 to 4.")
    title = _text(errors, "title", title, required=True, max_length=200)
    description = _text(errors, "description", description, max_length=20_000)
    if request.status == R.CLOSED:
        check.add(errors, "title", "This request is closed; reopen it or open a new one first.")
    current = db.session.get(Incident, request.incident_id) if request.incident_id else None
    if current is not None and current.status != IncidentStatus.CLOSED:
        check.add(
            errors,
            "title",
            f"This request is already linked to incident {current.id} ({current.status}).",
        )
    if errors:
        raise ValidationFailed("The incident could not be raised.", fields=errors)
    incident = Incident(
        product_id=product.id,
        severity=int(level),
        title=title,
        description=description,
        status=IncidentStatus.OPEN.value,
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    db.session.add(incident)
    db.session.flush()
    request.incident_id = incident.id
    db.session.add(
        RequestMessage(
            request_id=request.id,
            author_id=actor.id,
            internal=True,
            created_at=clock.now(),
            body=f"Raised incident {incident.id} (severity {incident.severity}): {title}",
        )
    )
    audit.record(actor, "incident", incident.id, "raised", summary=f"from request {request.id}")
    db.session.commit()
    return incident


def _product(errors: check.Errors, product_id: Any) -> DigitalProduct | None:
    product = get_by_id(DigitalProduct, product_id)
    if product is None:
        check.add(errors, "product_id", "Choose a digital product.")
    return product


def can_see_incidents(user: User) -> bool:
    return user.has_role(Role.PRODUCT_MANAGER) or (is_agent(user) and (user.support_tier or 1) >= 2)


def can_work_incidents(user: User) -> bool:
    return is_agent(user) and (user.support_tier or 1) >= 2


def incidents_query(actor: User, *, status: str = "") -> sa.Select:
    if not can_see_incidents(actor):
        raise NotAllowed(
            "Only operations staff (support agents of tier 2 and up) and product managers see incidents."
        )
    query = sa.select(Incident).options(
        selectinload(Incident.created_by), selectinload(Incident.assignee)
    )
    if status:
        query = query.where(Incident.status == status)
    return query.order_by(Incident.severity, Incident.created_at.desc())


def transition_incident(
    actor: User, incident_id: int, to: str, *, note: Any = "", expected_version: Any = None
) -> Incident:
    if not can_work_incidents(actor):
        raise NotAllowed(
            "Incidents are worked by operations staff (support agents of tier 2 and up)."
        )
    incident = get_by_id(Incident, incident_id)
    if incident is None:
        raise NotFound("No such incident.")
    to = to if isinstance(to, str) else str(to)
    note = note.strip() if isinstance(note, str) else ""
    if expected_version not in (None, "") and str(expected_version) != str(incident.version):
        raise Conflict(
            f"Someone else updated incident {incident.id} meanwhile (now {incident.status}). Reload and try again.",
            fields={"version": [f"Stale: now version {incident.version}."]},
        )
    if to not in INCIDENT_TRANSITIONS.get(incident.status, set()):
        allowed = ", ".join(sorted(INCIDENT_TRANSITIONS.get(incident.status, set()))) or "none"
        raise InvalidTransition(
            f"A {incident.status} incident cannot become {to}. Allowed next: {allowed}.",
            fields={"to": [f"Allowed: {allowed}."]},
        )
    before = incident.status
    result = db.session.execute(
        sa.update(Incident)
        .where(Incident.id == incident.id, Incident.version == incident.version)
        .values(version=Incident.version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(
            "Someone else updated this incident at the same moment; reload and try again.",
            fields={"version": ["The incident changed."]},
        )
    incident.version += 1
    incident.status = to
    if to == IncidentStatus.RESOLVED:
        incident.resolved_at = clock.now()
    audit.record(
        actor,
        "incident",
        incident.id,
        "transition",
        changes={"status": {"before": before, "after": to}},
        summary=note[:255],
    )
    linked = db.session.scalars(
        sa.select(SupportRequest).where(SupportRequest.incident_id == incident.id)
    ).all()
    for request in linked:
        if request.assignee is not None:
            notify(
                [request.assignee],
                f"Incident {incident.id} is {to}",
                incident.title,
                f"/support/requests/{request.id}",
            )
    db.session.commit()
    return incident


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
        message="Agents and product managers raise backlog items.",
    )
    request = request_for(actor, request_id) if request_id else None
    errors: check.Errors = {}
    product = _product(errors, product_id)
    kind = check.choice(errors, "kind", kind, ["defect", "feature"], "kind")
    title = _text(errors, "title", title, required=True, max_length=200)
    description = _text(errors, "description", description, max_length=20_000)
    if errors:
        raise ValidationFailed("The backlog item could not be raised.", fields=errors)
    item = BacklogItem(
        product_id=product.id,
        kind=kind,
        title=title,
        description=description,
        status="new",
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
        notify([owner], f"New {kind} for {product.name}", title, "/support/backlog")
    db.session.commit()
    return item


def backlog_query(actor: User, *, product_id: int | None = None) -> sa.Select:
    require_role(
        actor,
        Role.PRODUCT_MANAGER,
        Role.SUPPORT_AGENT,
        message="Only product managers and agents see the backlog.",
    )
    query = sa.select(BacklogItem).options(selectinload(BacklogItem.source_requests))
    if product_id:
        query = query.where(BacklogItem.product_id == product_id)
    return query.order_by(BacklogItem.created_at.desc())


def backlog_counts(actor: User) -> list[tuple[DigitalProduct, int, int, int]]:
    """(product, defects, features, source requests) per product, in one query."""
    require_role(
        actor,
        Role.PRODUCT_MANAGER,
        Role.SUPPORT_AGENT,
        message="Only product managers and agents see the backlog.",
    )
    from .models import backlog_item_requests

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
        message="Agents and product managers link backlog items.",
    )
    request = request_for(actor, request_id)
    item = get_by_id(BacklogItem, item_id)
    if item is None:
        raise ValidationFailed(
            "Choose an existing backlog item.",
            fields={"item_id": ["Choose an existing backlog item."]},
        )
    if any(source.id == request.id for source in item.source_requests):
        raise ValidationFailed(
            f"Request {request.id} is already a source of backlog item {item.id}.",
            fields={"item_id": ["Already linked to this request."]},
        )
    item.source_requests.append(request)
    audit.record(actor, "backlog_item", item.id, "linked", summary=f"request {request.id}")
    db.session.commit()
    return item


# --- what the pages and the API show ---------------------------------------------------------


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


def backlog_items_of(request: SupportRequest) -> list[BacklogItem]:
    from .models import backlog_item_requests

    return list(
        db.session.scalars(
            sa.select(BacklogItem)
            .join(backlog_item_requests, backlog_item_requests.c.backlog_item_id == BacklogItem.id)
            .where(backlog_item_requests.c.request_id == request.id)
            .order_by(BacklogItem.id)
        )
    )


def requests_of_incidents(incident_ids: list[int]) -> dict[int, list[SupportRequest]]:
    """The requests linked to each incident (the other direction of the link), in one query."""
    linked: dict[int, list[SupportRequest]] = {incident_id: [] for incident_id in incident_ids}
    if incident_ids:
        for request in db.session.scalars(
            sa.select(SupportRequest)
            .where(SupportRequest.incident_id.in_(incident_ids))
            .order_by(SupportRequest.id)
        ):
            linked[request.incident_id].append(request)
    return linked


INCIDENT_STEPS = (
    IncidentStatus.OPEN,
    IncidentStatus.INVESTIGATING,
    IncidentStatus.MITIGATED,
    IncidentStatus.RESOLVED,
    IncidentStatus.CLOSED,
)


def incident_progress(incident: Incident) -> list[dict]:
    """The incident's states in order, each marked done, current or to come (what a consumer sees)."""
    position = INCIDENT_STEPS.index(IncidentStatus(incident.status))
    return [
        {
            "status": step.value,
            "state": "done" if index < position else "current" if index == position else "todo",
        }
        for index, step in enumerate(INCIDENT_STEPS)
    ]


def incident_for_request(request: SupportRequest) -> Incident | None:
    return db.session.get(Incident, request.incident_id) if request.incident_id else None


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
        "sla": sla_state(request),
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
    consumer = request.group_id in user.group_ids and user.has_role(Role.CONSUMER)
    status = request.status
    moves = {
        to
        for (frm, to), who in REQUEST_TRANSITIONS.items()
        if frm == status
        and (
            (who == "agent" and agent)
            or (who == "consumer" and consumer)
            or (who == "either" and (agent or consumer))
        )
    }
    open_ = status != R.CLOSED
    return {
        "agent": agent,
        "consumer": consumer,
        "transitions": sorted(moves),
        "reply": open_ and (agent or consumer),
        "take": agent
        and open_
        and request.assignee_id != user.id
        and (user.support_tier or 1) >= request.tier,
        "assign": agent and open_,
        "escalate": agent and request.tier < 3 and status not in (R.RESOLVED, R.CLOSED),
        "incident": can_work_incidents(user) and open_,
        "backlog": (agent or user.has_role(Role.PRODUCT_MANAGER)),
        "rate": consumer and status in (R.RESOLVED, R.CLOSED),
    }


def size_text(size: int) -> str:
    return _size_text(size)


def assignable_agents(request: SupportRequest) -> list[User]:
    """Active agents of the request's tier or above."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.active.is_(True),
                User.support_tier >= request.tier,
                User.roles.any(UserRole.role == Role.SUPPORT_AGENT.value),
            )
            .order_by(User.support_tier, User.name)
        )
    )


def products() -> list[DigitalProduct]:
    return list(db.session.scalars(sa.select(DigitalProduct).order_by(DigitalProduct.name)))


def default_product_id(subscription: Subscription | None) -> int | None:
    return (
        subscription.offer.product_id
        if subscription is not None and subscription.offer is not None
        else None
    )


def open_backlog_items(product_id: int | None = None) -> list[BacklogItem]:
    query = sa.select(BacklogItem).where(BacklogItem.status != "done")
    if product_id:
        query = query.where(BacklogItem.product_id == product_id)
    return list(db.session.scalars(query.order_by(BacklogItem.id.desc()).limit(100)))


def backlog_export_rows(actor: User, *, product_id: int | None = None) -> list[list]:
    """One CSV row per backlog item: product, kind, title, status, source requests and their count."""
    items = list(db.session.scalars(backlog_query(actor, product_id=product_id)))
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
