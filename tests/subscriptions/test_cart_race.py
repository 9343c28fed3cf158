"""A double-submitted checkout on two connections at once: both read the cart and find no
checkout under their key before either writes, then go together. The cart's row lock makes the
second wait for the first to commit, find its checkout under the key and get the same orders:
one set of orders, on PostgreSQL (and SQLite) alike."""

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db
from app.subscriptions.models import CartCheckout, Order, ServiceContract, Subscription
from app.subscriptions.services import cart, cart_checkout
from tests.races import racing_at_first_write
from tests.vm_options import VM_OPTIONS

VM_CHOICES = {"region": "eu-north", "data_centre": "Stockholm 1", "memory_gb": "16"}


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.committed
def test_a_double_submitted_checkout_orders_once(app, make_offer, users):
    vm = make_offer("VM-TEST", name="Virtual machine", price="80.00", options=VM_OPTIONS)
    vpn = make_offer("VPN-ACCESS")
    consumer_id = users["consumer"].id
    cart.add_item(users["consumer"], vm.id, options=VM_CHOICES, accept_terms=True)
    cart.add_item(users["consumer"], vpn.id, options={}, accept_terms=True)
    db.session.commit()

    def submit():
        placed, created = cart_checkout.checkout(
            db.session.get(User, consumer_id), expected_cart_version=3, idempotency_key="twice"
        )
        return created, [order.id for order in placed]

    outcomes = racing_at_first_write(app, {"first": submit, "second": submit})
    db.session.expire_all()
    assert sorted(created for created, _ids in outcomes.values()) == [False, True], outcomes
    assert outcomes["first"][1] == outcomes["second"][1]
    assert _count(Order) == 2 and _count(Subscription) == 2 and _count(ServiceContract) == 2
    assert _count(CartCheckout) == 1
    assert cart.item_count(users["consumer"]) == 0


@pytest.mark.committed
@pytest.mark.parametrize("round_", range(3))
def test_two_checkouts_of_the_same_offers_in_opposite_orders_both_order(
    app, make_offer, make_user, users, round_
):
    """Each order's flush adds to its offer's and group's rollup row of the day; two carts of
    one group holding the same two offers in opposite orders take those rows' locks in
    opposite orders unless something orders them."""
    vm = make_offer("VM-TEST", name="Virtual machine", price="80.00", options=VM_OPTIONS)
    vpn = make_offer("VPN-ACCESS")
    first, second = users["consumer"], make_user("consumer", groups=("Finance",))
    for owner, offers in ((first, (vm, vpn)), (second, (vpn, vm))):
        for offer in offers:
            options = VM_CHOICES if offer is vm else {}
            cart.add_item(owner, offer.id, options=options, accept_terms=True)
    db.session.commit()
    ids = {"first": first.id, "second": second.id}

    def submit(name):
        def work():
            placed, _created = cart_checkout.checkout(
                db.session.get(User, ids[name]), expected_cart_version=3, idempotency_key="k"
            )
            return [order.subscription.offer_id for order in placed]

        return work

    outcomes = racing_at_first_write(app, {name: submit(name) for name in ids})
    assert outcomes == {"first": [vm.id, vpn.id], "second": [vpn.id, vm.id]}, outcomes
