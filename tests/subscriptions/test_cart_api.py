"""The cart API: items with their prices, flags and the cart version; checkout with an
Idempotency-Key header and the cart version; every refusal a problem+json document."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.subscriptions.models import Order
from tests.conftest import token_for
from tests.vm_options import VM_OPTIONS

VM_CHOICES = {"region": "eu-west", "data_centre": "Dublin 1", "memory_gb": "16"}
PROBLEM = "application/problem+json"


@pytest.fixture
def as_user(api, users):
    return lambda role: api(token_for(users[role]) if role else None)


@pytest.fixture
def vm(make_offer):
    return make_offer("VM-TEST", name="Virtual machine", price="80.00", options=VM_OPTIONS)


def _add(client, offer_id, options, **extra):
    return client.post(
        "/api/v1/cart/items", json={"offer_id": offer_id, "options": options, **extra}
    )


def test_a_consumer_fills_the_cart_and_checks_out_once(as_user, vm, make_offer):
    consumer = as_user("consumer")
    vpn = make_offer("VPN-ACCESS")
    added = _add(consumer, vm.id, VM_CHOICES, accept_terms=True)
    assert added.status_code == 201
    _add(consumer, vpn.id, {"devices": 3}, accept_terms=True)
    body = consumer.get("/api/v1/cart/items").get_json()
    assert body["version"] == 3 and body["blocked"] is False
    assert [item["offer"]["code"] for item in body["items"]] == ["VM-TEST", "VPN-ACCESS"]
    assert body["items"][0]["lines"] == [
        {
            "key": "memory_gb",
            "label": "Memory (GB)",
            "value": "16",
            "one_time": "0.00",
            "monthly": "5.00",
        }
    ]
    assert body["items"][0]["totals"] == {"one_time": "0.00", "monthly": "85.00"}
    assert body["totals"] == [{"currency": "EUR", "one_time": "0.00", "monthly": "92.50"}]

    headers = {"Idempotency-Key": "api-checkout"}
    done = consumer.post("/api/v1/cart/checkout", json={"cart_version": 3}, headers=headers)
    assert done.status_code == 201, done.get_json()
    first = [order["id"] for order in done.get_json()["orders"]]
    again = consumer.post("/api/v1/cart/checkout", json={"cart_version": 3}, headers=headers)
    assert again.status_code == 200
    assert [order["id"] for order in again.get_json()["orders"]] == first
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 2
    assert consumer.get("/api/v1/cart/items").get_json()["items"] == []


def test_a_stale_cart_is_a_409_saying_what_changed(as_user, vm):
    consumer = as_user("consumer")
    _add(consumer, vm.id, VM_CHOICES, accept_terms=True)
    _add(consumer, vm.id, {**VM_CHOICES, "memory_gb": "32"}, accept_terms=True)  # another tab
    answer = consumer.post(
        "/api/v1/cart/checkout", json={"cart_version": 2}, headers={"Idempotency-Key": "k"}
    )
    assert answer.status_code == 409 and answer.mimetype == PROBLEM
    assert answer.get_json()["errors"] == {"cart_version": ["Virtual machine was added."]}


def test_terms_not_accepted_and_bad_options_are_422_per_field(as_user, vm):
    consumer = as_user("consumer")
    refused = _add(consumer, vm.id, {"region": "eu-west"})
    assert refused.status_code == 422 and refused.mimetype == PROBLEM
    assert refused.get_json()["errors"]["options.data_centre"] == ["Data centre is required."]
    _add(consumer, vm.id, VM_CHOICES)
    (item,) = consumer.get("/api/v1/cart/items").get_json()["items"]
    answer = consumer.post(
        "/api/v1/cart/checkout", json={"cart_version": 2}, headers={"Idempotency-Key": "k"}
    )
    assert answer.status_code == 422 and answer.mimetype == PROBLEM
    assert answer.get_json()["errors"] == {
        f"items.{item['id']}.accept_terms": ["Accept the terms of Virtual machine to order it."]
    }
    missing = consumer.post("/api/v1/cart/checkout", json={"cart_version": 2})
    assert missing.status_code == 422
    assert list(missing.get_json()["errors"]) == ["Idempotency-Key"]


def test_someone_elses_item_is_404_and_staff_and_strangers_are_refused(as_user, vm):
    consumer = as_user("consumer")
    _add(consumer, vm.id, VM_CHOICES)
    (item,) = consumer.get("/api/v1/cart/items").get_json()["items"]
    other = as_user("other_consumer").delete(f"/api/v1/cart/items/{item['id']}")
    assert other.status_code == 404 and other.mimetype == PROBLEM
    assert as_user("catalog_manager").get("/api/v1/cart/items").status_code == 403
    assert as_user("catalog_manager").post("/api/v1/cart/checkout", json={}).status_code == 403
    assert as_user("").get("/api/v1/cart/items").status_code == 401
    assert consumer.delete(f"/api/v1/cart/items/{item['id']}").status_code == 204
    assert consumer.get("/api/v1/cart/items").get_json()["items"] == []


def test_the_cart_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/cart/items"])
    assert "delete" in paths["/cart/items/{item_id}"]
    assert "post" in paths["/cart/checkout"]
