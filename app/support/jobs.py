"""Periodic jobs of Provide Service Support."""

from __future__ import annotations

from . import services


def check_slas() -> str:
    """What `flask support sla-check` does: record breaches (each notified once) and close
    requests resolved for 7 days."""
    result = services.sla_check()
    return (
        f"Response breaches: {result['response_breaches']}, resolution breaches: "
        f"{result['resolution_breaches']}, closed: {result['closed']}."
    )
