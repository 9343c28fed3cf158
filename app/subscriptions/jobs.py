"""Periodic jobs of the Consume stream. Each runs inside app.jobs' unit of work (run_job), which
commits once when it returns and rolls back when it raises."""

from __future__ import annotations

from ..accounts.models import SYSTEM
from . import services
from .services import approval_reminders, leases


def start_due_terminations() -> str:
    """What `flask subscriptions process` does: start the terminations whose date has come.
    Each start is a versioned status change, so running it twice starts nothing twice."""
    started = services.process_due(SYSTEM)
    return f"Started {started} scheduled termination{'' if started == 1 else 's'}."


def remind_approvers() -> str:
    """What `flask subscriptions approvals` does: remind the approvers of steps waiting past
    their policy's reminder time, and escalate those past its escalation time."""
    reminded, escalated = approval_reminders.remind_and_escalate(SYSTEM)
    return f"Reminded {reminded}, escalated {escalated} approval step(s)."


def sweep_leases() -> str:
    """What `flask subscriptions leases` does: warn owners of leases about to end (once), and
    end the leases whose date has come through the normal termination flow."""
    warned, ended = leases.sweep(SYSTEM)
    return f"Warned {warned}, ended {ended} lease(s)."
