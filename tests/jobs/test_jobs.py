"""The job engine in Huey's immediate mode: each periodic job does its work once per period and
is idempotent, holds its lock, is one unit of work; background tasks retry with backoff."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock, jobs, unit_of_work
from app.accounts.models import SYSTEM
from app.catalog.models import ServiceOffer
from app.extensions import db
from app.notifications import services as notifications
from app.notifications.models import Notification, OutboxEmail
from app.subscriptions import services as subs
from app.subscriptions.models import Subscription
from app.support import services as support
from app.support.models import SupportRequest
from app.worker import services as worklog
from app.worker.models import JobMark, JobRun
from tests.jobs.conftest import SCHEDULED, SmtpSink
from tests.status.test_services import usage_rows, world  # noqa: F401

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday


def run(name: str) -> None:
    """Run periodic job `name` the way the schedule does, then read what it committed."""
    jobs.PERIODIC[name]()
    db.session.expire_all()


def runs(name: str) -> list[JobRun]:
    return worklog.runs_of(name)


def subjects(user=None) -> list[str]:
    query = sa.select(Notification.subject).order_by(Notification.id)
    if user is not None:
        query = query.where(Notification.user_id == user.id)
    return list(db.session.scalars(query))


# --- the engine --------------------------------------------------------------------------------


def test_every_periodic_job_runs_once_per_period(app, immediate, users):
    assert [job.name for job in jobs.SCHEDULE] == SCHEDULED
    clock.freeze(NOW)
    for name in SCHEDULED:
        run(name)
        run(name)  # a second worker's scheduler enqueued it too
    for name in SCHEDULED:
        job = jobs.JOBS[name]
        (only,) = runs(name)
        assert only.status == "done" and only.period_start == jobs.period_start(job, NOW)
        assert only.trigger == "schedule" and only.finished_at == NOW and only.summary
    clock.freeze(NOW + timedelta(minutes=1))
    run("support.sla")  # the next minute is the next period
    run("catalog.expired")  # every 5 minutes: still the same period
    assert len(runs("support.sla")) == 2 and len(runs("catalog.expired")) == 1


def test_a_job_another_worker_is_running_does_not_run(app, immediate):
    clock.freeze(NOW)
    with jobs.huey.lock_task("support.sla"):
        run("support.sla")
    assert runs("support.sla") == []
    run("support.sla")  # the lock is free again
    assert len(runs("support.sla")) == 1


def test_a_failing_job_is_rolled_back_and_recorded_as_failed(app):
    clock.freeze(NOW)

    def half_done() -> str:
        assert worklog.once("half-done")
        raise RuntimeError("mail server on fire")

    job = jobs.PeriodicJob("tests.failing", half_done, 1, "")
    try:
        jobs.run_job(job)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the job's error must propagate to Huey")
    db.session.expire_all()
    assert db.session.scalars(sa.select(JobMark)).all() == []  # its work was rolled back
    (failed,) = runs("tests.failing")
    assert failed.status == "failed" and failed.error == "RuntimeError: mail server on fire"
    assert [run.name for run in worklog.recent_failures()] == ["tests.failing"]


attempts: list[int] = []


def _flaky(key: str, fail_times: int) -> str:
    attempts.append(1)
    worklog.once(f"{key}:{len(attempts)}")
    if len(attempts) <= fail_times:
        raise ConnectionError(f"receiver down (attempt {len(attempts)})")
    return "delivered"


flaky = jobs.task(retries=2, retry_delay=10, backoff=2.0, name="tests.flaky")(_flaky)


def _retry_due() -> list:
    return jobs.huey.read_schedule(datetime(2999, 1, 1))


def test_a_background_task_is_retried_with_backoff_then_fails_visibly(app, immediate):
    attempts.clear()
    started = datetime.now(UTC).replace(tzinfo=None)
    flaky("delivery", 5)  # immediate mode: runs now, fails, goes to the schedule
    (retry,) = _retry_due()
    first_delay = (retry.eta - started).total_seconds()
    assert retry.retries == 1 and 9 <= first_delay <= 12
    jobs.huey.execute(retry, timestamp=retry.eta)  # as the consumer will, once it is due
    (last,) = _retry_due()
    assert last.retries == 0 and last.retry_delay == 40  # 10 s, then 20 s: doubled each time
    second_delay = (last.eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
    assert 18 <= second_delay <= 20
    jobs.huey.execute(last, timestamp=last.eta)
    assert _retry_due() == [] and len(attempts) == 3
    db.session.expire_all()
    assert db.session.scalars(sa.select(JobMark)).all() == []  # every attempt rolled back
    (failed,) = runs("tests.flaky")
    assert failed.trigger == "task" and failed.status == "failed"
    assert failed.error == "ConnectionError: receiver down (attempt 3)"


def test_a_background_task_commits_its_work_once_at_its_end(app, immediate):
    attempts.clear()
    flaky("delivery", 0)
    db.session.expire_all()
    assert db.session.scalars(sa.select(JobMark.key)).all() == ["delivery:1"]
    assert _retry_due() == [] and runs("tests.flaky") == []


def test_intervals_can_be_tuned_but_must_divide_a_day(app):
    assert jobs.parse_intervals(" catalog.expired=15, status.quota_warnings=30 ") == {
        "catalog.expired": 15,
        "status.quota_warnings": 30,
    }
    for bad in ("catalog.expired=7", "catalog.expired=x", "nothing.here=5"):
        try:
            jobs.parse_intervals(bad)
        except RuntimeError:
            continue
        raise AssertionError(f"{bad} was accepted")


# --- the periodic jobs ---------------------------------------------------------------------------


def test_terminations_start_when_their_date_has_come(app, immediate, order_vpn, agent, users):
    order, _ = order_vpn()
    task = next(task for task in order.tasks if task.mode == "manual")
    subs.transition_task(agent, task.id, "complete")
    when = clock.now() + timedelta(days=3)
    subs.terminate(
        users["consumer"], order.subscription_id, at=when.isoformat(), idempotency_key="t"
    )
    db.session.commit()  # the consumer's requests ended; the job is another unit of work
    run("subscriptions.terminations")
    assert db.session.get(Subscription, order.subscription_id).status == "active"
    clock.freeze(when + timedelta(minutes=1))
    run("subscriptions.terminations")
    assert db.session.get(Subscription, order.subscription_id).status == "terminating"
    assert runs("subscriptions.terminations")[-1].summary == "Started 1 scheduled termination."


def _late_request(consumer, subscription):
    clock.freeze(NOW)  # high priority on business hours: first response due at 13:00
    request = support.open_request(
        consumer,
        subscription.id,
        request_type="issue",
        priority="high",
        subject="Cannot connect",
        description="Timeout at login.",
    )
    unit_of_work.commit()  # the consumer's request that opened it ended
    clock.freeze(NOW + timedelta(hours=4, minutes=1))
    return request


def test_an_sla_breach_is_recorded_and_notified_once(app, immediate, active_subscription, users):
    request = _late_request(users["consumer"], active_subscription)
    run("support.sla")
    clock.freeze(clock.now() + timedelta(minutes=1))
    run("support.sla")
    assert db.session.get(SupportRequest, request.id).response_breached_at is not None
    assert subjects().count(f"SLA breached (first response): request {request.id}") == 1
    assert [run.summary.startswith("Response breaches: 1") for run in runs("support.sla")] == [
        True,
        False,
    ]


@pytest.mark.committed  # two sessions race on their own connections
def test_of_two_racing_sla_checks_only_the_one_that_marks_the_breach_tells(
    app, active_subscription, users
):
    """Needs real commits: the other check runs on a second connection between this check's
    reading of the late requests and its marking of them."""
    request = _late_request(users["consumer"], active_subscription)

    def other_check_first(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE SUPPORT_REQUESTS") and not raced:
            raced.append(True)
            with db.engine.begin() as other:
                other.execute(
                    sa.update(SupportRequest)
                    .where(SupportRequest.id == request.id)
                    .values(response_breached_at=request.first_response_due)
                )

    raced: list[bool] = []
    sa.event.listen(db.engine, "before_cursor_execute", other_check_first)
    try:
        result = support.sla_check(SYSTEM)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", other_check_first)
    assert raced and result["response_breaches"] == 0
    assert f"SLA breached (first response): request {request.id}" not in subjects()


def _pending(count: int, users) -> None:
    for number in range(count):
        notifications.notify([users["consumer"]], f"Message {number}", kind="order_updates")
    db.session.commit()


def test_two_senders_never_claim_the_same_email(app, users):
    clock.freeze(NOW)
    _pending(3, users)
    first = [email.id for email in notifications.claim_outbox(2)]
    second = [email.id for email in notifications.claim_outbox(2)]
    assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)
    assert notifications.claim_outbox(2) == []
    clock.freeze(NOW + notifications.CLAIM_LEASE + timedelta(seconds=1))  # those senders died
    assert len(notifications.claim_outbox(5)) == 3


def test_the_outbox_job_sends_each_email_once(app, immediate, users):
    clock.freeze(NOW)
    _pending(3, users)
    run("notifications.outbox")
    assert runs("notifications.outbox")[0].summary.startswith("Mail is not configured")
    sink = SmtpSink()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port)
    try:
        clock.freeze(NOW + timedelta(minutes=1))
        run("notifications.outbox")
        clock.freeze(NOW + timedelta(minutes=2))
        run("notifications.outbox")
    finally:
        app.config.update(MAIL_SERVER="", MAIL_PORT=25)
        sink.close()
    assert sorted(message.split("Subject: ")[1].splitlines()[0] for message in sink.messages) == [
        "Message 0",
        "Message 1",
        "Message 2",
    ]
    emails = db.session.scalars(sa.select(OutboxEmail)).all()
    assert all(e.sent_at is not None and e.claimed_at is None and e.attempts == 1 for e in emails)
    assert [run.summary for run in runs("notifications.outbox")][1:] == [
        "Sent 3, failed 0.",
        "Sent 0, failed 0.",
    ]


def test_an_offer_is_announced_orderable_once_at_its_valid_from(
    app, immediate, make_offer, users, make_user
):
    clock.freeze(NOW)
    finance = make_user("consumer", groups=("Finance",))
    starts = NOW + timedelta(days=2)
    scheduled = make_offer("LATER", valid_from=starts.isoformat())
    make_offer("NOW-ON", valid_from=(NOW - timedelta(hours=1)).isoformat())
    run("catalog.orderable")
    assert "Now orderable: VPN access" not in subjects()  # not yet
    clock.freeze(starts + timedelta(minutes=3))
    run("catalog.orderable")
    clock.freeze(starts + timedelta(minutes=4))
    run("catalog.orderable")
    for consumer in (users["consumer"], users["other_consumer"], finance):  # no audience: all
        assert subjects(consumer).count("Now orderable: VPN access") == 1
    assert db.session.scalars(sa.select(JobMark.key)).all() == [f"offer-orderable:{scheduled.id}"]
    assert [run.summary for run in runs("catalog.orderable")] == [
        "Announced 0 offers as orderable.",
        "Announced 1 offer as orderable.",
        "Announced 0 offers as orderable.",
    ]


def test_an_offer_past_its_valid_to_is_recorded_once_and_keeps_its_status(
    app, immediate, make_offer, users
):
    clock.freeze(NOW)
    ends = NOW + timedelta(days=1)
    offer = make_offer("SHORT", valid_to=ends.isoformat())
    run("catalog.expired")
    clock.freeze(ends + timedelta(minutes=5))
    run("catalog.expired")
    clock.freeze(ends + timedelta(minutes=10))
    run("catalog.expired")
    stored = db.session.get(ServiceOffer, offer.id)
    assert stored.status == "published" and stored.display_status() == "expired"
    assert subjects(users["catalog_manager"]).count("Expired: VPN access") == 1
    assert [run.summary for run in runs("catalog.expired")] == [
        "Recorded 0 expired offers.",
        "Recorded 1 expired offer.",
        "Recorded 0 expired offers.",
    ]


def test_a_quota_warning_goes_to_the_owner_once_a_month(app, immediate, world, users):
    finance = world["finance"]
    # 5 GB a day from Nov 1: at the 20th, the 100 GB quota is reached.
    from app.status import services as status

    status.record_usage(
        world["feeder"],
        usage_rows(
            finance.id, "gb_transferred", 20, start=datetime(2026, 11, 1, tzinfo=UTC), per_day=5
        ),
    )
    run("status.quota_warnings")
    clock.freeze(clock.now() + timedelta(hours=1))
    run("status.quota_warnings")
    warnings = [
        n.body
        for n in db.session.scalars(
            sa.select(Notification).where(Notification.subject.like("Quota%"))
        )
    ]
    assert warnings == ["Data transferred has reached its monthly quota of 100 GB (2026-11-20)."]
    assert subjects(users["consumer"]).count("Quota warning: VPN access") == 1
    assert subjects(users["other_consumer"]).count("Quota warning: VPN access") == 0
    clock.freeze(datetime(2026, 12, 20, 12, tzinfo=UTC))  # a new month, no usage in it yet
    run("status.quota_warnings")
    assert (
        len(warnings) == 1 and runs("status.quota_warnings")[-1].summary == "Sent 0 quota warnings."
    )


# --- what operators and admins see ----------------------------------------------------------------


def test_jobs_status_shows_the_queue_and_the_last_runs(app, immediate):
    clock.freeze(NOW)
    run("support.sla")
    result = app.test_cli_runner().invoke(args=["jobs", "status"])
    assert result.exit_code == 0, result.output
    assert "Queued: 0  Scheduled: 0" in result.output
    assert "support.sla" in result.output and "2026-11-24 09:00:00 UTC done" in result.output
    assert "catalog.orderable" in result.output and "never" in result.output


def test_the_admin_jobs_page_reads_only(app, immediate, client_as):
    clock.freeze(NOW)
    run("support.sla")
    counts = _row_counts()
    for role, status in (("consumer", 403), ("catalog_manager", 403), ("support_agent", 403)):
        assert client_as(role).get("/admin/jobs/").status_code == status
    page = client_as("admin").get("/admin/jobs/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "support.sla" in text and "Response breaches: 0" in text and "never" in text
    assert _row_counts() == counts


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in (JobRun.__table__, JobMark.__table__, Notification.__table__)
    }
