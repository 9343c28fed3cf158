"""Leases: a 30-day lease is warned about at day 25 (once, in the app and by e-mail), extended
within its 90-day maximum, and ended by the sweep through the normal termination flow."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock, unit_of_work
from app.accounts.models import SYSTEM
from app.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from app.notifications.models import Notification, OutboxEmail
from app.subscriptions import services as subs
from app.subscriptions.models import Order, Subscription
from app.subscriptions.services import leases
from tests.conftest import token_for
from tests.subscriptions.conftest import agent, leased_subscription, order_vpn  # noqa: F401

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = {"lease_days": 30, "lease_max_days": 90, "lease_warn_days": 5}


def _leased(order_vpn, agent, **lease):
    return leased_subscription(order_vpn, agent, START, lease or LEASE)


def _warnings(user):
    inbox = db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.subject.like("Your lease of%")
        )
    )
    mails = db.session.scalar(
        sa.select(sa.func.count(OutboxEmail.id)).where(
            OutboxEmail.recipient == user.email, OutboxEmail.subject.like("Your lease of%")
        )
    )
    return inbox, mails


def test_lease_is_warned_once_extended_and_ended_at_its_end(order_vpn, agent, users):
    subscription = _leased(order_vpn, agent)
    assert subscription.status == "active"
    assert clock.as_utc(subscription.lease_ends_at) == datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    clock.freeze(START + timedelta(days=24))
    assert leases.sweep(SYSTEM) == (0, 0)
    clock.freeze(START + timedelta(days=25))  # 5 days before the end
    assert leases.sweep(SYSTEM) == (1, 0)
    assert leases.sweep(SYSTEM) == (0, 0)  # never twice
    assert _warnings(users["consumer"]) == (1, 1)
    notice = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == users["consumer"].id)
        .order_by(Notification.id.desc())
    ).first()
    assert notice.subject == "Your lease of VPN access ends on 2026-04-01"
    assert notice.link == f"/subscriptions/{subscription.id}"

    leases.extend(users["consumer"], subscription.id, "2026-04-15")
    subscription = db.session.get(Subscription, subscription.id)
    assert clock.as_utc(subscription.lease_ends_at) == datetime(2026, 4, 15, 23, 59, tzinfo=UTC)
    assert subscription.lease_warned_at is None
    clock.freeze(datetime(2026, 4, 2, 9, 0, tzinfo=UTC))  # past the first end: still active
    assert leases.sweep(SYSTEM) == (0, 0)
    clock.freeze(datetime(2026, 4, 11, 9, 0, tzinfo=UTC))  # warned again before the new end
    assert leases.sweep(SYSTEM) == (1, 0)
    clock.freeze(datetime(2026, 4, 16, 0, 0, tzinfo=UTC))
    assert leases.sweep(SYSTEM) == (0, 1)
    subscription = db.session.get(Subscription, subscription.id)
    assert subscription.status == "terminating"
    end = db.session.scalar(
        sa.select(Order).where(
            Order.subscription_id == subscription.id, Order.order_type == "terminate"
        )
    )
    assert end.status == "in_progress"
    subs.transition_task(agent, end.tasks[0].id, "complete")
    subscription = db.session.get(Subscription, subscription.id)
    assert subscription.status == "terminated"
    assert subs.current_contract(subscription).status == "ended"
    assert leases.sweep(SYSTEM) == (0, 0)
    assert _warnings(users["consumer"]) == (2, 2)  # one per end date, none twice


def test_extension_bad_input_gets_field_messages(order_vpn, agent, users):
    subscription = _leased(order_vpn, agent)
    cases = {
        "2026-06-01": "The lease can run until 2026-05-31 at the latest.",
        "2026-03-01": "The end date must be in the future.",
        "2026-03-20": "Choose a date after the current end, 2026-04-01.",
        "soon": "Enter a date",
        "": "Choose the new end date.",
    }
    for value, message in cases.items():
        with pytest.raises(ValidationFailed) as failure:
            leases.extend(users["consumer"], subscription.id, value)
        assert failure.value.fields["lease_ends_at"][0].startswith(message), value


def test_only_the_owner_or_a_group_manager_extends(order_vpn, agent, users, make_user):
    subscription = _leased(order_vpn, agent)
    colleague = make_user("consumer", groups=("Finance",))
    with pytest.raises(NotAllowed):
        leases.extend(colleague, subscription.id, "2026-04-10")
    with pytest.raises(NotFound):
        leases.extend(users["other_consumer"], subscription.id, "2026-04-10")


def test_a_subscription_without_lease_cannot_be_extended(order_vpn, agent, users):
    subscription = _leased(order_vpn, agent, lease_days=None)
    assert subscription.lease_ends_at is None
    with pytest.raises(Conflict) as failure:
        leases.extend(users["consumer"], subscription.id, "2026-04-10")
    assert failure.value.fields == {"lease_ends_at": ["This subscription has no lease."]}


def test_api_extends_and_answers_problems(order_vpn, agent, users, api):
    subscription = _leased(order_vpn, agent)
    unit_of_work.commit()
    path = f"/api/v1/subscriptions/{subscription.id}/lease-extension"
    owner = api(token_for(users["consumer"]))
    response = owner.post(path, json={"lease_ends_at": "2026-05-31"})
    assert response.status_code == 200, response.data
    assert response.json["lease_ends_at"].startswith("2026-05-31T23:59")
    assert response.json["lease_latest_end"].startswith("2026-05-31T23:59")
    response = owner.post(path, json={"lease_ends_at": "2026-07-01"})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.json["errors"]["lease_ends_at"] == [
        "The lease can run until 2026-05-31 at the latest."
    ]
    response = api(token_for(users["other_consumer"])).post(path, json={"lease_ends_at": "x"})
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


@pytest.mark.committed  # threads, each on its own connection
def test_two_sweeps_racing_warn_and_end_once(app, order_vpn, agent, users):
    import threading

    from tests.races import _reads

    subscription_id = _leased(order_vpn, agent).id
    unit_of_work.commit()
    names = ["sweep-1", "sweep-2"]

    def race() -> list[str]:
        barrier = threading.Barrier(len(names))
        waited: set[str] = set()
        outcomes: list[str] = []

        def all_have_read(conn, cursor, statement, parameters, context, executemany):
            name = threading.current_thread().name
            if name in names and name not in waited and not _reads(statement):
                waited.add(name)
                barrier.wait(timeout=60)

        def sweep() -> None:
            with app.app_context():
                try:
                    outcomes.append(str(leases.sweep(SYSTEM)))
                    unit_of_work.commit()
                except Conflict:
                    db.session.rollback()
                    outcomes.append("refused")
                finally:
                    db.session.remove()

        pool = db.engine.pool
        db.engine.pool = pool.recreate()
        sa.event.listen(db.engine, "before_cursor_execute", all_have_read)
        try:
            threads = [threading.Thread(target=sweep, name=name) for name in names]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", all_have_read)
            db.engine.pool.dispose()
            db.engine.pool = pool
        return sorted(outcomes)

    clock.freeze(START + timedelta(days=26))
    warned = race()
    assert warned in (["(0, 0)", "(1, 0)"], ["(1, 0)", "refused"])
    assert _warnings(users["consumer"]) == (1, 1)
    clock.freeze(START + timedelta(days=31))
    ended = race()
    assert ended in (["(0, 0)", "(0, 1)"], ["(0, 1)", "refused"])
    db.session.expire_all()
    assert db.session.get(Subscription, subscription_id).status == "terminating"
    ends = sa.select(sa.func.count(Order.id)).where(
        Order.subscription_id == subscription_id, Order.order_type == "terminate"
    )
    assert db.session.scalar(ends) == 1


def test_subscription_page_shows_the_lease_and_extends_it(order_vpn, agent, users, client_as):
    subscription = _leased(order_vpn, agent)
    unit_of_work.commit()
    owner = client_as("consumer")
    page = owner.get(f"/subscriptions/{subscription.id}").get_data(as_text=True)
    assert "Lease ends on 2026-04-01" in page
    assert "You can extend it until 2026-05-31 at the latest." in page
    path = f"/subscriptions/{subscription.id}/lease-extension"
    bad = owner.post(path, data={"lease_ends_at": "2026-06-30"})
    assert bad.status_code == 422
    assert "The lease can run until 2026-05-31 at the latest." in bad.get_data(as_text=True)
    good = owner.post(path, data={"lease_ends_at": "2026-05-01"})
    assert good.status_code == 302
    page = owner.get(f"/subscriptions/{subscription.id}").get_data(as_text=True)
    assert "Lease ends on 2026-05-01" in page


def test_offer_lease_terms_are_validated(make_offer):
    with pytest.raises(ValidationFailed) as failure:
        make_offer("LEASED", lease_days=30, lease_max_days=20, lease_warn_days=30)
    assert failure.value.fields == {
        "lease_max_days": ["The maximum cannot be below the lease's days."],
        "lease_warn_days": ["Warn fewer days before the end than the lease lasts."],
    }
    with pytest.raises(ValidationFailed) as failure:
        make_offer("LEASED", lease_days="0", lease_warn_days=5)
    assert failure.value.fields == {
        "lease_days": ["Enter a whole number of days from 1 to 3,650, or leave it empty."],
        "lease_warn_days": ["Set the lease's days first."],
    }
