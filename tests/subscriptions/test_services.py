from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock, unit_of_work
from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from app.knowledge import services as knowledge
from app.notifications.models import Notification
from app.subscriptions import services as subs
from app.subscriptions.models import FulfillmentTask, Order, ServiceContract, Subscription


def _manual_task(order):
    return next(task for task in order.tasks if task.mode == "manual")


def test_subscribe_creates_contract_order_and_tasks(order_vpn, users):
    order, created = order_vpn()
    assert created
    subscription = order.subscription
    assert subscription.status == "fulfilling"
    assert subscription.options == {"profile": "developer", "devices": 2, "split_tunnel": False}
    contract = subs.current_contract(subscription)
    assert contract.price == Decimal("7.50") and contract.offer_revision == 1
    assert contract.snapshot["terms"] == "Personal use only. Monthly notice."
    assert contract.agreed_by_id == users["consumer"].id
    assert [(t.name, t.status) for t in order.tasks] == [
        ("Create account", "done"),
        ("Approve access", "queued"),
    ]
    assert subs.progress(order)["done"] == 1 and subs.progress(order)["total"] == 2


def test_manual_step_completion_activates_and_notifies(order_vpn, agent, users):
    order, _ = order_vpn()
    subs.transition_task(agent, _manual_task(order).id, "start")
    subs.transition_task(agent, _manual_task(order).id, "complete")
    subscription = db.session.get(Subscription, order.subscription_id)
    assert subscription.status == "active" and subscription.active_since is not None
    assert db.session.get(Order, order.id).status == "completed"
    subjects = db.session.scalars(
        sa.select(Notification.subject).where(Notification.user_id == users["consumer"].id)
    ).all()
    assert "Active: VPN access" in subjects


def test_same_idempotency_key_gives_the_same_order(order_vpn):
    first, created = order_vpn(key="abc")
    second, created_again = order_vpn(key="abc")
    assert created and not created_again and first.id == second.id
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 1


def test_reusing_a_key_for_a_different_request_is_refused(order_vpn):
    order_vpn(key="abc")
    with pytest.raises(Conflict):
        order_vpn(key="abc", options={"profile": "standard", "devices": 1})


def test_options_are_validated_against_the_offer(order_vpn):
    with pytest.raises(ValidationFailed) as caught:
        order_vpn(options={"profile": "root", "devices": 9, "split_tunnel": "maybe", "hack": 1})
    assert set(caught.value.fields) == {
        "options.profile",
        "options.devices",
        "options.split_tunnel",
        "options",
    }
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0


def test_ordering_without_accepting_terms_is_refused(make_offer, users):
    offer = make_offer()
    with pytest.raises(ValidationFailed) as caught:
        subs.subscribe(
            users["consumer"], offer.id, options={}, accept_terms=False, idempotency_key="k"
        )
    assert "accept_terms" in caught.value.fields


def test_offer_outside_audience_is_not_found(make_offer, users):
    from app.accounts import services as accounts

    finance = accounts.find_group_by_name("Finance")
    offer = make_offer(group_ids=[finance.id])
    with pytest.raises(NotFound):
        subs.subscribe(
            users["other_consumer"], offer.id, options={}, accept_terms=True, idempotency_key="k"
        )


def test_scheduled_and_retired_offers_refused_with_reason_and_replacement(make_offer, users):
    manager = users["catalog_manager"]
    replacement = make_offer("VPN-NEXT")
    offer = make_offer()
    catalog.transition_offer(manager, offer.id, "retired", replacement_code="VPN-NEXT")
    clock.freeze(clock.now() + timedelta(minutes=5))
    with pytest.raises(InvalidTransition) as caught:
        subs.subscribe(
            users["consumer"], offer.id, options={}, accept_terms=True, idempotency_key="k"
        )
    assert "retired" in caught.value.message and f"offer {replacement.id}" in caught.value.message
    future = make_offer("LATER", valid_from=(clock.now() + timedelta(days=10)).isoformat())
    with pytest.raises(NotFound):  # scheduled offers are not shown to consumers at all
        subs.subscribe(
            users["consumer"], future.id, options={}, accept_terms=True, idempotency_key="k2"
        )


def test_consumer_of_another_group_gets_404(order_vpn, users):
    order, _ = order_vpn()
    with pytest.raises(NotFound):
        subs.subscription_for(users["other_consumer"], order.subscription_id)
    contract = subs.current_contract(order.subscription)
    with pytest.raises(NotFound):
        subs.contract_for(users["other_consumer"], contract.id)
    with pytest.raises(NotFound):
        subs.terminate(users["other_consumer"], order.subscription_id, idempotency_key="x")


def _activate(order, agent):
    subs.transition_task(agent, _manual_task(order).id, "complete")
    return db.session.get(Subscription, order.subscription_id)


def test_modify_options_amends_the_contract(order_vpn, agent, users):
    order, _ = order_vpn()
    subscription = _activate(order, agent)
    change, _ = subs.modify(
        users["consumer"],
        subscription.id,
        options={"profile": "standard", "devices": 3},
        accept_terms=True,
        idempotency_key="m1",
    )
    assert db.session.get(Subscription, subscription.id).status == "modifying"
    subs.transition_task(agent, change.tasks[0].id, "complete")
    subscription = db.session.get(Subscription, subscription.id)
    assert subscription.status == "active" and subscription.options["devices"] == 3
    contracts = subs.contracts_of(subscription)
    assert [(c.version, c.status) for c in contracts] == [(1, "superseded"), (2, "active")]
    assert contracts[0].snapshot["options"]["devices"] == 2  # the first contract is unchanged


def test_contract_is_immutable_when_the_offer_changes(order_vpn, agent, users):
    order, _ = order_vpn()
    _activate(order, agent)
    manager = users["catalog_manager"]
    live = catalog.live_revision("VPN-ACCESS")
    draft = catalog.create_revision(manager, live.id)
    catalog.update_offer(
        manager, draft.id, {"terms": "New terms", "price": "99.00"}, expected_version=draft.version
    )
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, draft.id, status)
    contract = subs.current_contract(db.session.get(Subscription, order.subscription_id))
    assert contract.snapshot[
        "terms"
    ] == "Personal use only. Monthly notice." and contract.price == Decimal("7.50")


def test_terminate_now_ends_contract_and_subscription(order_vpn, agent, users):
    order, _ = order_vpn()
    subscription = _activate(order, agent)
    end, _ = subs.terminate(users["consumer"], subscription.id, idempotency_key="t1")
    subs.transition_task(agent, end.tasks[0].id, "complete")
    subscription = db.session.get(Subscription, subscription.id)
    assert subscription.status == "terminated" and subscription.terminated_at is not None
    assert subs.current_contract(subscription).status == "ended"


def test_terminate_at_a_date_waits_until_then(order_vpn, agent, users):
    order, _ = order_vpn()
    subscription = _activate(order, agent)
    when = clock.now() + timedelta(days=3)
    end, _ = subs.terminate(
        users["consumer"], subscription.id, at=when.isoformat(), idempotency_key="t1"
    )
    assert (
        end.status == "scheduled"
        and db.session.get(Subscription, subscription.id).status == "active"
    )
    assert subs.process_due(SYSTEM) == 0
    clock.freeze(when + timedelta(minutes=1))
    assert subs.process_due(SYSTEM) == 1
    assert db.session.get(Subscription, subscription.id).status == "terminating"


@pytest.mark.committed  # a second connection
def test_a_stale_subscription_cannot_change_state(order_vpn, agent, users):
    """The guarded update refuses a change based on a state someone else already moved."""
    from app.subscriptions.services import lifecycle

    order, _ = order_vpn()
    subscription = _activate(order, agent)
    unit_of_work.commit()
    with db.engine.begin() as other_request:
        other_request.execute(
            sa.update(Subscription)
            .where(Subscription.id == subscription.id)
            .values(status="terminating", version=Subscription.version + 1)
        )
    assert subscription.status == "active"  # this request's copy is stale
    with pytest.raises(Conflict):
        lifecycle.move(users["consumer"], subscription, "modifying")
    assert db.session.get(Subscription, subscription.id).status == "terminating"


@pytest.mark.committed  # threads
def test_modification_and_termination_racing_one_wins(app, order_vpn, agent, users):
    import threading

    order, _ = order_vpn()
    subscription_id = _activate(order, agent).id
    consumer_id = users["consumer"].id
    unit_of_work.commit()
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(action):
        with app.app_context():
            barrier.wait(timeout=30)
            consumer = db.session.get(type(users["consumer"]), consumer_id)
            try:
                if action == "modify":
                    subs.modify(
                        consumer,
                        subscription_id,
                        options={"profile": "standard", "devices": 1},
                        accept_terms=True,
                        idempotency_key="m",
                    )
                else:
                    subs.terminate(consumer, subscription_id, idempotency_key="t")
                unit_of_work.commit()
                outcomes.append((action, "ok"))
            except (Conflict, InvalidTransition):
                outcomes.append((action, "refused"))
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=attempt, args=(action,)) for action in ("modify", "terminate")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(result for _, result in outcomes) == ["ok", "refused"]
    winner = next(action for action, result in outcomes if result == "ok")
    db.session.expire_all()
    status = db.session.get(Subscription, subscription_id).status
    assert status == {"modify": "modifying", "terminate": "terminating"}[winner]
    other_type = {"modify": "terminate", "terminate": "modify"}[winner]
    assert (
        db.session.scalar(sa.select(sa.func.count(Order.id)).where(Order.order_type == other_type))
        == 0
    )


def test_failed_task_fails_subscription_and_agent_retries(order_vpn, agent, users):
    order, _ = order_vpn()
    task = _manual_task(order)
    with pytest.raises(ValidationFailed):
        subs.transition_task(agent, task.id, "fail", reason="  ")
    subs.transition_task(agent, task.id, "fail", reason="Token hardware out of stock")
    subscription = db.session.get(Subscription, order.subscription_id)
    assert subscription.status == "failed" and "out of stock" in subscription.failure_reason
    subs.transition_task(agent, task.id, "retry")
    assert db.session.get(Subscription, order.subscription_id).status == "fulfilling"
    subs.transition_task(agent, task.id, "complete")
    assert db.session.get(Subscription, order.subscription_id).status == "active"


def test_only_agents_of_the_group_work_its_tasks(order_vpn, users, make_user):
    order, _ = order_vpn()
    outsider_agent = make_user("support_agent", groups=("Engineering",))
    with pytest.raises(NotFound):
        subs.transition_task(outsider_agent, _manual_task(order).id, "complete")
    with pytest.raises(NotAllowed):
        subs.transition_task(users["consumer"], _manual_task(order).id, "complete")


def test_invalid_task_transition_names_allowed(order_vpn, agent):
    order, _ = order_vpn()
    task = _manual_task(order)
    subs.transition_task(agent, task.id, "complete")
    with pytest.raises(InvalidTransition) as caught:
        subs.transition_task(agent, task.id, "start")
    assert "Allowed: none" in caught.value.message


def test_bundle_orders_members_in_sequence(make_offer, users, agent):
    make_offer("LAPTOP")
    make_offer("VPN-ACCESS")
    manager = users["catalog_manager"]
    from tests.catalog.conftest import complete_offer_data

    bundle = catalog.create_offer(
        manager, complete_offer_data("STARTER-KIT", kind="bundle", options=[])
    )
    catalog.set_bundle_members(manager, bundle.id, ["LAPTOP", "VPN-ACCESS"])
    article = knowledge.save_article(manager, title="Starter kit", body="x")
    knowledge.link_articles(manager, "STARTER-KIT", [article.id])
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, bundle.id, status)
    order, _ = subs.subscribe(
        users["consumer"], bundle.id, options={}, accept_terms=True, idempotency_key="b"
    )
    children = db.session.scalars(
        sa.select(Subscription)
        .where(Subscription.parent_id == order.subscription_id)
        .order_by(Subscription.id)
    ).all()
    assert [c.offer_code for c in children] == ["LAPTOP", "VPN-ACCESS"]
    statuses = [(t.subscription_id, t.status) for t in order.tasks]
    assert statuses == [
        (children[0].id, "done"),
        (children[0].id, "queued"),
        (children[1].id, "waiting"),
        (children[1].id, "waiting"),
    ]
    subs.transition_task(agent, order.tasks[1].id, "complete")
    db.session.expire_all()
    assert db.session.get(Subscription, children[0].id).status == "active"
    assert db.session.get(Subscription, children[1].id).status == "fulfilling"
    assert [t.status for t in db.session.get(Order, order.id).tasks] == [
        "done",
        "done",
        "done",
        "queued",
    ]
    subs.transition_task(agent, db.session.get(Order, order.id).tasks[3].id, "complete")
    assert db.session.get(Subscription, order.subscription_id).status == "active"


def test_group_members_see_their_groups_subscriptions(order_vpn, make_user):
    order, _ = order_vpn()
    colleague = make_user("consumer", groups=("Finance",))
    assert subs.subscription_for(colleague, order.subscription_id).id == order.subscription_id
    listed = db.session.scalars(subs.visible_subscriptions_query(colleague)).all()
    assert [s.id for s in listed] == [order.subscription_id]


def test_contract_counts_one_per_order(order_vpn):
    order_vpn()
    assert db.session.scalar(sa.select(sa.func.count(ServiceContract.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(FulfillmentTask.id))) == 2


@pytest.mark.committed  # threads
def test_twenty_concurrent_identical_orders_make_one(app, make_offer, users):
    """Twenty submissions with one idempotency key at the same moment create exactly one order."""
    import threading

    offer_id = make_offer().id
    consumer_id = users["consumer"].id
    barrier = threading.Barrier(20)
    order_ids, errors = [], []

    def submit():
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                consumer = db.session.get(type(users["consumer"]), consumer_id)
                order, _ = subs.subscribe(
                    consumer,
                    offer_id,
                    options={"devices": 1},
                    accept_terms=True,
                    idempotency_key="same-key",
                )
                order_ids.append(order.id)
                unit_of_work.commit()
            except Exception as error:  # noqa: BLE001 - any failure is what the test reports
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(order_ids) == 20 and len(set(order_ids)) == 1
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(ServiceContract.id))) == 1


def test_a_scheduled_end_blocks_another_end_or_a_change(order_vpn, agent, users):
    order, _ = order_vpn()
    subscription = _activate(order, agent)
    subs.terminate(
        users["consumer"],
        subscription.id,
        at=(clock.now() + timedelta(days=5)).isoformat(),
        idempotency_key="t1",
    )
    with pytest.raises(Conflict):
        subs.terminate(
            users["consumer"],
            subscription.id,
            at=(clock.now() + timedelta(days=9)).isoformat(),
            idempotency_key="t2",
        )
    with pytest.raises(Conflict):
        subs.modify(
            users["consumer"],
            subscription.id,
            options={"profile": "standard", "devices": 1},
            accept_terms=True,
            idempotency_key="m",
        )
    subs.cancel_scheduled_termination(users["consumer"], subscription.id)
    assert db.session.get(Subscription, subscription.id).terminates_on is None
