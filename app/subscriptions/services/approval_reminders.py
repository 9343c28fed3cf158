"""Reminders and escalation of approval steps that wait too long: past its policy's reminder
time a pending step reminds the people asked (again each reminder period); past its escalation
time a step that needs one approval goes to the next listed approver as well (then to its
fallback). Run by the periodic job `subscriptions.approvals` and `flask subscriptions
approvals`, as the system; each change is a versioned write of the step, so two runs at once
remind and escalate once."""

from __future__ import annotations

from datetime import datetime, timedelta

from ... import clock
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...extensions import db
from ...i18n import _
from ...versioning import flush_versioned, version_change
from ..models import ApprovalStep, Order
from . import approval_queries, approvals
from . import approval_routing as routing


def _due(since: datetime | None, hours: int | None, now: datetime) -> bool:
    return hours is not None and since is not None and now - since >= timedelta(hours=hours)


def remind_and_escalate(actor: User, now: datetime | None = None) -> tuple[int, int]:
    """(steps reminded, steps escalated) in this run."""
    require_role(actor, Role.ADMIN, message=_("Only the system reminds approvers."))
    now = now or clock.now()
    reminded = escalated = 0
    for step in approval_queries.pending_steps():
        order = db.session.get(Order, step.order_id)
        late = _due(step.escalated_at or step.started_at, step.escalation_hours, now)
        if step.mode == "one" and late and _escalate(actor, step, order, now):
            escalated += 1
            continue
        if _due(step.reminded_at or step.started_at, step.reminder_hours, now):
            changes = version_change(step)
            step.reminded_at = now
            flush_versioned(step, noun="approval", object_type="approval_step")
            audit.record(actor, "approval_step", step.id, "reminded", changes=changes)
            approvals.ask(step, order, list(step.asked), reminder=True)
            reminded += 1
    return reminded, escalated


def _escalate(actor: User, step: ApprovalStep, order: Order, now: datetime) -> bool:
    """Ask the next listed approver too; False when there is nobody further."""
    more = routing.escalated(step, order)
    if not more:
        return False
    changes = {
        **version_change(step),
        "asked": {"before": list(step.asked), "after": [*step.asked, *more]},
    }
    step.asked = [*step.asked, *more]
    step.escalated_at = step.reminded_at = now
    step.note = _(
        "Escalated: nobody decided in %(hours)s hours, so the next approver is asked too.",
        hours=step.escalation_hours,
    )
    flush_versioned(step, noun="approval", object_type="approval_step")
    audit.record(actor, "approval_step", step.id, "escalated", changes=changes)
    approvals.ask(step, order, more)
    return True
