"""The daily digest: one e-mail a day with the day's events, sent once."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.notifications import jobs as notification_jobs
from app.notifications import services as notifications
from app.notifications.models import OutboxEmail
from app.notifications.services import preferences

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # after the default digest hour, 07:00 UTC
ALL_KINDS = preferences.KINDS


def choose(user, channel: str) -> None:
    preferences.save_preferences(user, dict.fromkeys(ALL_KINDS, channel))


def five_events(*people) -> None:
    """Five things happen in a day, of three kinds."""
    for hour, (kind, subject) in enumerate(
        [
            ("order_updates", "Active: VPN access"),
            ("order_updates", "Changed: VPN access"),
            ("support_replies", "Reply on request 7"),
            ("release_announcements", "New offer: Laptop"),
            ("release_announcements", "Price change: Laptop"),
        ]
    ):
        clock.freeze(NOW - timedelta(hours=7 - hour))
        notifications.notify(people, subject, "Details.", "/inbox", kind=kind)
    clock.freeze(NOW)


def emails_to(user) -> list[OutboxEmail]:
    return list(
        db.session.scalars(
            sa.select(OutboxEmail)
            .where(OutboxEmail.recipient == user.email)
            .order_by(OutboxEmail.id)
        )
    )


def test_a_digest_user_gets_one_email_for_a_days_five_events(make_user):
    digest, in_app, by_email = make_user(), make_user(), make_user()
    choose(digest, "digest")
    choose(in_app, "in_app")
    choose(by_email, "email")
    five_events(digest, in_app, by_email)

    assert notification_jobs.send_digests(NOW) == "Queued 1 digest e-mail (5 events)."

    assert len(emails_to(digest)) == 1
    assert len(emails_to(in_app)) == 0
    assert len(emails_to(by_email)) == 5
    (email,) = emails_to(digest)
    assert email.subject == "Your Offerdesk digest for 2026-12-02: 5 events"
    assert "Order updates (2)" in email.body
    assert "Support requests and replies (1)" in email.body
    assert "New and changed offers (2)" in email.body
    assert "- 2026-12-02 01:00 UTC  Active: VPN access" in email.body
    assert "http://127.0.0.1:5000/inbox" in email.body
    assert "http://127.0.0.1:5000/account/notifications" in email.body
    assert notifications.unread_count(digest) == 0  # the digest is its channel
    assert notifications.unread_count(in_app) == 5


def test_a_second_run_the_same_day_sends_nothing_more(make_user):
    user = make_user()
    choose(user, "digest")
    five_events(user)
    notification_jobs.send_digests(NOW)
    clock.freeze(NOW + timedelta(hours=1))
    notifications.notify([user], "Late news", kind="order_updates")

    assert notification_jobs.send_digests(NOW + timedelta(hours=2)) == (
        "Queued 0 digest e-mails (0 events)."
    )
    assert len(emails_to(user)) == 1
    tomorrow = NOW + timedelta(days=1)
    assert notification_jobs.send_digests(tomorrow) == "Queued 1 digest e-mail (1 event)."
    assert emails_to(user)[1].subject == "Your Offerdesk digest for 2026-12-03: 1 event"
    assert "Late news" in emails_to(user)[1].body and "VPN" not in emails_to(user)[1].body


def test_no_events_no_digest(make_user):
    user = make_user()
    choose(user, "digest")
    assert notification_jobs.send_digests(NOW) == "Queued 0 digest e-mails (0 events)."
    assert emails_to(user) == []


def test_the_scheduled_job_waits_for_the_digest_hour(app, make_user):
    user = make_user()
    choose(user, "digest")
    five_events(user)
    app.config["NOTIFICATIONS_DIGEST_HOUR"] = 9
    try:
        assert notification_jobs.send_digests(NOW) == "Not yet: the digests go out from 09:00 UTC."
        assert emails_to(user) == []
        later = NOW + timedelta(hours=3)  # a worker that was down at 09:00 catches up
        assert notification_jobs.send_digests(later) == "Queued 1 digest e-mail (5 events)."
    finally:
        app.config["NOTIFICATIONS_DIGEST_HOUR"] = 7


def test_the_command_sends_the_digest_whatever_the_hour_once_a_day(app, make_user):
    user = make_user()
    choose(user, "digest")
    five_events(user)
    clock.freeze(NOW.replace(hour=6))  # before the digest hour
    runner = app.test_cli_runner()
    first = runner.invoke(args=["notifications", "send-digest"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "Queued 1 digest e-mail (5 events)."
    second = runner.invoke(args=["notifications", "send-digest"])
    assert second.output.strip() == "Queued 0 digest e-mails (0 events)."
    assert len(emails_to(user)) == 1
