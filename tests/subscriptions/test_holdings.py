"""How many active subscriptions of an offer one person and one group may hold: refused past
the offer's limit (service, order page, API), counted atomically when two orders race, set in
the editor, the API and the catalog file."""

import pytest
import sqlalchemy as sa

from app import unit_of_work
from app.catalog import services as catalog
from app.catalog.exchange import export as catalog_export
from app.errors import InvalidTransition, ValidationFailed
from app.extensions import db
from app.subscriptions import services as subs
from app.subscriptions.models import Order, Subscription
from tests.catalog.test_routes import offer_form
from tests.conftest import login, token_for
from tests.races import orders_racing_at_first_write

OPTIONS = {"profile": "developer", "devices": 2}
AT_ONCE = [
    {"name": "Create account", "mode": "automatic", "integration": None, "expected_hours": 1}
]
ONE_PER_PERSON = (
    "You already have 1 active subscription(s) of VPN access, and one person may hold 1. "
    "Use or change the one you have (see My subscriptions)."
)


def _order(user, offer, key, **kwargs):
    return subs.subscribe(
        user, offer.id, options=OPTIONS, accept_terms=True, idempotency_key=key, **kwargs
    )


def _held_by(user) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Subscription.id)).where(Subscription.owner_id == user.id)
    )


def test_a_second_subscription_past_the_person_limit_is_refused(make_offer, users):
    vpn = make_offer("VPN-ACCESS", max_per_person=1)
    _order(users["consumer"], vpn, "first")
    with pytest.raises(InvalidTransition) as refused:
        _order(users["consumer"], vpn, "second")
    assert refused.value.message == ONE_PER_PERSON
    assert refused.value.fields == {"offer_id": [ONE_PER_PERSON]}
    assert _held_by(users["consumer"]) == 1
    _order(users["other_consumer"], vpn, "theirs")  # another person still may
    assert _held_by(users["other_consumer"]) == 1


def test_the_same_key_returns_the_first_order_even_at_the_limit(make_offer, users):
    vpn = make_offer("VPN-ACCESS", max_per_person=1)
    first, created = _order(users["consumer"], vpn, "same")
    again, created_again = _order(users["consumer"], vpn, "same")
    assert (created, created_again, again.id) == (True, False, first.id)


def test_an_ended_subscription_no_longer_counts(make_offer, users, agent):
    vpn = make_offer("VPN-ACCESS", max_per_person=1, fulfillment_plan=AT_ONCE)
    order, _ = _order(users["consumer"], vpn, "first")
    assert db.session.get(Subscription, order.subscription_id).status == "active"
    subs.terminate(users["consumer"], order.subscription_id, idempotency_key="end")
    assert db.session.get(Subscription, order.subscription_id).status == "terminated"
    _, created = _order(users["consumer"], vpn, "again")
    assert created


def test_the_group_limit_counts_colleagues(make_offer, users, make_user):
    colleague = make_user("consumer", groups=("Finance",))
    licence = make_offer("LICENCE", max_per_group=1)
    _order(users["consumer"], licence, "mine")
    with pytest.raises(InvalidTransition) as refused:
        _order(colleague, licence, "theirs")
    assert refused.value.message == (
        "Finance already has 1 active subscription(s) of VPN access, and one group may hold 1."
    )


def test_unlimited_by_default(make_offer, users):
    offer = make_offer("VPN-ACCESS")
    assert (offer.max_per_person, offer.max_per_group) == (None, None)
    _order(users["consumer"], offer, "one")
    _order(users["consumer"], offer, "two")
    assert _held_by(users["consumer"]) == 2


def test_a_change_to_an_offer_held_to_the_limit_is_refused(make_offer, users):
    basic = make_offer("VPN-BASIC", fulfillment_plan=AT_ONCE, upgrade_codes=["VPN-PLUS"])
    plus = make_offer("VPN-PLUS", fulfillment_plan=AT_ONCE, max_per_person=1)
    _order(users["consumer"], plus, "plus")
    order, _ = _order(users["consumer"], basic, "basic")
    with pytest.raises(InvalidTransition) as refused:
        subs.modify(
            users["consumer"],
            order.subscription_id,
            target_offer_id=plus.id,
            accept_terms=True,
            idempotency_key="up",
        )
    assert refused.value.message.startswith("You already have 1 active subscription(s) of")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "Enter a whole number from 1 to 10,000, or leave it empty for any."),
        ("two", "Enter a whole number from 1 to 10,000, or leave it empty for any."),
        (1.5, "Enter a whole number from 1 to 10,000, or leave it empty for any."),
    ],
)
def test_a_limit_is_a_whole_number(make_offer, value, message):
    with pytest.raises(ValidationFailed) as refused:
        make_offer("VPN-ACCESS", publish=False, max_per_person=value)
    assert refused.value.fields == {"max_per_person": [message]}


# --- pages and API ----------------------------------------------------------------------------


def test_the_order_page_says_why_a_second_one_cannot_be_ordered(app, make_offer, users):
    vpn = make_offer("VPN-ACCESS", max_per_person=1)
    consumer = login(app.test_client(), users["consumer"])
    page = consumer.get(f"/subscriptions/new?offer={vpn.id}", follow_redirects=True)
    assert "One person may hold 1 active subscription of this offer." in page.get_data(as_text=True)
    _order(users["consumer"], vpn, "first")
    unit_of_work.commit()
    page = consumer.get(f"/subscriptions/new?offer={vpn.id}", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="not-orderable-reason"' in text
    assert "You already have 1 active subscription(s) of VPN access" in text
    posted = consumer.post(
        f"/subscriptions/new?offer={vpn.id}",
        data={"idempotency_key": "f" * 32, "accept_terms": "y", "option_profile": "developer"},
    )
    assert posted.status_code == 409 and _held_by(users["consumer"]) == 1


def test_the_api_answers_the_limit_with_a_problem(api, make_offer, users):
    vpn = make_offer("VPN-ACCESS", max_per_person=1)
    client = api(token_for(users["consumer"]))
    body = {"offer_id": vpn.id, "options": OPTIONS, "accept_terms": True}
    first = client.post("/api/v1/subscriptions", json=body, headers={"Idempotency-Key": "a"})
    assert first.status_code == 201
    refused = client.post("/api/v1/subscriptions", json=body, headers={"Idempotency-Key": "b"})
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert refused.json["detail"] == ONE_PER_PERSON


def test_the_catalog_api_sets_and_shows_the_limits(api, make_offer, users):
    offer = make_offer("VPN-ACCESS", publish=False)
    client = api(token_for(users["catalog_manager"]))
    path = f"/api/v1/offers/{offer.id}"
    etag = client.get(path).headers["ETag"]
    refused = client.patch(path, json={"max_per_person": -1}, headers={"If-Match": etag})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.json["errors"] == {
        "max_per_person": ["Enter a whole number from 1 to 10,000, or leave it empty for any."]
    }
    changed = client.patch(
        path, json={"max_per_person": 1, "max_per_group": 5}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200, changed.json
    assert (changed.json["max_per_person"], changed.json["max_per_group"]) == (1, 5)


def test_the_editor_saves_the_limits_and_change_paths(client_as, make_offer):
    offer = make_offer("VPN-ACCESS", publish=False)
    editor = client_as("catalog_manager")
    page = editor.get(f"/catalog/manage/offers/{offer.id}").get_data(as_text=True)
    assert 'name="max_per_person"' in page and "Active subscriptions per person" in page
    assert 'name="upgrade_codes"' in page and 'name="downgrade_codes"' in page
    data = offer_form(
        version=offer.version,
        max_per_person="1",
        max_per_group="",
        upgrade_codes="vpn-plus",
        downgrade_codes="VPN-LITE, VPN-MINI",
    )
    saved = editor.post(f"/catalog/manage/offers/{offer.id}", data=data)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    db.session.expire_all()
    saved_offer = catalog.get_offer(offer.id)
    assert saved_offer.max_per_person == 1
    assert (saved_offer.upgrade_codes, saved_offer.downgrade_codes) == (
        ["VPN-PLUS"],
        ["VPN-LITE", "VPN-MINI"],
    )
    shown = editor.get(f"/catalog/manage/offers/{offer.id}").get_data(as_text=True)
    assert 'value="VPN-LITE, VPN-MINI"' in shown
    refused = editor.post(
        f"/catalog/manage/offers/{offer.id}",
        data=offer_form(version=catalog.get_offer(offer.id).version, max_per_person="none"),
    )
    assert refused.status_code == 422
    assert "Enter a whole number from 1 to 10,000" in refused.get_data(as_text=True)


def test_the_catalog_file_carries_the_limits(make_offer, users):
    make_offer("VPN-ACCESS", max_per_person=1)
    document = catalog_export.export_catalog(users["catalog_manager"])
    (item,) = [item for item in document["offers"] if item["code"] == "VPN-ACCESS"]
    assert item["max_per_person"] == 1 and "max_per_group" not in item


# --- two orders, two connections ----------------------------------------------------------------


@pytest.mark.committed
def test_two_concurrent_orders_cannot_both_pass_the_limit(app, make_offer, users):
    """Each order runs on its own connection and session; both have read the offer, the options
    and their keys, and neither has written, when a barrier lets them go at their first write.
    Without the order lock both counted none held and both ordered."""
    vpn = make_offer("VPN-ACCESS", max_per_person=1)
    offer_id, user_id = vpn.id, users["consumer"].id
    db.session.commit()
    outcomes = orders_racing_at_first_write(app, user_id, offer_id, ["k1", "k2"], OPTIONS)
    assert sorted(outcomes.values()) == sorted(["ordered", ONE_PER_PERSON])
    db.session.expire_all()
    assert _held_by(users["consumer"]) == 1
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 1
