"""The Cart page: "Add to cart" on the order form, the navigation's count, the items with their
options in words and prices, editing on the order form, removing (asked first), and a checkout
form whose key makes a second submission find the first's orders."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.subscriptions.models import CartItem, Order, Subscription
from app.subscriptions.services import cart
from tests.conftest import count_queries
from tests.vm_options import VM_OPTIONS

VM_FORM = {
    "option_region": "eu-west",
    "option_data_centre": "Dublin 2",
    "option_memory_gb": "32",
    "option_gpu": "y",
    "option_gpu_model": "T4",
}


@pytest.fixture
def vm(make_offer):
    return make_offer("VM-TEST", name="Virtual machine", price="80.00", options=VM_OPTIONS)


def _form_address(client, offer_id: int, **extra) -> str:
    query = "&".join([f"offer={offer_id}", *(f"{k}={v}" for k, v in extra.items())])
    opened = client.get(f"/subscriptions/new?{query}")
    assert opened.status_code == 302
    return opened.headers["Location"]


def _checkout_fields(page: str) -> dict:
    def value(name):
        return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)

    return {"idempotency_key": value("idempotency_key"), "cart_version": value("cart_version")}


def test_add_to_cart_shows_the_item_priced_and_counted_in_the_navigation(client_as, vm):
    consumer = client_as("consumer")
    address = _form_address(consumer, vm.id)
    assert "Add to cart" in consumer.get(address).get_data(as_text=True)
    added = consumer.post(address, data={**VM_FORM, "add_to_cart": "1"})
    assert added.status_code == 302 and added.headers["Location"] == "/cart"
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0
    page = consumer.get("/cart").get_data(as_text=True)
    assert re.search(r'data-testid="cart-count">1<', page)
    assert "<dt>GPU</dt><dd>yes</dd>" in page and "<dt>GPU model</dt><dd>T4</dd>" in page
    assert re.search(r'data-testid="item-monthly">130.00\s*EUR<', page)
    assert re.search(r'data-testid="cart-one-time">25.00\s*EUR<', page)
    assert 'data-confirm="Remove Virtual machine from your cart?"' in page


def test_an_item_is_edited_on_the_order_form(client_as, users, vm):
    item = cart.add_item(
        users["consumer"], vm.id, options={"region": "eu-north", "data_centre": "Stockholm 1"}
    )
    db.session.commit()
    consumer = client_as("consumer")
    address = _form_address(consumer, vm.id, item=item.id)
    form = consumer.get(address).get_data(as_text=True)
    assert 'data-testid="editing-cart-item"' in form
    assert re.search(r'<option selected value="Stockholm 1">', form)
    saved = consumer.post(
        address,
        data={
            "option_region": "eu-north",
            "option_data_centre": "Stockholm 1",
            "option_memory_gb": "16",
            "add_to_cart": "1",
        },
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(CartItem, item.id).options["memory_gb"] == "16"
    assert client_as("other_consumer").get(address).status_code == 404


def test_checkout_twice_with_the_pages_key_orders_once(client_as, users, vm, make_offer):
    vpn = make_offer("VPN-ACCESS")
    first = cart.add_item(
        users["consumer"], vm.id, options={"region": "eu-north", "data_centre": "Stockholm 1"}
    )
    second = cart.add_item(users["consumer"], vpn.id, options={})
    db.session.commit()
    consumer = client_as("consumer")
    fields = _checkout_fields(consumer.get("/cart").get_data(as_text=True))
    refused = consumer.post(
        "/cart/checkout", data={**fields, "items": [first.id, second.id], "accept": [first.id]}
    )
    assert refused.status_code == 422
    assert "Accept the terms of VPN access to order it." in refused.get_data(as_text=True)
    data = {**fields, "items": [first.id, second.id], "accept": [first.id, second.id]}
    done = consumer.post("/cart/checkout", data=data)
    assert done.status_code == 302
    again = consumer.post("/cart/checkout", data=data)
    assert again.headers["Location"] == done.headers["Location"]
    listed = consumer.get(done.headers["Location"]).get_data(as_text=True)
    assert listed.count('data-testid="checkout-order"') == 2
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 2
    assert 'data-testid="cart-empty"' in consumer.get("/cart").get_data(as_text=True)
    assert client_as("other_consumer").get(done.headers["Location"]).status_code == 404


def test_removing_an_item_needs_the_csrf_token(app, client_as, users, vm):
    item = cart.add_item(
        users["consumer"], vm.id, options={"region": "eu-north", "data_centre": "Stockholm 1"}
    )
    db.session.commit()
    consumer = client_as("consumer")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert consumer.post(f"/cart/items/{item.id}/remove").status_code == 400
        assert consumer.post("/cart/checkout").status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert client_as("other_consumer").post(f"/cart/items/{item.id}/remove").status_code == 404
    assert consumer.post(f"/cart/items/{item.id}/remove").status_code == 302
    assert cart.item_count(users["consumer"]) == 0


def test_the_cart_page_and_its_count_run_a_bounded_number_of_queries(
    client_as, users, vm, make_offer
):
    consumer = client_as("consumer")
    cart.add_item(
        users["consumer"], vm.id, options={"region": "eu-north", "data_centre": "Stockholm 1"}
    )
    db.session.commit()
    consumer.get("/cart")
    with count_queries() as few:
        consumer.get("/cart")
    for number in range(4):
        cart.add_item(
            users["consumer"], vm.id, options={"region": "eu-north", "data_centre": "Stockholm 1"}
        )
        other = make_offer(f"OTHER-{number}", name=f"Other {number}", replacement_code="VM-TEST")
        cart.add_item(users["consumer"], other.id, options={})
    db.session.commit()
    with count_queries() as many:
        page = consumer.get("/cart").get_data(as_text=True)
    assert page.count("Remove it") == 0  # nothing flagged: every item is orderable
    assert len(many) == len(few), "\n".join(s[:150] for s in many)
