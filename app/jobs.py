"""The job engine (Huey) and the schedule of periodic jobs.

One setting, JOBS_URL, picks Huey's storage: `sqlite:///instance/jobs.db` (the default, no
server) or `redis://host:6379/0` for several hosts. `flask jobs worker` runs the consumer and
its scheduler; web requests only enqueue. Every job runs in an app context as one unit of
work: it commits once at its end and rolls back on error.

A periodic job holds a Huey lock while it runs, so two workers never run it at once, and it
claims its period in `job_runs` first, so when every worker's scheduler enqueues it, only one
run happens per period. The job functions live in `app/<domain>/jobs.py`; they are idempotent.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey
from huey.storage import SqliteStorage

from . import clock
from .catalog import jobs as catalog_jobs
from .config import ROOT, Config
from .extensions import db
from .i18n import _l
from .notifications import jobs as notification_jobs
from .status import jobs as status_jobs
from .subscriptions import jobs as subscription_jobs
from .support import jobs as support_jobs
from .worker import services as worklog
from .worker.models import RunTrigger

log = logging.getLogger(__name__)
QUEUE_NAME = "offerdesk"
LISTED = 50  # pending and scheduled tasks listed by `flask jobs status` and the admin page


class LazySqliteStorage(SqliteStorage):
    """Huey's SQLite storage, which creates its file and tables on first use instead of at
    import, so a web page that only reads the queue never creates an empty one."""

    def __init__(self, *args, **kwargs):
        self._schema_ready = False
        super().__init__(*args, create_tables=False, **kwargs)

    def _create_connection(self):
        connection = super()._create_connection()
        if not self._schema_ready:
            self._schema_ready = True
            for statement in self.ddl:
                connection.execute(statement)
        return connection


class LazySqliteHuey(SqliteHuey):
    storage_class = LazySqliteStorage


def sqlite_file(url: str) -> Path:
    path = Path(url[len("sqlite:///") :])
    return path if path.is_absolute() else ROOT / path


def huey_for(url: str):
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(QUEUE_NAME, url=url, results=False)
    if url.startswith("sqlite:///"):
        return LazySqliteHuey(QUEUE_NAME, filename=str(sqlite_file(url)), results=False)
    raise RuntimeError(f"JOBS_URL must be sqlite:///<file> or redis://host:port/db, not {url!r}.")


huey = huey_for(Config.JOBS_URL)
_app: Flask | None = None


def _application() -> Flask:
    return _app or current_app._get_current_object()


def unit_of_work(function: Callable, *args, **kwargs):
    """Run `function` in a fresh app context (its own database session): one commit at the
    end, a rollback on error."""
    with _application().app_context():
        try:
            result = function(*args, **kwargs)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return result


def task(*, retries: int = 5, retry_delay: float = 30, backoff: float = 2.0, **options):
    """A background job, e.g. a delivery to another system: enqueued by calling it, run by a
    worker as one unit of work. When it raises, it runs again after `retry_delay` seconds, then
    after `backoff` times that, up to `retries` more times; after the last attempt it shows
    among the failed runs. Write it idempotent: it may run twice. A job a killed worker was
    running is lost (Huey took it off the queue); work that must not be lost is found again by
    a periodic sweep, as integrations.lost_deliveries does for webhook deliveries and
    fulfillment.lost_steps for automatic steps."""

    def decorator(function: Callable):
        name = options.pop("name", f"{function.__module__}.{function.__name__}")

        @functools.wraps(function)
        def attempt(*args, task=None, **kwargs):
            try:
                return unit_of_work(function, *args, **kwargs)
            except Exception as error:
                if task is None or not task.retries:
                    unit_of_work(worklog.record_failure, name, _describe(error))
                raise

        return huey.task(
            retries=retries,
            retry_delay=retry_delay,
            retry_backoff=backoff,
            context=True,
            name=name,
            **options,
        )(attempt)

    return decorator


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


# --- the schedule ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    function: Callable[[], str]
    minutes: int  # runs at every multiple of this many minutes (a divisor of a day)
    description: str
    at_start: bool = False  # also run once when a worker starts (it may replace a killed one)


SCHEDULE: list[PeriodicJob] = [
    PeriodicJob(
        "subscriptions.terminations",
        subscription_jobs.start_due_terminations,
        1,
        _l("Start the terminations whose date has come."),
    ),
    PeriodicJob(
        "subscriptions.approvals",
        subscription_jobs.remind_approvers,
        5,
        _l("Remind approvers of orders waiting too long, and escalate to the next approver."),
    ),
    PeriodicJob(
        "subscriptions.leases",
        subscription_jobs.sweep_leases,
        5,
        _l("Warn owners once before their lease ends, and end the leases whose date has come."),
    ),
    PeriodicJob(
        "support.sla",
        support_jobs.check_slas,
        1,
        _l("Record SLA breaches (notified once) and close requests resolved for 7 days."),
    ),
    PeriodicJob(
        "support.orphaned_files",
        support_jobs.collect_orphaned_files,
        60,
        _l("Delete stored files that no attachment names, a day after they were written."),
    ),
    PeriodicJob(
        "notifications.outbox",
        notification_jobs.send_outbox,
        1,
        _l("Send the e-mail outbox (when MAIL_SERVER is set)."),
    ),
    PeriodicJob(
        "notifications.digest",
        notification_jobs.send_digests,
        60,
        "From NOTIFICATIONS_DIGEST_HOUR (UTC) on, each digest user's one e-mail of the day.",
    ),
    PeriodicJob(
        "catalog.orderable",
        catalog_jobs.announce_orderable_offers,
        1,
        _l("Tell an offer's audience, once, that it can be ordered from its valid_from."),
    ),
    PeriodicJob(
        "catalog.expired",
        catalog_jobs.expire_offers,
        5,
        _l("Record, once, that an offer passed its valid_to; tell the catalog managers."),
    ),
    PeriodicJob(
        "status.quota_warnings",
        status_jobs.warn_quotas,
        60,
        _l("Warn a subscription's owner, once a month per quota, that usage is trending to it."),
    ),
]
JOBS = {job.name: job for job in SCHEDULE}
_intervals: dict[str, int] = {}


def interval(job: PeriodicJob) -> int:
    return _intervals.get(job.name, job.minutes)


def parse_intervals(text: str) -> dict[str, int]:
    """JOBS_INTERVALS, e.g. "catalog.expired=15,status.quota_warnings=30" (minutes)."""
    intervals = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, minutes = item.partition("=")
        name = name.strip()
        if name not in JOBS:
            raise RuntimeError(f"JOBS_INTERVALS: no periodic job named {name!r}.")
        if not minutes.strip().isdigit() or 1440 % int(minutes) != 0:
            raise RuntimeError(f"JOBS_INTERVALS: {item!r}: minutes must divide a day (1-1440).")
        intervals[name] = int(minutes)
    return intervals


def _epoch_minute(moment: datetime) -> int:
    if moment.tzinfo is None:  # Huey hands the scheduler naive UTC
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() // 60)


def period_start(job: PeriodicJob, moment: datetime) -> datetime:
    minute = _epoch_minute(moment)
    return datetime.fromtimestamp((minute - minute % interval(job)) * 60, UTC)


def run_job(job: PeriodicJob, trigger: str = RunTrigger.SCHEDULE.value) -> str | None:
    """Run a periodic job once: claim its run (None if this period already has one), do the
    work and close the run in one commit; on error roll back and record the failed run."""
    with _application().app_context():
        period = period_start(job, clock.now()) if trigger == RunTrigger.SCHEDULE else None
        run_id = worklog.claim_run(job.name, period, trigger)
        if run_id is None:
            log.info("%s already ran for the period from %s.", job.name, period)
            return None
        try:
            summary = job.function() or ""
            worklog.finish_run(run_id, summary=summary)
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            worklog.finish_run(run_id, error=_describe(error))
            db.session.commit()
            raise
        return summary


def _periodic_task(job: PeriodicJob):
    lock = huey.lock_task(job.name)

    def due(moment: datetime) -> bool:
        return _epoch_minute(moment) % interval(job) == 0

    def run_periodic():
        with lock:
            return run_job(job)

    run_periodic.__doc__ = job.description
    return huey.periodic_task(due, name=job.name)(run_periodic)


PERIODIC = {job.name: _periodic_task(job) for job in SCHEDULE}


def register_periodic(job: PeriodicJob) -> None:
    """Add a domain's periodic job to the schedule. A domain whose jobs module imports this one
    registers its job at import (as app.integrations.jobs does), so the engine never imports
    the domain; create_app imports that module, so every process has the whole schedule."""
    if job.name in JOBS:
        raise RuntimeError(f"A periodic job named {job.name!r} is already scheduled.")
    SCHEDULE.append(job)
    JOBS[job.name] = job
    PERIODIC[job.name] = _periodic_task(job)


@huey.task(name="jobs.run_now")
def run_now(name: str) -> str | None:
    """`flask jobs run NAME`: one extra run of a periodic job, under the same lock."""
    with huey.lock_task(name):
        return run_job(JOBS[name], RunTrigger.MANUAL.value)


# --- the worker and what it has to do --------------------------------------------------------


def configure(app: Flask) -> None:
    """Bind the app the jobs run in, and the intervals set by JOBS_INTERVALS."""
    global _app
    _app = app
    _intervals.clear()
    _intervals.update(parse_intervals(app.config.get("JOBS_INTERVALS", "")))


def start_worker(app: Flask, *, workers: int = 1) -> None:
    """Run the consumer (worker threads and the periodic scheduler) until stopped. Locks left
    by a worker that was killed are cleared at start; the period claim in `job_runs` keeps a
    periodic job to one run per period even so. The jobs marked `at_start` are enqueued at once
    (a manual run each), since this worker may be the one replacing a killed worker."""
    configure(app)
    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, flush_locks=True
    )
    for job in SCHEDULE:
        if job.at_start:
            run_now(job.name)
    consumer.run()


def public_url(url: str) -> str:
    """JOBS_URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit(parts._replace(netloc=netloc))


def queue_status() -> dict:
    """Pending and scheduled tasks in the job storage. Reading never creates the storage."""
    status = {"available": True, "error": "", "pending": 0, "scheduled": 0}
    status.update(pending_tasks=[], scheduled_tasks=[])
    storage = huey.storage
    if isinstance(storage, SqliteStorage) and not Path(storage.filename).exists():
        return status
    try:
        status["pending"] = huey.pending_count()
        status["scheduled"] = huey.scheduled_count()
        status["pending_tasks"] = [_label(item) for item in huey.pending(limit=LISTED)]
        status["scheduled_tasks"] = [(_label(item), item.eta) for item in huey.scheduled(LISTED)]
    except Exception as error:  # a Redis that is down: say so instead of failing the page
        log.warning("Job storage unreadable: %s", error)
        status.update(available=False, error=_describe(error))
    return status


def _label(item) -> str:
    arguments = ", ".join(repr(argument) for argument in item.args or ())
    return f"{item.name}({arguments})"


def overview() -> dict:
    """What `flask jobs status` and Admin → Jobs show: the storage, its queue, the periodic
    jobs with their last runs, and the latest failed runs."""
    last = worklog.last_runs(list(JOBS))
    return {
        "url": public_url(Config.JOBS_URL),
        "backend": "redis" if isinstance(huey, RedisHuey) else "sqlite",
        "queue": queue_status(),
        "jobs": [
            {"job": job, "every": interval(job), "last_run": last.get(job.name)} for job in SCHEDULE
        ],
        "failures": worklog.recent_failures(),
    }
