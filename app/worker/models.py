from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock
from ..extensions import db
from ..models_base import UTCDateTime


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RunTrigger(enum.StrEnum):
    SCHEDULE = "schedule"  # the periodic schedule: at most one run per job and period
    MANUAL = "manual"  # `flask jobs run NAME`, or a job run once when a worker starts
    TASK = "task"  # a background task that failed after its last attempt


class JobRun(db.Model):
    """One run of a job. A scheduled run claims its (job, period) row before it starts, so when
    several workers each enqueue the same periodic job, only the first runs it."""

    __tablename__ = "job_runs"
    __table_args__ = (
        sa.UniqueConstraint("name", "period_start", name="uq_job_run_period"),
        sa.Index("ix_job_runs_name_started", "name", "started_at"),
        sa.CheckConstraint("status IN ('running', 'done', 'failed')", name="job_run_status_values"),
        sa.CheckConstraint(
            "trigger IN ('schedule', 'manual', 'task')", name="job_run_trigger_values"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    trigger: Mapped[str] = mapped_column(sa.String(10), default=RunTrigger.SCHEDULE.value)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)  # NULL: not scheduled
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(10), default=RunStatus.RUNNING.value)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    worker: Mapped[str] = mapped_column(sa.String(120), default="")


class JobMark(db.Model):
    """Something a job did once and must not repeat (an offer announced as orderable, a quota
    warning for a month): written in the same transaction as the work it marks."""

    __tablename__ = "job_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
