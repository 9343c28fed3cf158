"""Ordering on behalf of someone: a group's managers and members an admin allowed
(orders_for_others) order for the group's other members. The beneficiary owns the
subscription; requested_by keeps who ordered; both are told. Outside the actor's groups: not
found; without the permission: not allowed; nothing written either way."""

import pytest
import sqlalchemy as sa

from app import unit_of_work
from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.accounts.services import groups
from app.audit.models import AuditEvent
from app.errors import InvalidTransition, NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from app.notifications.models import Notification
from app.subscriptions import services as subs
from app.subscriptions.models import Order, Subscription
from app.subscriptions.services import orders
from tests.conftest import login, token_for

OPTIONS = {"profile": "developer", "devices": 2}


@pytest.fixture
def team(users, make_user, make_offer):
    """Finance: Mia manages it; Gus holds its orders_for_others grant; Pia is a plain member;
    the consumer (Fiona's stand-in) is the one ordered for. other_consumer is in Engineering."""
    mia = make_user("consumer", groups=("Finance",), name="Mia Manager", email="mia@example.test")
    gus = make_user("consumer", groups=("Finance",), name="Gus Grant", email="gus@example.test")
    pia = make_user("consumer", groups=("Finance",), name="Pia Plain", email="pia@example.test")
    finance = accounts.find_group_by_name("Finance")
    groups.set_managers(SYSTEM, finance, [mia])
    groups.set_ordering_grant(users["admin"], finance.id, gus.id, True)
    offer = make_offer("VPN-ACCESS")
    db.session.commit()
    return {"mia": mia, "gus": gus, "pia": pia, "finance": finance, "offer": offer}


def _order_for(actor, person, offer, key="k1", **kwargs):
    return subs.subscribe(
        actor,
        offer.id,
        options=OPTIONS,
        accept_terms=True,
        idempotency_key=key,
        requested_for=person,
        **kwargs,
    )


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_manager_orders_for_a_member(users, team):
    consumer = users["consumer"]
    order, created = _order_for(team["mia"], consumer.email, team["offer"])
    db.session.commit()
    subscription = order.subscription
    assert created is True
    assert subscription.owner_id == consumer.id
    assert subscription.requested_by_id == team["mia"].id
    assert order.requested_by_id == team["mia"].id
    assert subscription.group_id == team["finance"].id
    # the beneficiary sees it and it is theirs
    assert subs.subscription_for(consumer, subscription.id).id == subscription.id
    told = {
        (n.user_id, n.subject)
        for n in db.session.scalars(
            sa.select(Notification).where(Notification.link == f"/subscriptions/{subscription.id}")
        )
    }
    assert (consumer.id, "Mia Manager ordered VPN access for you") in told
    assert (team["mia"].id, f"You ordered VPN access for {consumer.name}") in told
    event = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "ordered", AuditEvent.object_id == str(subscription.id)
        )
    )
    assert event.actor_id == team["mia"].id
    assert event.summary == f"VPN-ACCESS for Finance on behalf of {consumer.email}"
    assert event.changes["owner"] == {"before": None, "after": consumer.email}


def test_a_member_with_the_grant_orders_for_a_colleague(users, team):
    order, _ = _order_for(team["gus"], users["consumer"].id, team["offer"])
    assert order.subscription.owner_id == users["consumer"].id
    assert order.subscription.requested_by_id == team["gus"].id


def test_ordering_for_oneself_keeps_requested_by_the_owner(users, team):
    order, _ = _order_for(team["mia"], None, team["offer"])
    assert order.subscription.owner_id == team["mia"].id
    assert order.subscription.requested_by_id == team["mia"].id


def test_outside_your_groups_is_not_found_and_nothing_is_written(users, team):
    for person in (users["other_consumer"].email, "nobody@example.test", 99999):
        with pytest.raises(NotFound) as refused:
            _order_for(team["mia"], person, team["offer"])
        assert refused.value.message == "No such person in your groups."
    db.session.rollback()
    assert _count(Subscription) == 0 and _count(Order) == 0


def test_without_the_permission_is_not_allowed_and_nothing_is_written(users, team):
    with pytest.raises(NotAllowed) as refused:
        _order_for(team["pia"], users["consumer"].email, team["offer"])
    assert refused.value.message == (
        f"You may not order for {users['consumer'].name}: only the group's managers and people "
        "an admin allowed to order for others may."
    )
    db.session.rollback()
    assert _count(Subscription) == 0 and _count(Order) == 0


def test_a_revoked_grant_no_longer_lets_one_order(users, team):
    groups.set_ordering_grant(users["admin"], team["finance"].id, team["gus"].id, False)
    with pytest.raises(NotAllowed):
        _order_for(team["gus"], users["consumer"].email, team["offer"])
    actions = list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.like("ordering_%"))
            .order_by(AuditEvent.id)
        )
    )
    assert actions == ["ordering_granted", "ordering_revoked"]


def test_only_admins_grant_and_only_to_members(users, team):
    with pytest.raises(NotAllowed):
        groups.set_ordering_grant(team["mia"], team["finance"].id, team["pia"].id, True)
    with pytest.raises(ValidationFailed) as refused:
        groups.set_ordering_grant(
            users["admin"], team["finance"].id, users["other_consumer"].id, True
        )
    assert refused.value.message == "Only a member of Finance may order for its members."


def test_several_at_once_one_subscription_each_with_derived_keys(users, team):
    people = [users["consumer"].email, team["pia"].email, team["gus"].email]
    placed = orders.subscribe_for(
        team["mia"],
        team["offer"].id,
        people,
        options=OPTIONS,
        accept_terms=True,
        idempotency_key="batch",
    )
    db.session.commit()
    assert [order.idempotency_key for order, _ in placed] == ["batch", "batch#2", "batch#3"]
    assert [order.subscription.owner.email for order, _ in placed] == [
        users["consumer"].email,
        "pia@example.test",
        "gus@example.test",
    ]
    again = orders.subscribe_for(
        team["mia"],
        team["offer"].id,
        people,
        options=OPTIONS,
        accept_terms=True,
        idempotency_key="batch",
    )
    assert [order.id for order, _ in again] == [order.id for order, _ in placed]
    assert [created for _, created in again] == [False, False, False]
    assert _count(Subscription) == 3


def test_several_at_once_is_all_or_none(users, team, make_offer):
    limited = make_offer("VPN-ONE", max_per_person=1)
    subs.subscribe(
        team["pia"], limited.id, options=OPTIONS, accept_terms=True, idempotency_key="own"
    )
    unit_of_work.commit()
    with pytest.raises(InvalidTransition):
        orders.subscribe_for(
            team["mia"],
            limited.id,
            [users["consumer"].email, team["pia"].email],
            options=OPTIONS,
            accept_terms=True,
            idempotency_key="b",
        )
    db.session.rollback()
    assert _count(Subscription) == 1  # Pia's own; the consumer's was taken back


def test_at_most_twenty_at_once(users, team, make_user):
    people = [make_user("consumer", groups=("Finance",)).email for _ in range(21)]
    with pytest.raises(ValidationFailed) as refused:
        orders.subscribe_for(
            team["mia"],
            team["offer"].id,
            people,
            options=OPTIONS,
            accept_terms=True,
            idempotency_key="b",
        )
    assert refused.value.message == "Order for at most 20 people at once."
    db.session.rollback()
    assert _count(Subscription) == 0


# --- API --------------------------------------------------------------------------------------


def _post(api, user, body, key="api-1"):
    return api(token_for(user)).post(
        "/api/v1/subscriptions", json=body, headers={"Idempotency-Key": key}
    )


def test_api_requested_for(api, users, team):
    body = {"offer_id": team["offer"].id, "options": OPTIONS, "accept_terms": True}
    response = _post(api, team["mia"], {**body, "requested_for": users["consumer"].email})
    assert response.status_code == 201, response.json
    assert response.json["owner"] == {
        "email": users["consumer"].email,
        "name": users["consumer"].name,
    }
    assert response.json["requested_by"] == {"email": "mia@example.test", "name": "Mia Manager"}
    mine = api(token_for(users["consumer"])).get(f"/api/v1/subscriptions/{response.json['id']}")
    assert mine.status_code == 200 and "owner" in mine.json


@pytest.mark.parametrize(
    ("actor", "person", "status"),
    [
        ("mia", "other_consumer", 404),
        ("mia", "ghost", 404),
        ("pia", "consumer", 403),
    ],
)
def test_api_refusals_write_nothing(api, users, team, actor, person, status):
    email = {
        "other_consumer": users["other_consumer"].email,
        "consumer": users["consumer"].email,
    }.get(person, "ghost@example.test")
    body = {
        "offer_id": team["offer"].id,
        "options": OPTIONS,
        "accept_terms": True,
        "requested_for": email,
    }
    response = _post(api, team[actor], body)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    db.session.expire_all()
    assert _count(Subscription) == 0 and _count(Order) == 0


def test_openapi_documents_requested_for(client):
    document = client.get("/api/v1/openapi.json").json
    schema = document["components"]["schemas"]["Subscribe"]
    assert "requested_for" in schema["properties"]
    assert "orders_for_others" in schema["properties"]["requested_for"]["description"]


# --- the order form ---------------------------------------------------------------------------


def test_the_order_form_offers_order_for_to_a_manager_only(app, users, team):
    manager = login(app.test_client(), team["mia"])
    url = f"/subscriptions/new?offer={team['offer'].id}&form=0123456789abcdef0123456789abcdef"
    page = manager.get(url).get_data(as_text=True)
    assert "<legend>Order for</legend>" in page
    assert f"{users['consumer'].name} (Finance)" in page
    plain = login(app.test_client(), team["pia"])
    assert "<legend>Order for</legend>" not in plain.get(url).get_data(as_text=True)


def test_the_order_form_orders_for_two_colleagues(app, users, team):
    manager = login(app.test_client(), team["mia"])
    response = manager.post(
        f"/subscriptions/new?offer={team['offer'].id}&form=0123456789abcdef0123456789abcdef",
        data={
            "idempotency_key": "0123456789abcdef0123456789abcdef",
            "option_profile": "developer",
            "option_devices": "2",
            "accept_terms": "y",
            "requested_for": [str(users["consumer"].id), str(team["pia"].id)],
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"] == "/subscriptions"
    db.session.expire_all()
    owners = sorted(s.owner.email for s in db.session.scalars(sa.select(Subscription)))
    assert owners == sorted([users["consumer"].email, "pia@example.test"])
    beneficiary = login(app.test_client(), users["consumer"])
    (mine,) = [
        s for s in db.session.scalars(sa.select(Subscription)) if s.owner_id == users["consumer"].id
    ]
    detail = beneficiary.get(f"/subscriptions/{mine.id}").get_data(as_text=True)
    assert f"Mia Manager, on behalf of {users['consumer'].name}" in detail
