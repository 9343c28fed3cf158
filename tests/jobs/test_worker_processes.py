"""Real `flask jobs worker` processes against SQLite storage and against a real redis-server.

These tests need real commits: the workers are other processes on the test database. Their
setup is committed through the services and the truncating cleanup empties the tables."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock, jobs
from app.config import ROOT
from app.extensions import db
from app.notifications import services as notifications
from app.notifications.models import OutboxEmail
from app.subscriptions import services as subs
from app.subscriptions.models import Subscription
from app.worker.models import JobRun
from tests.jobs.conftest import SCHEDULED, wait_for

# Worker processes read and write the database themselves: these tests commit for real.
pytestmark = pytest.mark.committed


def fresh(query):
    """Read what other processes committed: end this session's transaction first."""
    db.session.rollback()
    return db.session.execute(query).all()


def flask(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def subjects_sent(sink) -> list[str]:
    return [message.split("Subject: ")[1].splitlines()[0] for message in sink.messages]


def test_a_worker_on_sqlite_storage_runs_the_schedule_and_the_queue(
    app, tmp_path, job_env, start_worker, smtp_sink, order_vpn, agent, users
):
    # A termination due an hour ago: ordered, with its date set, while the clock said so.
    real_now = datetime.now(UTC)
    clock.freeze(real_now - timedelta(hours=3))
    order, _ = order_vpn()
    manual = next(task for task in order.tasks if task.mode == "manual")
    subs.transition_task(agent, manual.id, "complete")
    due = (real_now - timedelta(hours=1)).isoformat()
    subs.terminate(users["consumer"], order.subscription_id, at=due, idempotency_key="end")
    clock.freeze(None)
    notifications.notify([users["consumer"]], "Hello from the worker", kind="order_updates")
    db.session.commit()
    waiting = db.session.scalars(sa.select(OutboxEmail.id)).all()  # the worker adds more

    env = job_env(
        f"sqlite:///{tmp_path / 'jobs.db'}", MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_sink.port)
    )
    worker = start_worker(env)
    status = sa.select(Subscription.status).where(Subscription.id == order.subscription_id)
    wait_for(
        lambda: fresh(status) == [("terminating",)], 60, "termination started\n" + worker.output()
    )
    wait_for(lambda: "Hello from the worker" in subjects_sent(smtp_sink), 30, "e-mail sent")
    unsent = sa.select(OutboxEmail.id).where(
        OutboxEmail.id.in_(waiting), OutboxEmail.sent_at.is_(None)
    )
    assert fresh(unsent) == []

    # The queue: another process enqueues a run, the worker takes it.
    assert flask(env, "jobs", "run", "support.sla").strip() == "Enqueued support.sla."
    manual_runs = sa.select(JobRun.name, JobRun.status).where(JobRun.trigger == "manual")
    expected = [  # the three sweeps run at the worker's start, then ours
        ("fulfillment.lost_steps", "done"),
        ("integrations.lost_deliveries", "done"),
        ("search.index_health", "done"),
        ("support.sla", "done"),
    ]
    wait_for(lambda: sorted(fresh(manual_runs)) == expected, 30, "manual runs\n" + worker.output())
    report = flask(env, "jobs", "status")
    assert "Storage: sqlite" in report and "Queued: 0" in report
    assert "subscriptions.terminations" in report and "Started 1 scheduled termination." in report
    worker.stop()
    assert worker.process.returncode == 0, worker.output()


def _clear_of_a_minute_boundary() -> None:
    """Start both workers early in a minute, so their schedulers see the same period."""
    second = datetime.now(UTC).second
    if second > 15:
        time.sleep(61 - second)


def test_two_workers_on_redis_run_each_periodic_job_once_per_period(
    app, job_env, start_worker, redis_url, smtp_sink, users
):
    for number in range(5):
        notifications.notify([users["consumer"]], f"Message {number}", kind="order_updates")
    db.session.commit()
    every_minute = ",".join(f"{name}=1" for name in SCHEDULED)
    env = job_env(
        redis_url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_sink.port),
        JOBS_INTERVALS=every_minute,
    )
    _clear_of_a_minute_boundary()
    workers = [start_worker(env), start_worker(env)]

    def enqueued_by_both():
        return all(
            f"Enqueueing periodic task app.jobs.{name}:" in worker.output()
            for worker in workers
            for name in SCHEDULED
        )

    wait_for(enqueued_by_both, 45, "both schedulers enqueued every job\n" + workers[0].output())
    queue = jobs.huey_for(redis_url)
    scheduled = sa.select(JobRun.name, JobRun.period_start).where(JobRun.trigger == "schedule")
    finished = scheduled.where(JobRun.status == "done")

    def all_done():
        names = {name for name, _ in fresh(finished)}
        return names == set(SCHEDULED) and queue.pending_count() == 0

    wait_for(all_done, 45, "every job ran and the queue is empty\n" + workers[1].output())
    time.sleep(1)  # a second run, were there one, would have started by now
    # Once per period: on a slow machine the two may start either side of a minute boundary
    # (or the run may outlast one), and then a job has a run for each period, never two in one.
    runs = Counter(fresh(scheduled))
    assert {name for name, _ in runs} == set(SCHEDULED)
    assert set(runs.values()) == {1}, runs
    at_start = sa.select(JobRun.name, JobRun.status).where(JobRun.trigger == "manual")
    # Each worker enqueued one at its start; one that found the other's run holding the job's
    # lock was skipped (the other was doing the same sweep at that moment).
    assert set(fresh(at_start)) == {
        ("fulfillment.lost_steps", "done"),
        ("integrations.lost_deliveries", "done"),
        ("search.index_health", "done"),
    }
    assert len(fresh(at_start)) in (3, 4, 5, 6)
    enqueued = Counter(
        line.split("Enqueueing periodic task app.jobs.")[1].split(":")[0]
        for worker in workers
        for line in worker.output().splitlines()
        if "Enqueueing periodic task" in line
    )
    periods = len({period for _, period in runs})
    assert enqueued == dict.fromkeys(SCHEDULED, 2 * periods)  # both enqueued each, one ran
    assert sorted(subjects_sent(smtp_sink)) == [f"Message {number}" for number in range(5)]
    jobs_status = flask(env, "jobs", "status")
    assert "Storage: redis (redis://127.0.0.1:" in jobs_status and "Queued: 0" in jobs_status
