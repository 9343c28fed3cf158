"""Lease extensions that need approval (`lease_extension_needs_approval`): the request does not
move the end; an `extend_lease` order waits in the approvals engine (the group's managers, or
the offer's policy's steps), approvers see "Lease extension to <date>" in their inbox, approval
applies the new end (and clears the warning marker), rejection leaves it, and the sweep
withdraws a request still waiting when the lease ends."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app import clock, unit_of_work
from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.accounts.services import groups
from app.errors import Conflict
from app.extensions import db
from app.notifications.models import Notification
from app.subscriptions.models import Order, Subscription
from app.subscriptions.services import approvals, lease_approval, leases, policies
from tests.conftest import login, token_for
from tests.races import racing_at_first_write
from tests.subscriptions.conftest import agent, leased_subscription, order_vpn  # noqa: F401

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = {
    "lease_days": 30,
    "lease_max_days": 90,
    "lease_warn_days": 5,
    "lease_extension_needs_approval": True,
}
NEW_END = datetime(2026, 4, 15, 23, 59, tzinfo=UTC)
FIRST_END = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def manager(make_user, users):
    mia = make_user("consumer", groups=("Finance",), name="Mia Manager")
    groups.set_managers(users["admin"], accounts.find_group_by_name("Finance"), [mia])
    return mia


def _leased(order_vpn, agent, **lease):
    return leased_subscription(order_vpn, agent, START, lease or LEASE)


def _subjects(user) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Notification.subject)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def _ends(subscription_id: int) -> datetime:
    db.session.expire_all()
    return clock.as_utc(db.session.get(Subscription, subscription_id).lease_ends_at)


def test_an_approved_extension_moves_the_end(order_vpn, agent, users, manager):
    subscription = _leased(order_vpn, agent)
    clock.freeze(datetime(2026, 3, 27, 9, 0, tzinfo=UTC))
    assert leases.sweep(SYSTEM) == (1, 0)  # warned at day 25
    leases.extend(users["consumer"], subscription.id, "2026-04-15")
    assert _ends(subscription.id) == FIRST_END  # not moved yet
    order = lease_approval.pending(subscription)
    assert (order.order_type, order.status) == ("extend_lease", "awaiting_approval")
    assert order.options == {"lease_ends_at": "2026-04-15T23:59:00+00:00"}
    assert [(s.name, s.status, s.asked) for s in order.approval_steps] == [
        ("Lease extension", "pending", [manager.id])
    ]
    assert order.tasks == []
    assert _subjects(manager)[-1] == "Approval needed: VPN access"
    with pytest.raises(Conflict) as failure:  # one request at a time
        leases.extend(users["consumer"], subscription.id, "2026-04-20")
    assert failure.value.fields == {
        "lease_ends_at": ["An extension to 2026-04-15 already waits for approval."]
    }

    approvals.decide(manager, order.approval_steps[0].id, "approve", "fine")
    assert _ends(subscription.id) == NEW_END
    subscription = db.session.get(Subscription, subscription.id)
    assert subscription.status == "active" and subscription.lease_warned_at is None
    assert db.session.get(Order, order.id).status == "completed"
    assert lease_approval.pending(subscription) is None
    notice = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == users["consumer"].id)
        .order_by(Notification.id.desc())
    ).first()
    assert notice.subject == "Approved: VPN access"
    assert notice.body == "The lease extension is approved: it now ends on 2026-04-15."
    clock.freeze(datetime(2026, 4, 11, 9, 0, tzinfo=UTC))
    assert leases.sweep(SYSTEM) == (1, 0)  # warned again before the new end


def test_a_rejected_extension_leaves_the_end(order_vpn, agent, users, manager):
    subscription = _leased(order_vpn, agent)
    leases.extend(users["consumer"], subscription.id, "2026-04-15")
    order = lease_approval.pending(subscription)
    approvals.decide(manager, order.approval_steps[0].id, "reject", "Finish by April.")
    assert _ends(subscription.id) == FIRST_END
    assert db.session.get(Subscription, subscription.id).status == "active"
    assert db.session.get(Order, order.id).status == "rejected"
    assert _subjects(users["consumer"])[-1] == "Rejected: VPN access"
    leases.extend(users["consumer"], subscription.id, "2026-04-05")  # may ask again
    assert lease_approval.requested_end(lease_approval.pending(subscription)) == datetime(
        2026, 4, 5, 23, 59, tzinfo=UTC
    )


def test_the_offer_policy_steps_decide_an_extension(order_vpn, agent, users, make_user):
    felix = make_user("consumer", groups=("Finance Approvers",), name="Felix Approver")
    subscription = _leased(order_vpn, agent)
    policy = {
        "auto_approve": "price_monthly < 100",  # never passes an extension
        "steps": [{"name": "Finance approval", "approvers": ["approver_group Finance Approvers"]}],
    }
    policies.set_policy(users["catalog_manager"], "offer", subscription.offer_id, policy)
    leases.extend(users["consumer"], subscription.id, "2026-04-15")
    order = lease_approval.pending(subscription)
    assert [(s.name, s.status, s.asked) for s in order.approval_steps] == [
        ("Finance approval", "pending", [felix.id])
    ]


def test_an_extension_still_waiting_is_withdrawn_when_the_lease_ends(
    order_vpn, agent, users, manager
):
    subscription = _leased(order_vpn, agent)
    leases.extend(users["consumer"], subscription.id, "2026-04-15")
    order = lease_approval.pending(subscription)
    clock.freeze(datetime(2026, 4, 1, 10, 0, tzinfo=UTC))
    assert leases.sweep(SYSTEM) == (0, 1)
    assert db.session.get(Order, order.id).status == "cancelled"
    assert db.session.get(Subscription, subscription.id).status == "terminating"


def test_pages_and_inbox_say_the_extension_waits(order_vpn, agent, users, manager, client_as, app):
    subscription = _leased(order_vpn, agent)
    unit_of_work.commit()
    owner = client_as("consumer")
    path = f"/subscriptions/{subscription.id}"
    asked = owner.post(f"{path}/lease-extension", data={"lease_ends_at": "2026-04-15"})
    assert asked.status_code == 302
    page = owner.get(path).get_data(as_text=True)
    assert "Extension to 2026-04-15 waiting for approval." in page
    assert "Lease ends on 2026-04-01" in page
    assert 'name="lease_ends_at"' not in page  # no second request meanwhile
    inbox = login(app.test_client(), manager).get("/approvals").get_data(as_text=True)
    assert "Lease extension to 2026-04-15" in inbox
    assert "(the lease now ends on 2026-04-01)" in inbox


def test_api_answers_202_with_the_waiting_extension(order_vpn, agent, users, manager, api):
    subscription = _leased(order_vpn, agent)
    unit_of_work.commit()
    path = f"/api/v1/subscriptions/{subscription.id}/lease-extension"
    owner = api(token_for(users["consumer"]))
    response = owner.post(path, json={"lease_ends_at": "2026-04-15"})
    assert response.status_code == 202, response.data
    order = lease_approval.pending(db.session.get(Subscription, subscription.id))
    assert response.json["lease_extension"] == {
        "order_id": order.id,
        "status": "awaiting_approval",
        "lease_ends_at": "2026-04-15T23:59:00+00:00",
    }
    assert response.json["lease_ends_at"].startswith("2026-04-01T09:00")
    again = owner.post(path, json={"lease_ends_at": "2026-04-20"})
    assert again.status_code == 409
    assert again.content_type == "application/problem+json"
    detail = owner.get(f"/api/v1/subscriptions/{subscription.id}").json
    assert detail["lease_extension"]["order_id"] == order.id


@pytest.mark.committed  # threads, each on its own connection
def test_two_racing_requests_place_one_extension(app, order_vpn, agent, users, manager):
    subscription_id = _leased(order_vpn, agent).id
    unit_of_work.commit()

    def request(user_id: int, day: str):
        def extend() -> str:
            leases.extend(db.session.get(type(users["consumer"]), user_id), subscription_id, day)
            return "placed"

        return extend

    outcomes = racing_at_first_write(
        app,
        {
            "owner": request(users["consumer"].id, "2026-04-15"),
            "manager": request(manager.id, "2026-04-20"),
        },
        refused=lambda error: "refused" if isinstance(error, Conflict) else None,
    ).values()
    assert sorted(outcomes) == ["placed", "refused"]
    db.session.expire_all()
    waiting = sa.select(sa.func.count(Order.id)).where(
        Order.subscription_id == subscription_id, Order.order_type == "extend_lease"
    )
    assert db.session.scalar(waiting) == 1
    assert _ends(subscription_id) == FIRST_END
