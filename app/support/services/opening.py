"""Opening a support request: a consumer asks for help or reports an issue on one of its
group's subscriptions; the SLA clock starts from the contract's service levels; an idempotency
key makes a double submit open one request."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from ... import clock
from ... import validation as check
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import Conflict, NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _, _l
from ...inputs import unstorable_text
from ...labels import lazy_label
from ...notifications.models import NotificationKind
from ...notifications.services import notify
from ...subscriptions import services as subscriptions
from ...subscriptions.models import Subscription, SubscriptionStatus
from .. import signals
from ..models import Priority, RequestStatus, RequestType, SupportRequest
from . import sla
from .agents import tier_agents
from .attachments import clean_files, forget_files, put_files, record_files
from .requests import request_by_key
from .text import typed_text

R = RequestStatus
PRIORITY_HINTS = {
    Priority.CRITICAL: _l("The service is down or unusable for many people, with no workaround."),
    Priority.HIGH: _l(
        "A key function is broken for you or your team and there is no good workaround."
    ),
    Priority.MEDIUM: _l("Something is wrong or slow, but you can keep working."),
    Priority.LOW: _l("A question, a small annoyance or a request for information."),
}


def require_requester(actor: User) -> None:
    """Only consumers open support requests (the API asks this before it reads the body)."""
    require_role(actor, Role.CONSUMER, message=_("Only consumers open support requests."))


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
    require_requester(actor)
    key = _request_key(idempotency_key)
    already = request_by_key(actor, key)
    if already is not None:
        return _same_request(already, subscription_id, subject, description)
    subscription = _supported_subscription(actor, subscription_id)
    fields, uploads = _checked_fields(
        subscription, request_type, priority, subject, description, files
    )
    stored = put_files(uploads)  # before any row is written: a failing store refuses the request
    request = _new_request(actor, subscription, key, fields)
    try:
        with db.session.begin_nested():  # the key's unique index answers here
            db.session.add(request)
            db.session.flush()
    except IntegrityError:
        already = request_by_key(actor, key)
        if already is None:
            raise
        forget_files(stored)
        return _same_request(already, subscription_id, fields["subject"], fields["description"])
    record_files(request, None, actor, stored, internal=False)
    audit.record(actor, "support_request", request.id, "opened", summary=request.subject[:200])
    signals.request_opened.send(request)
    notify(
        tier_agents(1),
        _l(
            "New %(priority)s request: %(subject)s",
            priority=lazy_label(request.priority),
            subject=request.subject,
        ),
        _l("On %(name)s.", name=subscription.offer.name),
        f"/support/requests/{request.id}",
        kind=NotificationKind.SUPPORT_REPLIES,
    )
    return request


def _supported_subscription(actor: User, subscription_id: Any) -> Subscription:
    """One of the actor's groups' subscriptions (whatever its status: the fields say why a
    terminated one gets no support)."""
    try:
        subscription = subscriptions.subscription_for(actor, int(subscription_id))
    except (TypeError, ValueError):
        raise ValidationFailed(
            _("Choose a subscription."), fields={"subscription_id": [_("Choose a subscription.")]}
        ) from None
    if subscription.group_id not in actor.group_ids:
        raise NotFound(_("No such subscription."))
    return subscription


def _checked_fields(
    subscription: Subscription,
    request_type: Any,
    priority: Any,
    subject: Any,
    description: Any,
    files: list | None,
) -> tuple[dict, list[tuple[str, str, bytes]]]:
    """The request's fields and uploads as they will be stored, or every problem at once."""
    errors: check.Errors = {}
    if subscription.status == SubscriptionStatus.TERMINATED:
        check.add(
            errors,
            "subscription_id",
            _("This subscription is terminated; support is no longer available for it."),
        )
    fields = {
        "request_type": check.choice(
            errors, "request_type", request_type, [t.value for t in RequestType], "type"
        ),
        "priority": check.choice(
            errors, "priority", priority, [p.value for p in Priority], "priority"
        ),
        "subject": typed_text(errors, "subject", subject, required=True, max_length=200),
        "description": typed_text(
            errors, "description", description, required=True, max_length=20_000
        ),
    }
    uploads = clean_files(files, errors)
    if errors:
        message = (
            _("An attachment was refused; your text is kept.")
            if set(errors) == {"attachments"}
            else _("The request could not be sent.")
        )
        raise ValidationFailed(message, fields=errors)
    return fields, uploads


def _new_request(
    actor: User, subscription: Subscription, key: str | None, fields: dict
) -> SupportRequest:
    """A new request at tier 1, its SLA clock started from the contract's service levels."""
    response, resolution, business = sla.targets(subscription, fields["priority"])
    request = SupportRequest(
        subscription_id=subscription.id,
        group_id=subscription.group_id,
        requester_id=actor.id,
        idempotency_key=key,
        **fields,
        status=R.NEW.value,
        tier=1,
        created_at=clock.now(),
        response_target_hours=response,
        resolution_target_hours=resolution,
        business_hours_only=business,
        paused_seconds=0,
    )
    sla.recompute_due(request)
    return request


def _request_key(value: Any) -> str | None:
    if value in (None, ""):
        return None
    key = str(value).strip()
    if not key or len(key) > 100 or unstorable_text(key):
        raise ValidationFailed(
            _("The idempotency key must be 1–100 characters."),
            fields={"idempotency_key": [_("Send 1–100 characters, new for each request.")]},
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
            _(
                "This form was already sent as request %(id)s. Open a new form to ask something else; your text is kept below.",
                id=already.id,
            ),
            fields={"idempotency_key": [_("Already used for request %(id)s.", id=already.id)]},
        )
    return already
