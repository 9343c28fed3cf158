"""A lease whose end the orderer chooses (`lease_end_chosen`): the order form asks "Ends on"
(from tomorrow to the longest lease, proposed: the lease's days), the server refuses a bad day
with a message on the field, and the lease ends at 23:59 UTC that day once active (later, by
the chosen length, when the subscription became active only on that day or after it)."""

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app import clock, unit_of_work
from app.errors import ValidationFailed
from app.extensions import db
from app.subscriptions import services as subs
from app.subscriptions.models import Subscription
from app.subscriptions.services import drafts
from tests.conftest import token_for
from tests.subscriptions.conftest import agent  # noqa: F401

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHOSEN = {"lease_days": 14, "lease_max_days": 60, "lease_warn_days": 3, "lease_end_chosen": True}
OPTIONS = {"profile": "developer", "devices": 2}
FORM = {"accept_terms": "y", "option_profile": "developer", "option_devices": "2"}


def _order(offer, user, key="key-1", **kwargs):
    return subs.subscribe(
        user, offer.id, options=OPTIONS, accept_terms=True, idempotency_key=key, **kwargs
    )


def _activate(agent, order):
    task = next(task for task in order.tasks if task.mode == "manual")
    subs.transition_task(agent, task.id, "complete")
    return db.session.get(Subscription, order.subscription_id)


def test_the_chosen_day_ends_the_lease_and_is_in_the_contract(make_offer, users, agent):
    clock.freeze(START)
    offer = make_offer("VPN-ACCESS", **CHOSEN)
    order, _ = _order(offer, users["consumer"], lease_ends_on="2026-04-20")
    assert order.agreement["lease"] == {
        "days": 14,
        "max_days": 60,
        "warn_days": 3,
        "extension_needs_approval": False,
        "ends_on": "2026-04-20",
    }
    clock.freeze(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    subscription = _activate(agent, order)
    assert clock.as_utc(subscription.lease_ends_at) == datetime(2026, 4, 20, 23, 59, tzinfo=UTC)
    assert subs.current_contract(subscription).snapshot["lease"]["ends_on"] == "2026-04-20"


def test_no_day_chosen_is_the_lease_days_from_the_order(make_offer, users, agent):
    clock.freeze(START)
    offer = make_offer("VPN-ACCESS", **CHOSEN)
    order, _ = _order(offer, users["consumer"])
    subscription = _activate(agent, order)
    assert clock.as_utc(subscription.lease_ends_at) == datetime(2026, 3, 16, 23, 59, tzinfo=UTC)


def test_activated_after_the_chosen_day_the_lease_keeps_its_length(make_offer, users, agent):
    clock.freeze(START)
    offer = make_offer("VPN-ACCESS", **CHOSEN)
    order, _ = _order(offer, users["consumer"], lease_ends_on="2026-03-05")  # 3 days
    clock.freeze(datetime(2026, 3, 5, 8, 0, tzinfo=UTC))  # fulfilled on the chosen day
    subscription = _activate(agent, order)
    assert clock.as_utc(subscription.lease_ends_at) == datetime(2026, 3, 8, 23, 59, tzinfo=UTC)


def test_bad_days_get_field_messages_and_write_nothing(make_offer, users):
    clock.freeze(START)
    offer = make_offer("VPN-ACCESS", **CHOSEN)
    cases = {
        "2026-03-02": "Choose a day from 2026-03-03 on.",
        "2026-02-01": "Choose a day from 2026-03-03 on.",
        "2026-05-02": "The lease can run until 2026-05-01 at the latest.",
        "next week": "Enter a date as YYYY-MM-DD.",
        "2026-02-30": "Enter a date as YYYY-MM-DD.",
        "2026-04-01T10:00": "Enter a date as YYYY-MM-DD.",
    }
    for number, (value, message) in enumerate(cases.items()):
        with pytest.raises(ValidationFailed) as failure:
            _order(offer, users["consumer"], key=f"k{number}", lease_ends_on=value)
        assert failure.value.fields == {"lease_ends_on": [message]}, value
    with pytest.raises(ValidationFailed) as failure:  # both fields' messages at once
        subs.subscribe(
            users["consumer"],
            offer.id,
            options={"profile": "nope", "devices": 2},
            accept_terms=True,
            idempotency_key="both",
            lease_ends_on="2027-01-01",
        )
    assert set(failure.value.fields) == {"options.profile", "lease_ends_on"}
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0


def test_an_offer_that_does_not_ask_ignores_a_day_sent(make_offer, users, agent):
    clock.freeze(START)
    offer = make_offer("VPN-ACCESS", lease_days=30, lease_warn_days=5)
    order, _ = _order(offer, users["consumer"], lease_ends_on="2026-03-10")
    assert "ends_on" not in order.agreement["lease"]
    subscription = _activate(agent, order)
    assert clock.as_utc(subscription.lease_ends_at) == datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def test_order_form_asks_ends_on_and_shows_errors_on_the_field(make_offer, client_as, agent):
    clock.freeze(START)
    offer = make_offer("VPN-ACCESS", **CHOSEN)
    unit_of_work.commit()
    consumer = client_as("consumer")
    address = consumer.get(f"/subscriptions/new?offer={offer.id}").headers["Location"]
    page = consumer.get(address).get_data(as_text=True)
    field = re.search(r"<input[^>]*name=\"lease_ends_on\"[^>]*>", page).group(0)
    assert 'type="date"' in field
    assert 'value="2026-03-16"' in field
    assert 'min="2026-03-03"' in field and 'max="2026-05-01"' in field
    assert "The subscription ends at 23:59 UTC that day: from 2026-03-03 to 2026-05-01." in page
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    bad = consumer.post(
        address, data={**FORM, "idempotency_key": key, "lease_ends_on": "2026-06-01"}
    )
    assert bad.status_code == 422
    assert "The lease can run until 2026-05-01 at the latest." in bad.get_data(as_text=True)
    good = consumer.post(
        address, data={**FORM, "idempotency_key": key, "lease_ends_on": "2026-04-02"}
    )
    assert good.status_code == 302
    subscription = db.session.scalars(sa.select(Subscription)).one()
    assert clock.as_utc(subscription.lease_chosen_end) == datetime(2026, 4, 2, 23, 59, tzinfo=UTC)


def test_a_form_without_a_chosen_lease_has_no_ends_on(make_offer, client_as):
    offer = make_offer("VPN-ACCESS", lease_days=30)
    unit_of_work.commit()
    consumer = client_as("consumer")
    address = consumer.get(f"/subscriptions/new?offer={offer.id}").headers["Location"]
    assert 'name="lease_ends_on"' not in consumer.get(address).get_data(as_text=True)


def test_a_draft_keeps_the_chosen_day(make_offer, users, client_as):
    clock.freeze(START)
    offer = make_offer("VPN-ACCESS", **CHOSEN)
    draft = drafts.save(users["consumer"], offer, OPTIONS, lease_ends_on="2026-04-10")
    unit_of_work.commit()
    consumer = client_as("consumer")
    address = consumer.get(f"/subscriptions/new?offer={offer.id}&draft={draft.id}")
    page = consumer.get(address.headers["Location"]).get_data(as_text=True)
    assert re.search(r'name="lease_ends_on"[^>]*value="2026-04-10"', page)


def test_api_takes_the_chosen_day_and_answers_problems(make_offer, users, api):
    clock.freeze(START)
    offer = make_offer("VPN-ACCESS", **CHOSEN)
    unit_of_work.commit()
    client = api(token_for(users["consumer"]))
    body = {"offer_id": offer.id, "options": OPTIONS, "accept_terms": True}
    response = client.post(
        "/api/v1/subscriptions",
        json={**body, "lease_ends_on": "2026-01-01"},
        headers={"Idempotency-Key": "api-1"},
    )
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.json["errors"]["lease_ends_on"] == ["Choose a day from 2026-03-03 on."]
    response = client.post(
        "/api/v1/subscriptions",
        json={**body, "lease_ends_on": "2026-04-30"},
        headers={"Idempotency-Key": "api-2"},
    )
    assert response.status_code == 201, response.data
    subscription = db.session.get(Subscription, response.json["id"])
    assert clock.as_utc(subscription.lease_chosen_end) == datetime(2026, 4, 30, 23, 59, tzinfo=UTC)
