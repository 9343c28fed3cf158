"""The cart (services): items checked as orders when added, priced as the order form prices
them, flagged when their offer was retired or left the consumer's audience; a checkout orders
every item all or none, once per idempotency key, and refuses a stale cart with what changed."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts import services as accounts
from app.catalog import services as catalog
from app.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from app.subscriptions.models import CartCheckout, Order, ServiceContract, Subscription
from app.subscriptions.services import cart, cart_checkout, drafts, policies
from tests.vm_options import VM_OPTIONS

VM_CHOICES = {
    "region": "eu-west",
    "data_centre": "Dublin 2",
    "memory_gb": "32",
    "gpu": True,
    "gpu_model": "A100",
}


@pytest.fixture
def vm(make_offer):
    return make_offer("VM-TEST", name="Virtual machine", price="80.00", options=VM_OPTIONS)


@pytest.fixture
def vpn(make_offer):
    return make_offer("VPN-ACCESS")


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _fill(consumer, vm, vpn):
    first = cart.add_item(consumer, vm.id, options=VM_CHOICES, accept_terms=True)
    second = cart.add_item(consumer, vpn.id, options={"devices": 2}, accept_terms=True)
    db.session.commit()
    return first, second


def test_the_cart_totals_add_up_each_items_priced_options(users, vm, vpn):
    consumer = users["consumer"]
    _fill(consumer, vm, vpn)
    page = cart.cart_page(consumer)
    vm_row, vpn_row = page["rows"]
    # the VM: 80.00 a month, 32 GB +10.00 a month, GPU +40.00 a month and 25.00 once
    assert vm_row["breakdown"]["totals"] == {"one_time": "25.00", "monthly": "130.00"}
    assert vm_row["options"] == [
        ("Region", "eu-west"),
        ("Data centre", "Dublin 2"),
        ("Memory (GB)", "32"),
        ("GPU", True),
        ("GPU model", "A100"),
    ]
    # the VPN: 7.50 a month, nothing priced
    assert vpn_row["breakdown"]["totals"] == {"one_time": "0.00", "monthly": "7.50"}
    assert page["totals"] == [{"currency": "EUR", "one_time": "25.00", "monthly": "137.50"}]
    assert page["version"] == 3 and page["blocked"] is False
    assert cart.item_count(consumer) == 2


def test_an_item_is_checked_as_an_order_when_added(users, vm):
    with pytest.raises(ValidationFailed) as caught:
        cart.add_item(users["consumer"], vm.id, options={"region": "eu-west", "gpu": True})
    assert caught.value.fields["options.data_centre"] == ["Data centre is required."]
    assert caught.value.fields["options.gpu_model"] == ["GPU model is required."]


def test_an_item_added_from_a_draft_ends_the_draft(users, vm):
    draft = drafts.save(users["consumer"], vm, {"region": "eu-west"})
    cart.add_item(users["consumer"], vm.id, options=VM_CHOICES, draft_id=draft.id)
    assert drafts.drafts_of(users["consumer"]) == []


def test_checkout_orders_every_item_and_empties_the_cart(users, vm, vpn):
    consumer = users["consumer"]
    _fill(consumer, vm, vpn)
    placed, created = cart_checkout.checkout(
        consumer, expected_cart_version=3, idempotency_key="checkout-1"
    )
    db.session.commit()
    assert created is True
    assert [order.subscription.offer_code for order in placed] == ["VM-TEST", "VPN-ACCESS"]
    assert [order.idempotency_key for order in placed] == ["checkout-1#1", "checkout-1#2"]
    assert placed[0].options == VM_CHOICES
    assert _count(Subscription) == 2 and _count(ServiceContract) == 2
    assert cart.item_count(consumer) == 0
    assert cart.cart_page(consumer)["version"] == 4


def test_the_same_key_again_returns_the_same_orders_and_creates_nothing(users, vm, vpn):
    consumer = users["consumer"]
    _fill(consumer, vm, vpn)
    first, _ = cart_checkout.checkout(consumer, expected_cart_version=3, idempotency_key="k")
    db.session.commit()
    again, created = cart_checkout.checkout(consumer, expected_cart_version=3, idempotency_key="k")
    assert created is False
    assert [order.id for order in again] == [order.id for order in first]
    assert _count(Order) == 2 and _count(CartCheckout) == 1


def test_the_key_of_a_checkout_sent_with_another_cart_is_a_conflict(users, vm, vpn):
    consumer = users["consumer"]
    _fill(consumer, vm, vpn)
    cart_checkout.checkout(consumer, expected_cart_version=3, idempotency_key="k")
    cart.add_item(consumer, vpn.id, options={}, accept_terms=True)  # version 5
    with pytest.raises(Conflict) as caught:
        cart_checkout.checkout(consumer, expected_cart_version=5, idempotency_key="k")
    assert caught.value.fields == {"idempotency_key": ["Use a new key for a new checkout."]}
    assert _count(Order) == 2


def test_a_stale_cart_is_refused_with_what_changed(users, vm, vpn):
    consumer = users["consumer"]
    first, second = _fill(consumer, vm, vpn)  # version 3: what the page showed
    cart.remove_item(consumer, second.id)
    cart.change_item(consumer, first.id, options={**VM_CHOICES, "memory_gb": "16"})
    with pytest.raises(Conflict) as caught:
        cart_checkout.checkout(consumer, expected_cart_version=3, idempotency_key="k")
    assert caught.value.fields == {
        "cart_version": ["VPN access was removed.", "Virtual machine was changed."]
    }
    assert "changed since you opened it" in caught.value.message
    assert _count(Order) == 0


def test_one_refused_item_orders_none_and_names_the_item(users, vm, make_offer):
    consumer = users["consumer"]
    limited = make_offer("LAPTOP", name="Laptop", max_per_person=1)
    cart.add_item(consumer, vm.id, options=VM_CHOICES, accept_terms=True)
    cart.add_item(consumer, limited.id, options={}, accept_terms=True)
    held = cart.add_item(consumer, limited.id, options={}, accept_terms=True)
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        cart_checkout.checkout(consumer, expected_cart_version=4, idempotency_key="k")
    assert caught.value.message.startswith("Laptop cannot be ordered: ")
    assert caught.value.message.endswith("Nothing was ordered.")
    assert list(caught.value.fields) == [f"items.{held.id}.offer_id"]
    db.session.rollback()
    assert _count(Order) == 0 and _count(Subscription) == 0
    assert cart.item_count(consumer) == 3


def test_items_without_accepted_terms_are_refused_per_item(users, vm, vpn):
    consumer = users["consumer"]
    first = cart.add_item(consumer, vm.id, options=VM_CHOICES, accept_terms=True)
    second = cart.add_item(consumer, vpn.id, options={})
    with pytest.raises(ValidationFailed) as caught:
        cart_checkout.checkout(consumer, expected_cart_version=3, idempotency_key="k")
    assert caught.value.fields == {
        f"items.{second.id}.accept_terms": ["Accept the terms of VPN access to order it."]
    }
    assert first.id != second.id and _count(Order) == 0


def test_a_retired_item_is_flagged_with_its_replacement_and_blocks_checkout(users, vm, make_offer):
    consumer, manager = users["consumer"], users["catalog_manager"]
    make_offer("VM-NEXT", name="Virtual machine 2")
    item = cart.add_item(consumer, vm.id, options=VM_CHOICES, accept_terms=True)
    catalog.transition_offer(manager, vm.id, "retired", replacement_code="VM-NEXT")
    clock.freeze(clock.now() + timedelta(minutes=5))
    (row,) = cart.cart_page(consumer)["rows"]
    assert row["flag"]["reason"] == "retired"
    assert row["flag"]["replacement"].name == "Virtual machine 2"
    assert row["flag"]["message"] == (
        "Virtual machine was retired since you added it. "
        "Remove it and order Virtual machine 2 instead."
    )
    with pytest.raises(ValidationFailed) as caught:
        cart_checkout.checkout(consumer, expected_cart_version=2, idempotency_key="k")
    assert caught.value.fields == {f"items.{item.id}.offer_id": [row["flag"]["message"]]}


def test_an_item_that_left_the_consumers_audience_is_flagged(users, vpn):
    consumer, manager = users["consumer"], users["catalog_manager"]
    cart.add_item(consumer, vpn.id, options={}, accept_terms=True)
    engineering = accounts.find_group_by_name("Engineering")
    catalog.set_audience(manager, vpn.code, group_ids=[engineering.id])
    page = cart.cart_page(consumer)
    assert page["blocked"] is True
    assert page["rows"][0]["flag"]["reason"] == "audience"
    assert page["rows"][0]["flag"]["message"] == (
        "VPN access is no longer offered to your groups. Remove it to check out the rest."
    )


def test_someone_elses_item_is_not_found(users, vpn):
    item = cart.add_item(users["consumer"], vpn.id, options={})
    with pytest.raises(NotFound):
        cart.remove_item(users["other_consumer"], item.id)
    with pytest.raises(NotFound):
        cart.change_item(users["other_consumer"], item.id, accept_terms=True)


def test_no_actor_and_staff_may_not_use_a_cart(users, vpn):
    for actor in (None, users["catalog_manager"]):
        with pytest.raises(NotAllowed):
            cart.add_item(actor, vpn.id, options={})
        with pytest.raises(NotAllowed):
            cart_checkout.checkout(actor, expected_cart_version=1, idempotency_key="k")
        with pytest.raises(NotAllowed):
            cart.cart_page(actor)


def test_approvals_apply_per_item(users, vm, vpn):
    consumer = users["consumer"]
    policies.set_policy(
        users["catalog_manager"],
        "offer",
        vpn.id,
        {"steps": [{"name": "Finance", "approvers": ["approver_group Finance"]}]},
    )
    _fill(consumer, vm, vpn)
    placed, _created = cart_checkout.checkout(
        consumer, expected_cart_version=3, idempotency_key="k"
    )
    assert [order.status for order in placed] == ["in_progress", "awaiting_approval"]
    assert _count(ServiceContract) == 1  # the VPN's contract is written once it is approved
