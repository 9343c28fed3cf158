"""SLA clocks on a frozen clock, with the expected due times worked out by hand."""

from datetime import UTC, datetime, timedelta

from app import clock
from app.accounts.models import SYSTEM
from app.support import services as support
from app.support.services.sla import add_working_time, working_seconds_between


def at(day: int, hour: int, minute: int = 0) -> datetime:
    # November 2026: the 23rd is a Monday, the 27th a Friday, the 28th and 29th the weekend.
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_business_hours_skip_nights_and_weekends():
    # Friday 17:00 + 3 working hours = 1 h on Friday, 2 h on Monday → Monday 10:00.
    assert add_working_time(at(27, 17), 3 * 3600, True) == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    # Saturday counts nothing; Monday 08:00–09:30 counts 1.5 h.
    assert (
        working_seconds_between(at(28, 12), datetime(2026, 11, 30, 9, 30, tzinfo=UTC), True) == 5400
    )
    # Around the clock: plain arithmetic.
    assert add_working_time(at(27, 17), 3 * 3600, False) == at(27, 20)


def test_request_with_pauses_gives_expected_due_times_and_breach(
    active_subscription, users, agents
):
    consumer, agent = users["consumer"], agents[1]
    # The VPN offer: high priority → response 4 h, resolution 8 h, business support hours.
    clock.freeze(at(24, 9))  # Tuesday 09:00
    request = support.open_request(
        consumer,
        active_subscription.id,
        request_type="issue",
        priority="high",
        subject="Cannot connect",
        description="Timeout at login.",
    )
    assert request.first_response_due == at(24, 13)
    assert request.resolution_due == at(24, 17)

    clock.freeze(at(24, 10))  # agent asks for more information at 10:00: clock paused
    support.transition_request(
        agent, request.id, "waiting_on_consumer", reason="Which client version?"
    )
    assert request.first_response_at == at(24, 10)
    assert support.sla_state(request)["paused"] is True

    clock.freeze(at(24, 15))  # consumer answers 5 h later
    support.add_message(consumer, request.id, "Version 5.2")
    assert request.status == "in_progress" and request.paused_seconds == 5 * 3600
    # Resolution due moves by the 5 paused working hours: 17:00 + 5 h = Wednesday 12:00 (18:00 close, 08:00 open).
    assert request.resolution_due == at(25, 12)

    clock.freeze(at(25, 11, 59))
    assert support.sla_check(SYSTEM)["resolution_breaches"] == 0
    clock.freeze(at(25, 12, 1))
    assert support.sla_check(SYSTEM)["resolution_breaches"] == 1
    assert request.resolution_breached_at == at(25, 12)
    assert request.response_breached_at is None


def test_late_first_response_is_a_breach(active_subscription, users, agents):
    clock.freeze(at(24, 9))
    request = support.open_request(
        users["consumer"],
        active_subscription.id,
        request_type="question",
        priority="critical",
        subject="Down",
        description="All down",
    )
    assert request.first_response_due == at(24, 10)  # critical: 1 h
    clock.freeze(at(24, 10, 30))
    result = support.sla_check(SYSTEM)
    assert result["response_breaches"] == 1
    assert request.response_breached_at == at(24, 10)


def test_resolved_requests_close_after_seven_days(active_subscription, users, agents):
    clock.freeze(at(24, 9))
    request = support.open_request(
        users["consumer"],
        active_subscription.id,
        request_type="question",
        priority="low",
        subject="How?",
        description="How do I?",
    )
    support.transition_request(agents[1], request.id, "resolved", reason="Like this.")
    clock.freeze(at(24, 9) + timedelta(days=6, hours=23))
    assert support.sla_check(SYSTEM)["closed"] == 0
    clock.freeze(at(24, 9) + timedelta(days=7, minutes=1))
    assert support.sla_check(SYSTEM)["closed"] == 1
    assert request.status == "closed"


def test_the_sla_check_runs_the_same_statements_for_2_or_12_breaches(
    active_subscription, users, agents
):
    import sqlalchemy as sa

    from app.audit.models import AuditEvent
    from app.extensions import db
    from app.notifications.models import Notification
    from app.support.models import SupportRequest
    from tests.conftest import count_queries

    def breach(how_many: int, day: int) -> int:
        clock.freeze(at(day, 9))
        for number in range(how_many):
            request = support.open_request(
                users["consumer"],
                active_subscription.id,
                request_type="issue",
                priority="high",
                subject=f"Down {day}-{number}",
                description="…",
            )
            if number % 2:  # half of them assigned: the assignee is told, not the tier
                support.assign(agents[1], request.id, agents[1].id)
        clock.freeze(at(day, 18))  # past both the 4 h response and 8 h resolution targets
        with count_queries() as statements:
            found = support.sla_check(SYSTEM)
        assert found["response_breaches"] == found["resolution_breaches"] == how_many
        return len(statements)

    assert breach(2, 24) == breach(12, 25)
    breached = db.session.scalar(
        sa.select(sa.func.count(SupportRequest.id)).where(
            SupportRequest.response_breached_at.is_not(None),
            SupportRequest.resolution_breached_at.is_not(None),
        )
    )
    events = db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "sla_breached")
    )
    told = db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(Notification.subject.like("SLA breached%"))
    )
    assert (breached, events) == (14, 28)
    assert told >= 28  # every breach told someone: its assignee or the tier's agents
