"""Periodic jobs of the Consume stream."""

from __future__ import annotations

from . import services


def start_due_terminations() -> str:
    """What `flask subscriptions process` does: start the terminations whose date has come.
    Each start is a guarded status change, so running it twice starts nothing twice."""
    started = services.process_due()
    return f"Started {started} scheduled termination{'' if started == 1 else 's'}."
