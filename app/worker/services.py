"""Records of the job worker: runs of the periodic jobs and marks of work done once.

Both are claimed with an INSERT that does nothing when the row exists, so two workers racing
for the same run or the same mark cannot both win, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .. import clock
from ..extensions import db
from .models import JobMark, JobRun, RunStatus, RunTrigger

KEEP_RUNS_FOR = timedelta(days=7)
FAILURES_SHOWN = 20


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def _insert_if_new(model, values: dict, unique: list[str]):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new id, or None when it existed."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
    return db.session.scalar(statement.returning(model.id))


def once(key: str) -> bool:
    """Mark `key` as done in the current transaction: True the first time, False ever after
    (and False for the loser of two transactions racing for it)."""
    return (
        _insert_if_new(JobMark, {"key": key[:200], "created_at": clock.now()}, ["key"]) is not None
    )


def claim_run(name: str, period_start: datetime | None, trigger: str) -> int | None:
    """Start a run of job `name`, committed at once so other workers see it. A scheduled run
    is refused (None) when its period already has one. Old runs of the job are dropped."""
    now = clock.now()
    values = {
        "name": name,
        "trigger": trigger,
        "period_start": period_start,
        "started_at": now,
        "status": RunStatus.RUNNING.value,
        "summary": "",
        "error": "",
        "worker": worker_name(),
    }
    if period_start is None:
        run_id = db.session.scalar(sa.insert(JobRun).values(**values).returning(JobRun.id))
    else:
        run_id = _insert_if_new(JobRun, values, ["name", "period_start"])
    if run_id is not None:
        db.session.execute(
            sa.delete(JobRun).where(JobRun.name == name, JobRun.started_at < now - KEEP_RUNS_FOR)
        )
    db.session.commit()
    return run_id


def finish_run(run_id: int, *, summary: str = "", error: str = "") -> None:
    """Close a run (in the caller's transaction: a job's run closes with its work)."""
    db.session.execute(
        sa.update(JobRun)
        .where(JobRun.id == run_id)
        .values(
            status=RunStatus.FAILED.value if error else RunStatus.DONE.value,
            finished_at=clock.now(),
            summary=summary[:2000],
            error=error[:2000],
        )
    )


def record_failure(name: str, error: str) -> None:
    """A background task that failed for good: one failed run, so it shows among the failures."""
    run_id = claim_run(name, None, RunTrigger.TASK.value)
    finish_run(run_id, error=error)
    db.session.commit()


def last_runs(names: list[str]) -> dict[str, JobRun]:
    """The latest run of each job, in one query."""
    latest = (
        sa.select(JobRun.name, sa.func.max(JobRun.id).label("id"))
        .where(JobRun.name.in_(names))
        .group_by(JobRun.name)
        .subquery()
    )
    rows = db.session.scalars(sa.select(JobRun).join(latest, latest.c.id == JobRun.id))
    return {run.name: run for run in rows}


def recent_failures(limit: int = FAILURES_SHOWN) -> list[JobRun]:
    return list(
        db.session.scalars(
            sa.select(JobRun)
            .where(JobRun.status == RunStatus.FAILED.value)
            .order_by(JobRun.started_at.desc(), JobRun.id.desc())
            .limit(limit)
        )
    )


def runs_of(name: str, *, since: datetime | None = None) -> list[JobRun]:
    query = sa.select(JobRun).where(JobRun.name == name)
    if since is not None:
        query = query.where(JobRun.started_at >= since)
    return list(db.session.scalars(query.order_by(JobRun.id)))
