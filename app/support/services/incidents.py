"""Escalation to operations: incidents raised from support requests by tier 2 and up, worked
through their statuses, with the linked requests' assignees told of each move."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ... import clock
from ... import validation as check
from ...accounts.models import Role, User
from ...audit import services as audit
from ...errors import InvalidTransition, NotAllowed, NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _, _l
from ...labels import label
from ...notifications.models import NotificationKind
from ...notifications.services import notify
from ...versioning import version_change
from ..models import Incident, IncidentStatus, RequestMessage, RequestStatus, SupportRequest
from ..states import INCIDENTS
from .agents import is_agent, tier_of
from .products import chosen_product
from .requests import check_version, flush_versioned, request_for
from .text import typed_text

R = RequestStatus
INCIDENT_STEPS = (
    IncidentStatus.OPEN,
    IncidentStatus.INVESTIGATING,
    IncidentStatus.MITIGATED,
    IncidentStatus.RESOLVED,
    IncidentStatus.CLOSED,
)


def can_see_incidents(user: User) -> bool:
    return user is not None and (
        user.has_role(Role.PRODUCT_MANAGER) or (is_agent(user) and tier_of(user) >= 2)
    )


def can_work_incidents(user: User) -> bool:
    return is_agent(user) and tier_of(user) >= 2


def raise_incident(
    actor: User,
    request_id: int,
    *,
    product_id: Any,
    severity: Any,
    title: Any,
    description: Any = "",
) -> Incident:
    if not can_work_incidents(actor):
        raise NotAllowed(
            _("Incidents are raised by operations staff (support agents of tier 2 and up).")
        )
    request = request_for(actor, request_id)
    product, level, title, description = _checked_incident(
        request, product_id, severity, title, description
    )
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
    linked = {"incident_id": {"before": request.incident_id, "after": incident.id}}
    linked.update(version_change(request))
    request.incident_id = incident.id
    flush_versioned(request)
    db.session.add(
        RequestMessage(
            request_id=request.id,
            author_id=actor.id,
            internal=True,
            created_at=clock.now(),
            body=_(
                "Raised incident %(id)s (severity %(severity)s): %(title)s",
                id=incident.id,
                severity=incident.severity,
                title=title,
            ),
        )
    )
    audit.record(actor, "incident", incident.id, "raised", summary=f"from request {request.id}")
    audit.record(actor, "support_request", request.id, "incident_raised", changes=linked)
    return incident


def _checked_incident(request, product_id, severity, title, description) -> tuple:
    """(product, severity, title, description) of an incident raised from the request, or
    ValidationFailed under each bad field (a closed request, or one linked to an open incident,
    under the title)."""
    errors: check.Errors = {}
    product = chosen_product(errors, product_id)
    level = check.number(errors, "severity", severity, minimum=1, maximum=4, required=True)
    if level is not None and level != int(level):
        check.add(errors, "severity", _("Choose a whole number from 1 to 4."))
    title = typed_text(errors, "title", title, required=True, max_length=200)
    description = typed_text(errors, "description", description, max_length=20_000)
    if request.status == R.CLOSED:
        check.add(errors, "title", _("This request is closed; reopen it or open a new one first."))
    current = db.session.get(Incident, request.incident_id) if request.incident_id else None
    if current is not None and current.status != IncidentStatus.CLOSED:
        check.add(
            errors,
            "title",
            _(
                "This request is already linked to incident %(id)s (%(status)s).",
                id=current.id,
                status=label(current.status),
            ),
        )
    if errors:
        raise ValidationFailed(_("The incident could not be raised."), fields=errors)
    return product, level, title, description


def incidents_query(actor: User, *, status: str = "") -> sa.Select:
    if not can_see_incidents(actor):
        raise NotAllowed(
            _(
                "Only operations staff (support agents of tier 2 and up) and product managers see incidents."
            )
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
            _("Incidents are worked by operations staff (support agents of tier 2 and up).")
        )
    incident = get_by_id(Incident, incident_id)
    if incident is None:
        raise NotFound(_("No such incident."))
    to = to if isinstance(to, str) else str(to)
    note = note.strip() if isinstance(note, str) else ""
    check_version(incident, expected_version)
    if not INCIDENTS.allows(incident.status, to):
        allowed = ", ".join(sorted(INCIDENTS.targets(incident.status))) or "none"
        raise InvalidTransition(
            _(
                "A %(status)s incident cannot become %(to)s. Allowed next: %(allowed)s.",
                status=incident.status,
                to=to,
                allowed=allowed,
            ),
            fields={"to": [_("Allowed: %(allowed)s.", allowed=allowed)]},
        )
    changes = {"status": {"before": incident.status, "after": to}, **version_change(incident)}
    INCIDENTS.move(incident, to)
    if to == IncidentStatus.RESOLVED:
        incident.resolved_at = clock.now()
    flush_versioned(incident)
    audit.record(actor, "incident", incident.id, "transition", changes=changes, summary=note[:255])
    linked = db.session.scalars(
        sa.select(SupportRequest).where(SupportRequest.incident_id == incident.id)
    ).all()
    for request in linked:
        if request.assignee is not None:
            notify(
                [request.assignee],
                _l("Incident %(id)s is %(to)s", id=incident.id, to=to),
                incident.title,
                f"/support/requests/{request.id}",
                kind=NotificationKind.SUPPORT_REPLIES,
            )
    return incident


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
