"""The order form's idempotency key: a form opened anew gets a fresh key in its address; the
same form shown again from history (Back re-requests it: pages are no-store) carries the same
key, says its order was placed, and posting it again returns the first order."""

import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from app.extensions import db
from app.subscriptions.models import Order, Subscription

FORM = {"accept_terms": "y", "option_profile": "developer", "option_devices": "2"}


def _key_in(page: str) -> str:
    return re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)


def _opened(consumer, offer_id: int) -> tuple[str, str]:
    """(the form's address, its key) as opening the order form anew leaves them."""
    response = consumer.get(f"/subscriptions/new?offer={offer_id}")
    assert response.status_code == 302
    location = response.headers["Location"]
    (key,) = parse_qs(urlsplit(location).query)["form"]
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    return location, key


def test_each_opening_of_the_form_gets_its_own_key_in_its_address(client_as, make_offer):
    vpn = make_offer("VPN-ACCESS")
    consumer = client_as("consumer")
    first, first_key = _opened(consumer, vpn.id)
    second, second_key = _opened(consumer, vpn.id)
    assert first_key != second_key
    shown = consumer.get(first)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert _key_in(shown.get_data(as_text=True)) == first_key
    assert _key_in(consumer.get(first).get_data(as_text=True)) == first_key  # shown again


def test_the_form_shown_again_after_ordering_returns_the_first_order(client_as, make_offer):
    vpn = make_offer("VPN-ACCESS")
    consumer = client_as("consumer")
    address, key = _opened(consumer, vpn.id)
    ordered = consumer.post(address, data={**FORM, "idempotency_key": key})
    assert ordered.status_code == 302
    subscription_id = db.session.scalars(sa.select(Subscription.id)).one()
    assert ordered.headers["Location"] == f"/subscriptions/{subscription_id}"

    back = consumer.get(address).get_data(as_text=True)  # Back: the same address again
    assert _key_in(back) == key
    assert 'data-testid="already-placed"' in back
    assert f'href="/subscriptions/{subscription_id}"' in back
    again = consumer.post(address, data={**FORM, "idempotency_key": key})
    assert again.headers["Location"] == f"/subscriptions/{subscription_id}"
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 1
    page = consumer.get(again.headers["Location"]).get_data(as_text=True)
    assert "You had already placed this order; here it is." in page


def test_a_mangled_key_in_the_address_gets_a_fresh_form(client_as, make_offer):
    vpn = make_offer("VPN-ACCESS")
    response = client_as("consumer").get(f"/subscriptions/new?offer={vpn.id}&form=../x")
    assert response.status_code == 302
    assert re.search(r"form=[0-9a-f]{32}$", response.headers["Location"])
