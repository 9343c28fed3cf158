"""Periodic jobs of Provide Service Support. Each runs inside app.jobs' unit of work (run_job),
which commits once when it returns and rolls back when it raises."""

from __future__ import annotations

from ..accounts.models import SYSTEM
from ..i18n import _
from . import services


def check_slas() -> str:
    """What `flask support sla-check` does: record breaches (each notified once) and close
    requests resolved for 7 days."""
    result = services.sla_check(SYSTEM)
    return _(
        "Response breaches: %(result)s, resolution breaches: %(result2)s, closed: %(result3)s.",
        result=result["response_breaches"],
        result2=result["resolution_breaches"],
        result3=result["closed"],
    )


def collect_orphaned_files() -> str:
    """Objects in the file store that no attachment names, older than a day, deleted."""
    deleted = services.collect_orphaned_files(SYSTEM)
    return _("Orphaned files deleted: %(count)s.", count=deleted)
