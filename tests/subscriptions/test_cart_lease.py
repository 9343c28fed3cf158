"""The cart carries the lease's end a consumer chooses for an offer with `lease_end_chosen`:
checked as an order checks it when added or changed (nothing written on error), shown on the
Cart page and in the API, pre-filled when the item is edited, and ordered with the checkout,
which refuses the item, by name, when the day chosen is no longer a valid end."""

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from app import clock, unit_of_work
from app.errors import ValidationFailed
from app.extensions import db
from app.subscriptions.models import CartItem, Order, Subscription
from app.subscriptions.services import cart, cart_checkout
from tests.conftest import token_for

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # ends from 2026-03-03 to 2026-05-01
SANDBOX = {
    "name": "Sandbox environment",
    "lease_days": 14,
    "lease_max_days": 60,
    "lease_warn_days": 3,
    "lease_end_chosen": True,
    "lease_extension_needs_approval": True,
}
OPTIONS = {"profile": "developer", "devices": 2}
FORM = {"accept_terms": "y", "option_profile": "developer", "option_devices": "2"}


@pytest.fixture
def sandbox(make_offer):
    clock.freeze(START)
    return make_offer("SANDBOX-ENV", **SANDBOX)


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _checkout(consumer, key="checkout-1"):
    version = cart.cart_page(consumer)["version"]
    return cart_checkout.checkout(consumer, expected_cart_version=version, idempotency_key=key)


def test_the_chosen_day_is_kept_and_ordered_at_checkout(users, sandbox):
    consumer = users["consumer"]
    item = cart.add_item(
        consumer, sandbox.id, options=OPTIONS, accept_terms=True, lease_ends_on="2026-04-20"
    )
    db.session.commit()
    assert db.session.get(CartItem, item.id).lease_ends_on == date(2026, 4, 20)
    clock.freeze(datetime(2026, 3, 4, 8, 0, tzinfo=UTC))  # checked out two days later
    (order,), created = _checkout(consumer)
    assert created is True
    assert order.agreement["lease"]["ends_on"] == "2026-04-20"
    subscription = db.session.get(Subscription, order.subscription_id)
    assert clock.as_utc(subscription.lease_chosen_end) == datetime(2026, 4, 20, 23, 59, tzinfo=UTC)


def test_no_day_chosen_is_the_lease_days_from_the_checkout(users, sandbox):
    consumer = users["consumer"]
    item = cart.add_item(consumer, sandbox.id, options=OPTIONS, accept_terms=True)
    assert item.lease_ends_on is None
    clock.freeze(datetime(2026, 3, 4, 8, 0, tzinfo=UTC))
    (order,), _created = _checkout(consumer)
    assert order.agreement["lease"]["ends_on"] == "2026-03-18"


def test_bad_days_get_field_messages_and_write_nothing(users, sandbox):
    consumer = users["consumer"]
    cases = {
        "2026-03-02": "Choose a day from 2026-03-03 on.",
        "2026-05-02": "The lease can run until 2026-05-01 at the latest.",
        "next week": "Enter a date as YYYY-MM-DD.",
        "2026-02-30": "Enter a date as YYYY-MM-DD.",
    }
    for value, message in cases.items():
        with pytest.raises(ValidationFailed) as failure:
            cart.add_item(consumer, sandbox.id, options=OPTIONS, lease_ends_on=value)
        assert failure.value.fields == {"lease_ends_on": [message]}, value
    with pytest.raises(ValidationFailed) as failure:  # both fields' messages at once
        cart.add_item(consumer, sandbox.id, options={"profile": "nope"}, lease_ends_on="2027-01-01")
    assert set(failure.value.fields) == {"options.profile", "lease_ends_on"}
    assert _count(CartItem) == 0


def test_changing_the_day_checks_it_and_keeps_the_item_on_error(users, sandbox):
    consumer = users["consumer"]
    item = cart.add_item(consumer, sandbox.id, options=OPTIONS, lease_ends_on="2026-04-20")
    db.session.commit()
    cart.change_item(consumer, item.id, lease_ends_on="2026-04-01")
    db.session.commit()
    with pytest.raises(ValidationFailed) as failure:
        cart.change_item(
            consumer,
            item.id,
            options={"profile": "standard", "devices": 3},
            lease_ends_on="2026-06-01",
        )
    assert failure.value.fields == {
        "lease_ends_on": ["The lease can run until 2026-05-01 at the latest."]
    }
    db.session.rollback()
    kept = db.session.get(CartItem, item.id)
    assert (kept.lease_ends_on, kept.options["devices"]) == (date(2026, 4, 1), 2)
    cart.change_item(consumer, item.id, accept_terms=True)  # the day left as it is
    assert kept.lease_ends_on == date(2026, 4, 1)
    cart.change_item(consumer, item.id, lease_ends_on="")  # emptied: the default at checkout
    assert kept.lease_ends_on is None


def test_an_offer_that_does_not_ask_ignores_a_day_sent(users, make_offer):
    clock.freeze(START)
    offer = make_offer("VPN-ACCESS", lease_days=30, lease_warn_days=5)
    item = cart.add_item(
        users["consumer"], offer.id, options=OPTIONS, accept_terms=True, lease_ends_on="soon"
    )
    assert item.lease_ends_on is None
    (order,), _created = _checkout(users["consumer"])
    assert "ends_on" not in order.agreement["lease"]


def test_a_day_past_by_the_checkout_refuses_the_item_by_name(users, sandbox, make_offer):
    consumer = users["consumer"]
    vpn = make_offer("VPN-ACCESS")
    cart.add_item(consumer, vpn.id, options={"devices": 2}, accept_terms=True)
    item = cart.add_item(
        consumer, sandbox.id, options=OPTIONS, accept_terms=True, lease_ends_on="2026-03-05"
    )
    db.session.commit()
    clock.freeze(datetime(2026, 3, 6, 8, 0, tzinfo=UTC))
    with pytest.raises(ValidationFailed) as failure:
        _checkout(consumer)
    assert failure.value.message == (
        "Sandbox environment cannot be ordered: Choose when the lease ends. Nothing was ordered."
    )
    assert failure.value.fields == {
        f"items.{item.id}.lease_ends_on": ["Choose a day from 2026-03-07 on."]
    }
    assert (_count(Order), _count(CartItem)) == (0, 2)


def test_the_api_takes_and_returns_the_day(api, users, sandbox):
    consumer = api(token_for(users["consumer"]))
    body = {"offer_id": sandbox.id, "options": OPTIONS, "accept_terms": True}
    refused = consumer.post("/api/v1/cart/items", json={**body, "lease_ends_on": "2026-06-01"})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["errors"] == {
        "lease_ends_on": ["The lease can run until 2026-05-01 at the latest."]
    }
    added = consumer.post("/api/v1/cart/items", json={**body, "lease_ends_on": "2026-04-20"})
    assert added.status_code == 201
    consumer.post("/api/v1/cart/items", json=body)
    items = consumer.get("/api/v1/cart/items").get_json()["items"]
    assert [item["lease_ends_on"] for item in items] == ["2026-04-20", None]


def _form_address(client, offer_id: int, **extra) -> str:
    query = "&".join([f"offer={offer_id}", *(f"{k}={v}" for k, v in extra.items())])
    return client.get(f"/subscriptions/new?{query}").headers["Location"]


def _ends_on_value(page: str) -> str:
    field = re.search(r"<input[^>]*name=\"lease_ends_on\"[^>]*>", page).group(0)
    return re.search(r'value="([^"]*)"', field).group(1)


def test_the_order_form_adds_and_edits_the_day_and_the_cart_shows_it(client_as, sandbox):
    unit_of_work.commit()
    consumer = client_as("consumer")
    address = _form_address(consumer, sandbox.id)
    added = consumer.post(address, data={**FORM, "lease_ends_on": "2026-04-20", "add_to_cart": "1"})
    assert added.status_code == 302 and added.headers["Location"] == "/cart"
    page = consumer.get("/cart").get_data(as_text=True)
    assert re.search(r'data-testid="item-lease"><dt>Ends on</dt><dd>2026-04-20</dd>', page)

    item = db.session.scalars(sa.select(CartItem)).one()
    address = _form_address(consumer, sandbox.id, item=item.id)
    assert _ends_on_value(consumer.get(address).get_data(as_text=True)) == "2026-04-20"
    refused = consumer.post(
        address, data={**FORM, "lease_ends_on": "2026-05-02", "add_to_cart": "1"}
    )
    assert refused.status_code == 422
    assert "The lease can run until 2026-05-01 at the latest." in refused.get_data(as_text=True)
    saved = consumer.post(address, data={**FORM, "lease_ends_on": "2026-04-25", "add_to_cart": "1"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(CartItem, item.id).lease_ends_on == date(2026, 4, 25)


def test_the_cart_page_names_an_item_whose_day_has_passed(client_as, users, sandbox):
    item = cart.add_item(
        users["consumer"],
        sandbox.id,
        options=OPTIONS,
        accept_terms=True,
        lease_ends_on="2026-03-05",
    )
    db.session.commit()
    clock.freeze(datetime(2026, 3, 6, 8, 0, tzinfo=UTC))
    consumer = client_as("consumer")
    page = consumer.get("/cart").get_data(as_text=True)
    fields = {
        name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)
        for name in ("idempotency_key", "cart_version")
    }
    refused = consumer.post(
        "/cart/checkout", data={**fields, "items": [item.id], "accept": [item.id]}
    )
    assert refused.status_code == 422
    shown = refused.get_data(as_text=True)
    assert "Sandbox environment cannot be ordered: Choose when the lease ends." in shown
    assert re.search(
        r'data-testid="item-errors">\s*<p[^>]*>Choose a day from 2026-03-07 on.<', shown
    )
    assert _count(Order) == 0
