"""Approval policies and the approval flow of new-instance orders: rules, refusals, delegation."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.audit.models import AuditEvent
from app.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from app.subscriptions import services as subs
from app.subscriptions.models import FulfillmentTask, ServiceContract
from app.subscriptions.services import approvals, delegations, policies

EXPENSIVE = {
    "steps": [
        {
            "name": "Finance",
            "approvers": [{"kind": "approver_group", "group": "Finance Approvers"}],
            "condition": "price_monthly > 100",
        }
    ]
}


@pytest.fixture
def finance(make_user):
    """Felix and Fiona approve for Finance."""
    return [
        make_user("consumer", groups=("Finance Approvers",), name="Felix"),
        make_user("consumer", groups=("Finance Approvers",), name="Fiona"),
    ]


@pytest.fixture
def offer(make_offer, users):
    return make_offer("LAPTOP-PRO", price="145.50")


def _order(user, offer, key="k1", **options):
    order, _ = subs.subscribe(
        user,
        offer.id,
        options={"profile": "developer", "devices": 2, **options},
        accept_terms=True,
        idempotency_key=key,
    )
    return order


def _policy(users, offer, data):
    return policies.set_policy(users["catalog_manager"], "offer", offer.id, data)


def _tasks(order) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(FulfillmentTask.id)).where(FulfillmentTask.order_id == order.id)
    )


def _contracts(order) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(ServiceContract.id)).where(
            ServiceContract.subscription_id == order.subscription_id
        )
    )


def test_an_order_over_the_threshold_waits_without_contract_or_tasks(users, offer, finance):
    _policy(users, offer, EXPENSIVE)
    order = _order(users["consumer"], offer)
    assert order.status == "awaiting_approval"
    assert order.subscription.status == "requested"
    assert (_tasks(order), _contracts(order)) == (0, 0)
    step = order.approval_steps[0]
    assert (step.status, sorted(step.asked)) == ("pending", sorted(u.id for u in finance))


def test_approval_starts_fulfillment_and_writes_the_contract(users, offer, finance):
    _policy(users, offer, EXPENSIVE)
    order = _order(users["consumer"], offer)
    step = approvals.decide(finance[0], order.approval_steps[0].id, "approve", "ok")
    assert step.status == "approved"
    assert order.status in ("in_progress", "completed")
    assert _contracts(order) == 1 and _tasks(order) >= 1
    assert order.subscription.status in ("fulfilling", "active")
    decision = step.decisions[0]
    assert (decision.decided_by_id, decision.on_behalf, decision.comment) == (
        finance[0].id,
        False,
        "ok",
    )


def test_a_cheap_order_skips_the_step_and_says_why(users, make_offer, finance):
    cheap = make_offer("MOUSE", price="45.00")
    _policy(users, cheap, EXPENSIVE)
    order = _order(users["consumer"], cheap)
    assert order.status in ("in_progress", "completed")
    step = order.approval_steps[0]
    assert (step.status, step.note) == ("skipped", "price 45.00 EUR/month ≤ 100")
    assert _contracts(order) == 1


def test_auto_approve_passes_every_step_with_the_reason(users, offer, finance):
    _policy(users, offer, {**EXPENSIVE, "auto_approve": "options.devices <= 2"})
    order = _order(users["consumer"], offer)
    assert [(s.status, s.note) for s in order.approval_steps] == [
        ("auto_approved", "devices 2 ≤ 2")
    ]
    assert order.status in ("in_progress", "completed")


def test_rejection_needs_a_reason_and_ends_the_order(users, offer, finance):
    _policy(users, offer, EXPENSIVE)
    order = _order(users["consumer"], offer)
    step_id = order.approval_steps[0].id
    with pytest.raises(ValidationFailed) as refused:
        approvals.decide(finance[0], step_id, "reject", "  ")
    assert refused.value.fields == {"comment": ["Say why you reject it: the requester reads it."]}
    approvals.decide(finance[0], step_id, "reject", "Use the standard laptop.")
    assert (order.status, order.failure_reason) == ("rejected", "Use the standard laptop.")
    assert order.subscription.status == "rejected"
    assert (_tasks(order), _contracts(order)) == (0, 0)
    with pytest.raises(Conflict, match="already rejected by Felix"):
        approvals.decide(finance[1], step_id, "approve")


def test_refusals_change_nothing(users, offer, finance, make_user):
    _policy(users, offer, EXPENSIVE)
    order = _order(users["consumer"], offer)
    step = order.approval_steps[0]
    stranger = make_user("consumer", groups=("Engineering",))
    with pytest.raises(NotAllowed, match="not yours to decide"):
        approvals.decide(stranger, step.id, "approve")
    with pytest.raises(NotAllowed, match="your own order"):
        approvals.decide(users["consumer"], step.id, "approve")
    with pytest.raises(ValidationFailed):
        approvals.decide(finance[0], step.id, "maybe")
    with pytest.raises(NotFound):
        approvals.decide(finance[0], "nope", "approve")
    with pytest.raises(Conflict):
        approvals.decide(finance[0], step.id, "approve", version=step.version - 1)
    assert (step.status, step.decisions) == ("pending", [])
    approvals.decide(finance[0], step.id, "approve")
    with pytest.raises(Conflict, match="already approved by Felix"):
        approvals.decide(finance[1], step.id, "approve")


def test_the_requester_withdraws_a_waiting_order(users, offer, finance):
    _policy(users, offer, EXPENSIVE)
    order = _order(users["consumer"], offer)
    with pytest.raises(NotFound):
        approvals.cancel(finance[0], order.id)
    approvals.cancel(users["consumer"], order.id)
    assert (order.status, order.subscription.status) == ("cancelled", "cancelled")
    assert order.approval_steps[0].status == "cancelled"
    with pytest.raises(Conflict, match="withdrew this order"):
        approvals.decide(finance[0], order.approval_steps[0].id, "approve")
    with pytest.raises(Conflict):
        approvals.cancel(users["consumer"], order.id)


def test_an_all_step_needs_every_approver_and_steps_run_in_order(users, offer, finance):
    data = {
        "steps": [
            {"name": "Both", "require": "all", "approvers": ["approver_group Finance Approvers"]},
            {"name": "Manager", "approvers": [{"kind": "user", "email": users["admin"].email}]},
        ]
    }
    _policy(users, offer, data)
    order = _order(users["consumer"], offer)
    first, second = order.approval_steps
    approvals.decide(finance[0], first.id, "approve")
    assert (first.status, second.status) == ("pending", "waiting")
    with pytest.raises(Conflict, match="already decided"):
        approvals.decide(finance[0], first.id, "approve")
    approvals.decide(finance[1], first.id, "approve")
    assert (first.status, second.status, order.status) == (
        "approved",
        "pending",
        "awaiting_approval",
    )
    approvals.decide(users["admin"], second.id, "approve")
    assert order.status in ("in_progress", "completed")


def test_an_approver_never_approves_their_own_order(users, make_offer, finance):
    laptop = make_offer("LAPTOP-X", price="200.00")
    data = {
        "steps": [
            {
                "name": "Finance",
                "approvers": [
                    {"kind": "user", "email": finance[0].email},
                    {"kind": "user", "email": finance[1].email},
                ],
            }
        ]
    }
    _policy(users, laptop, data)
    order = _order(finance[0], laptop)
    step = order.approval_steps[0]
    assert step.asked == [finance[1].id]
    assert (
        step.note == "The first listed approver cannot approve this order: the next one is asked."
    )


def test_a_delegate_approves_on_behalf_without_cascading(users, offer, finance, make_user):
    deputy, deputy_of_deputy = make_user("consumer"), make_user("consumer")
    today = clock.now().date()
    data = {"steps": [{"name": "Felix", "approvers": [f"user {finance[0].email}"]}]}
    _policy(users, offer, data)
    delegations.delegate(finance[0], to=deputy.email, starts_on=today, ends_on=today)
    delegations.delegate(deputy, to=deputy_of_deputy.email, starts_on=today, ends_on=today)
    order = _order(users["consumer"], offer)
    step = order.approval_steps[0]
    with pytest.raises(NotAllowed):
        approvals.decide(deputy_of_deputy, step.id, "approve")
    approvals.decide(deputy, step.id, "approve", "for Felix")
    decision = step.decisions[0]
    assert (decision.decided_by_id, decision.for_user_id, decision.on_behalf) == (
        deputy.id,
        finance[0].id,
        True,
    )
    audit = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "approval_delegation")
    ).all()
    assert audit == ["delegated", "delegated"]


def test_delegation_input_is_checked(users, finance):
    today = clock.now().date()
    with pytest.raises(ValidationFailed) as refused:
        delegations.delegate(
            finance[0], to=finance[0].email, starts_on=today, ends_on=today - timedelta(days=1)
        )
    assert refused.value.fields == {
        "to": ["Choose someone other than yourself."],
        "ends_on": [
            "The last day is on or after the first.",
            "The last day cannot be in the past.",
        ],
    }


def test_policies_are_checked_when_saved(users, offer, make_user):
    accounts.save_group(SYSTEM, name="Security")  # nobody in it
    data = {
        "steps": [
            {"name": "", "approvers": ["approver_group Security"], "condition": "price >"},
            {"name": "Ok", "approvers": [{"kind": "user", "email": "nobody@example.com"}]},
            {"name": "Opts", "approvers": ["group_managers"], "condition": "options.ram > 2"},
        ],
        "auto_approve": "price_monthly < 1 and",
        "reminder_hours": 0,
    }
    with pytest.raises(ValidationFailed) as refused:
        _policy(users, offer, data)
    assert refused.value.fields == {
        "steps[0].name": ["Name the step (at most 120 characters)."],
        "steps[0].approvers[0]": ["The group “Security” has no members, so nobody could approve."],
        "steps[0].condition": ["This is not a valid expression. (at column 8)"],
        "steps[1].approvers[0]": ["No active user has the e-mail “nobody@example.com”."],
        "steps[2].condition": ["The offer has no option “ram”. (at column 1)"],
        "auto_approve": ["This is not a valid expression. (at column 22)"],
        "reminder_hours": ["Give a whole number of hours from 1 to 2160."],
    }
    with pytest.raises(NotAllowed):
        policies.set_policy(users["consumer"], "offer", offer.id, EXPENSIVE)


def test_the_nearest_policy_applies(users, make_offer, finance):
    from app.catalog import services as catalog

    manager = users["catalog_manager"]
    hardware = catalog.save_category(manager, name="Hardware")
    laptops = catalog.save_category(manager, name="Laptops", parent_id=hardware.id)
    offer = make_offer("LAPTOP-PRO", price="145.50", category_id=laptops.id)
    step = {"approvers": ["approver_group Finance Approvers"]}
    assert policies.policy_for(offer) is None
    policies.set_policy(manager, "default", None, {"steps": [{**step, "name": "Default"}]})
    assert policies.policy_for(offer).scope == "default"
    policies.set_policy(manager, "category", hardware.id, {"steps": [{**step, "name": "Parent"}]})
    assert policies.policy_for(offer).steps[0]["name"] == "Parent"  # inherited by sub-categories
    policies.set_policy(manager, "category", laptops.id, {"steps": [{**step, "name": "Own cat"}]})
    assert policies.policy_for(offer).steps[0]["name"] == "Own cat"
    _policy(users, offer, {"steps": [{**step, "name": "Offer"}]})
    assert policies.policy_for(offer).steps[0]["name"] == "Offer"
    _policy(users, offer, {"steps": []})  # removed: the category's applies again
    assert policies.policy_for(offer).steps[0]["name"] == "Own cat"
    order = _order(users["consumer"], offer)
    assert [s.name for s in order.approval_steps] == ["Own cat"]


def test_the_beneficiarys_group_managers_approve(users, offer, make_user):
    from app.accounts.services import groups

    manager = make_user("consumer", groups=("Finance",), name="Fiona")
    finance = accounts.find_group_by_name("Finance")
    groups.set_managers(users["admin"], finance, [manager])
    _policy(users, offer, {"steps": [{"name": "Manager", "approvers": ["group_managers"]}]})
    order = _order(users["consumer"], offer)
    assert order.approval_steps[0].asked == [manager.id]
    approvals.decide(manager, order.approval_steps[0].id, "approve")
    assert order.status in ("in_progress", "completed")


def test_reminders_then_escalation_to_the_next_listed_approver(app, users, offer, finance):
    from app.notifications.models import Notification
    from app.subscriptions.services import approval_reminders

    data = {
        "steps": [
            {
                "name": "Finance",
                "approvers": [f"user {finance[0].email}", f"user {finance[1].email}"],
            }
        ],
        "reminder_hours": 4,
        "escalation_hours": 24,
    }
    _policy(users, offer, data)
    order = _order(users["consumer"], offer)
    step = order.approval_steps[0]
    start = step.started_at
    assert step.asked == [finance[0].id]
    assert approval_reminders.remind_and_escalate(SYSTEM, start + timedelta(hours=3)) == (0, 0)
    assert approval_reminders.remind_and_escalate(SYSTEM, start + timedelta(hours=4)) == (1, 0)
    assert approval_reminders.remind_and_escalate(SYSTEM, start + timedelta(hours=5)) == (0, 0)
    assert approval_reminders.remind_and_escalate(SYSTEM, start + timedelta(hours=24)) == (0, 1)
    assert step.asked == [finance[0].id, finance[1].id]
    assert step.note.startswith("Escalated: nobody decided in 24 hours")
    subjects = db.session.scalars(
        sa.select(Notification.subject)
        .where(Notification.user_id == finance[1].id)
        .order_by(Notification.id)
    ).all()
    assert subjects == ["Approval needed: VPN access"]
    # nobody further: the next run only reminds
    assert approval_reminders.remind_and_escalate(SYSTEM, start + timedelta(hours=48)) == (1, 0)
    result = app.test_cli_runner().invoke(args=["subscriptions", "approvals"])
    assert result.exit_code == 0 and "Reminded" in result.output
    approvals.decide(finance[1], step.id, "approve")
    assert order.status in ("in_progress", "completed")


def test_the_catalog_file_carries_approval_policies(users, offer, finance):
    from app.catalog.exchange import export as catalog_export
    from app.catalog.exchange import import_catalog

    manager = users["catalog_manager"]
    _policy(users, offer, {**EXPENSIVE, "reminder_hours": 4})
    document = catalog_export.export_catalog(manager)
    assert document["approval_policies"] == [
        {
            "offer": "LAPTOP-PRO",
            "steps": [
                {
                    "name": "Finance",
                    "approvers": [{"kind": "approver_group", "group": "Finance Approvers"}],
                    "require": "one",
                    "condition": "price_monthly > 100",
                }
            ],
            "reminder_hours": 4,
        }
    ]
    version = policies.find("offer", "LAPTOP-PRO").version
    import_catalog(manager, document)
    assert policies.find("offer", "LAPTOP-PRO").version == version  # unchanged: nothing written
    document["approval_policies"][0]["steps"][0]["condition"] = "price_monthly >> 1"
    with pytest.raises(ValidationFailed) as refused:
        import_catalog(manager, document)
    assert [key for key in refused.value.fields if key.startswith("approval_policies")] == [
        "approval_policies[0].steps[0].condition"
    ]


def test_approvers_are_told_in_app_and_by_e_mail_and_decisions_are_audited(users, offer, finance):
    from app.notifications.models import Notification, OutboxEmail

    _policy(users, offer, EXPENSIVE)
    order = _order(users["consumer"], offer)
    told = db.session.scalars(
        sa.select(Notification.subject).where(Notification.user_id == finance[0].id)
    ).all()
    mailed = db.session.scalars(
        sa.select(OutboxEmail.subject).where(OutboxEmail.recipient == finance[0].email)
    ).all()
    assert told == mailed == ["Approval needed: VPN access"]
    step = approvals.decide(finance[1], order.approval_steps[0].id, "reject", "Not this year.")
    events = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.object_type == "approval_step", AuditEvent.object_id == str(step.id)
        )
    ).all()
    assert [(e.action, e.actor_id) for e in events] == [
        ("started", users["consumer"].id),
        ("rejected", finance[1].id),
    ]
    assert events[-1].summary == f"order {order.id}: Not this year."
    requester = db.session.scalars(
        sa.select(Notification.body).where(Notification.user_id == users["consumer"].id)
    ).all()
    assert "Your order was rejected: Not this year." in requester


def test_an_order_past_the_quota_waits_for_the_managers_when_the_policy_says_so(
    users, offer, make_user
):
    from app.accounts.services import groups
    from app.errors import InvalidTransition
    from app.subscriptions.services import quota_admin

    manager = make_user("consumer", groups=("Finance",), name="Fiona")
    finance = accounts.find_group_by_name("Finance")
    groups.set_managers(users["admin"], finance, [manager])
    quota_admin.set_quota(SYSTEM, finance.id, offer_code="LAPTOP-PRO", max_active=1)
    first = _order(users["consumer"], offer, key="q1")
    assert first.status in ("in_progress", "completed")
    with pytest.raises(InvalidTransition) as refused:  # the default: past the quota is refused
        _order(users["consumer"], offer, key="q2")
    assert refused.value.message.startswith("Finance has used its quota: 1 of 1")

    _policy(
        users,
        offer,
        {
            "steps": [
                {
                    "name": "Big spender",
                    "approvers": ["group_managers"],
                    "condition": "price_monthly > 1000",
                }
            ],
            "on_exceed": "approve",
        },
    )
    second = _order(users["consumer"], offer, key="q3")
    assert second.status == "awaiting_approval"
    assert [(s.name, s.status) for s in second.approval_steps] == [
        ("Big spender", "skipped"),
        ("Over quota", "pending"),
    ]
    assert second.approval_steps[1].asked == [manager.id]
    assert second.approval_steps[1].note.startswith("Finance has used its quota: 1 of 1")
    assert _contracts(second) == 0 and _tasks(second) == 0
    approvals.decide(manager, second.approval_steps[1].id, "approve")
    assert second.status in ("in_progress", "completed")
    assert _contracts(second) == 1


def test_a_budget_in_another_currency_is_refused_even_when_the_policy_approves_breaches(
    users, make_offer
):
    from app.errors import InvalidTransition
    from app.subscriptions.services import quota_admin

    dollars = make_offer("VPN-US", currency="USD")
    finance = accounts.find_group_by_name("Finance")
    quota_admin.set_quota(SYSTEM, finance.id, monthly_budget="100.00", currency="EUR")
    _policy(
        users,
        dollars,
        {
            "steps": [
                {
                    "name": "Manager",
                    "approvers": ["group_managers"],
                    "condition": "price_monthly > 1000",
                }
            ],
            "on_exceed": "approve",
        },
    )
    with pytest.raises(InvalidTransition) as refused:
        subs.subscribe(
            users["consumer"],
            dollars.id,
            options={"profile": "developer", "devices": 2},
            accept_terms=True,
            idempotency_key="usd",
        )
    assert "nothing converts between them" in refused.value.message


# --- changes -------------------------------------------------------------------------------------

MANY_DEVICES = {
    "steps": [
        {
            "name": "Finance",
            "approvers": [{"kind": "approver_group", "group": "Finance Approvers"}],
            "condition": "options.devices > 2",
        }
    ]
}


def _active_laptop(users, offer, agent):
    order = _order(users["consumer"], offer)
    _complete(order, agent)
    assert order.subscription.status == "active"
    _policy(users, offer, MANY_DEVICES)
    return order.subscription


def _complete(order, agent) -> None:
    for task in order.tasks:
        if task.status != "done":
            subs.transition_task(agent, task.id, "complete")


def _change(users, subscription, devices: int, key: str):
    order, _ = subs.modify(
        users["consumer"],
        subscription.id,
        options={"profile": "developer", "devices": devices},
        accept_terms=True,
        idempotency_key=key,
    )
    return order


def test_a_change_waits_for_its_policy_and_a_rejection_leaves_the_subscription_as_it_was(
    agent, users, offer, finance
):
    subscription = _active_laptop(users, offer, agent)
    change = _change(users, subscription, 3, "three")
    assert (change.status, subscription.status, _tasks(change)) == (
        "awaiting_approval",
        "modifying",
        0,
    )
    step = change.approval_steps[0]
    assert (step.status, sorted(step.asked)) == ("pending", sorted(u.id for u in finance))
    approvals.decide(finance[0], step.id, "reject", "Two devices are enough.")
    assert (change.status, change.failure_reason) == ("rejected", "Two devices are enough.")
    assert subscription.status == "active"
    assert subscription.options == {"profile": "developer", "devices": 2, "split_tunnel": False}
    assert _tasks(change) == 0 and _contracts(change) == 1


def test_an_approved_change_is_fulfilled_and_amends_the_contract(agent, users, offer, finance):
    subscription = _active_laptop(users, offer, agent)
    change = _change(users, subscription, 3, "three")
    approvals.decide(finance[1], change.approval_steps[0].id, "approve", "fine")
    assert change.status == "in_progress" and _tasks(change) >= 1
    _complete(change, agent)
    assert (change.status, subscription.status) == ("completed", "active")
    assert subscription.options == {"profile": "developer", "devices": 3, "split_tunnel": False}
    assert _contracts(change) == 2  # the amended contract beside the first


def test_a_change_the_condition_does_not_catch_goes_through_and_says_why(
    agent, users, offer, finance
):
    subscription = _active_laptop(users, offer, agent)
    change = _change(users, subscription, 1, "one")
    assert change.status == "in_progress"
    assert [(s.status, s.note) for s in change.approval_steps] == [("skipped", "devices 1 ≤ 2")]


def test_the_requester_withdraws_a_waiting_change(agent, users, offer, finance):
    subscription = _active_laptop(users, offer, agent)
    change = _change(users, subscription, 3, "three")
    approvals.cancel(users["consumer"], change.id)
    assert (change.status, subscription.status) == ("cancelled", "active")
    assert _tasks(change) == 0
