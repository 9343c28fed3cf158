"""The approvals pages and API: the inbox, deciding from it and from the subscription page,
withdrawing, delegating, the policies page, and problem+json for every refusal."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.subscriptions import services as subs
from app.subscriptions.models import ApprovalStep, Order
from app.subscriptions.services import delegations, policies
from tests.conftest import login, token_for

POLICY = {
    "steps": [
        {
            "name": "Finance",
            "approvers": ["approver_group Finance Approvers"],
            "condition": "price_monthly > 100",
        }
    ]
}


@pytest.fixture
def felix(make_user):
    return make_user("consumer", groups=("Finance Approvers",), name="Felix")


@pytest.fixture
def waiting(make_offer, users, felix):
    """A 145.50 EUR/month order of the consumer, waiting for Finance."""
    offer = make_offer("LAPTOP-PRO", price="145.50")
    policies.set_policy(users["catalog_manager"], "offer", offer.id, POLICY)
    order, _ = subs.subscribe(
        users["consumer"],
        offer.id,
        options={"profile": "developer", "devices": 2},
        accept_terms=True,
        idempotency_key="k1",
    )
    db.session.commit()
    return order


def _step(order) -> ApprovalStep:
    return db.session.scalar(sa.select(ApprovalStep).where(ApprovalStep.order_id == order.id))


def test_the_approver_decides_from_the_inbox(app, waiting, felix, users):
    approver = login(app.test_client(), felix)
    page = approver.get("/approvals").get_data(as_text=True)
    assert f'data-order-id="{waiting.id}"' in page and "LAPTOP" not in page.split("<h1>")[0]
    step = _step(waiting)
    response = approver.post(
        f"/approvals/{step.id}/decision",
        data={"decision": "approve", "comment": "", "version": step.version, "next": "/approvals"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Order, waiting.id).status in ("in_progress", "completed")
    requester = login(app.test_client(), users["consumer"])
    detail = requester.get(f"/subscriptions/{waiting.subscription_id}").get_data(as_text=True)
    assert "Approved by Felix" in detail
    assert "Nothing waits for your approval." in approver.get("/approvals").get_data(as_text=True)


def test_a_rejection_from_the_page_needs_a_reason_and_is_shown_to_the_requester(
    app, waiting, felix, users
):
    approver = login(app.test_client(), felix)
    step = _step(waiting)
    page = f"/subscriptions/{waiting.subscription_id}"
    assert 'data-testid="decide-form"' in approver.get(page).get_data(as_text=True)
    approver.post(f"/approvals/{step.id}/decision", data={"decision": "reject", "next": page})
    assert "Say why you reject it" in approver.get(page).get_data(as_text=True)
    approver.post(
        f"/approvals/{step.id}/decision",
        data={"decision": "reject", "comment": "Too expensive.", "next": page},
    )
    requester = login(app.test_client(), users["consumer"])
    detail = requester.get(page).get_data(as_text=True)
    assert "Rejected: Too expensive." in detail
    assert "Rejected by Felix" in detail


def test_the_requester_withdraws_from_the_subscription_page(app, waiting, users):
    requester = login(app.test_client(), users["consumer"])
    page = requester.get(f"/subscriptions/{waiting.subscription_id}").get_data(as_text=True)
    assert "Who can approve now:" in page and "Felix" in page
    assert "data-confirm=" in page and "Withdraw order" in page
    response = requester.post(f"/orders/{waiting.id}/withdraw")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Order, waiting.id).status == "cancelled"


def test_a_delegation_with_bad_dates_shows_field_errors(app, felix):
    approver = login(app.test_client(), felix)
    response = approver.post(
        "/approvals/delegations", data={"to": felix.email, "starts_on": "", "ends_on": ""}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose someone other than yourself." in page
    assert "Give a date as YYYY-MM-DD." in page


def test_the_api_lists_and_decides(api, waiting, felix, users):
    step = _step(waiting)
    as_felix = api(token_for(felix))
    listed = as_felix.get("/api/v1/approvals").get_json()["items"]
    assert [(i["id"], i["offer_code"], i["price"], i["status"]) for i in listed] == [
        (step.id, "LAPTOP-PRO", "145.50", "pending")
    ]
    assert api(None).get("/api/v1/approvals").status_code == 401
    url = f"/api/v1/approvals/{step.id}/decision"
    stranger = api(token_for(users["other_consumer"])).post(url, json={"decision": "approve"})
    assert (stranger.status_code, stranger.mimetype) == (403, "application/problem+json")
    own = api(token_for(users["consumer"])).post(url, json={"decision": "approve"})
    assert own.get_json()["detail"] == "You cannot decide on your own order."
    bad = as_felix.post(url, json={"decision": "maybe"})
    assert (bad.status_code, list(bad.get_json()["errors"])) == (422, ["decision"])
    no_reason = as_felix.post(url, json={"decision": "reject"})
    assert no_reason.status_code == 422
    stale = as_felix.post(url, json={"decision": "approve", "version": step.version + 5})
    assert stale.status_code == 409
    done = as_felix.post(url, json={"decision": "approve", "comment": "fine"})
    assert (done.status_code, done.get_json()["status"]) == (200, "approved")
    again = as_felix.post(url, json={"decision": "approve"})
    assert (again.status_code, again.get_json()["detail"]) == (
        409,
        "This step was already approved by Felix.",
    )


def test_the_api_sets_an_offers_policy(api, make_offer, users):
    offer = make_offer("GPU-VM", price="300.00")
    url = f"/api/v1/offers/{offer.id}/approval-policy"
    manager = api(token_for(users["catalog_manager"]))
    assert api(token_for(users["consumer"])).get(url).status_code == 403
    assert manager.get(url).get_json()["steps"] == []
    bad = manager.put(
        url,
        json={
            "steps": [
                {"name": "x", "approvers": ["group_managers"], "condition": "options.cores >"}
            ]
        },
    )
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == {
        "steps[0].condition": ["This is not a valid expression. (at column 16)"]
    }
    ok = manager.put(
        url,
        json={
            "steps": [{"name": "Manager", "approvers": ["group_managers"]}],
            "auto_approve": "price_monthly < 10",
        },
    )
    assert ok.status_code == 200
    assert ok.get_json()["steps"] == [
        {"name": "Manager", "approvers": [{"kind": "group_managers"}], "require": "one"}
    ]


def test_the_policies_page(app, make_offer, users, felix):
    make_offer("GPU-VM", price="300.00")
    assert login(app.test_client(), users["consumer"]).get("/approval-policies").status_code == 403
    manager = login(app.test_client(), users["catalog_manager"])
    bad = manager.post(
        "/approval-policies",
        data={"scope": "offer", "target": "GPU-VM", "steps": "- name: [unclosed"},
    )
    assert bad.status_code == 422
    assert "The steps are not valid YAML" in bad.get_data(as_text=True)
    steps = "- name: Finance\n  approvers:\n  - approver_group Finance Approvers\n  condition: price_monthly > 100\n"
    saved = manager.post(
        "/approval-policies", data={"scope": "offer", "target": "GPU-VM", "steps": steps}
    )
    assert saved.status_code == 302
    page = manager.get("/approval-policies").get_data(as_text=True)
    assert "Offer GPU-VM" in page and "price_monthly &gt; 100" in page


def test_the_subscription_api_shows_the_orders_approval(api, waiting, users):
    body = api(token_for(users["consumer"])).get(f"/api/v1/subscriptions/{waiting.subscription_id}")
    (order,) = body.get_json()["orders"]
    assert order["status"] == "awaiting_approval"
    assert [(s["name"], s["status"], s["asked"]) for s in order["approval_steps"]] == [
        ("Finance", "pending", ["Felix"])
    ]


def test_a_waiting_change_is_in_the_inbox_and_on_the_subscription_page(
    app, agent, make_offer, users, felix
):
    offer = make_offer("LAPTOP-PRO", price="45.50", name="Laptop pro")
    order, _ = subs.subscribe(
        users["consumer"],
        offer.id,
        options={"profile": "developer", "devices": 2},
        accept_terms=True,
        idempotency_key="k1",
    )
    for task in order.tasks:
        if task.status != "done":
            subs.transition_task(agent, task.id, "complete")
    policies.set_policy(
        users["catalog_manager"],
        "offer",
        offer.id,
        {"steps": [{**POLICY["steps"][0], "condition": "options.devices > 2"}]},
    )
    change, _ = subs.modify(
        users["consumer"],
        order.subscription_id,
        options={"profile": "developer", "devices": 4},
        accept_terms=True,
        idempotency_key="k2",
    )
    db.session.commit()
    inbox = login(app.test_client(), felix).get("/approvals").get_data(as_text=True)
    assert f'data-order-id="{change.id}"' in inbox
    assert "A change of this subscription, to Laptop pro." in inbox
    requester = login(app.test_client(), users["consumer"])
    detail = requester.get(f"/subscriptions/{order.subscription_id}").get_data(as_text=True)
    assert 'data-testid="approval-status">awaiting approval<' in detail
    assert "Until it is approved the subscription stays as it is." in detail


def test_the_inbox_runs_the_same_queries_for_3_or_12_waiting_orders(
    app, make_offer, make_user, users, felix, queries
):
    """Orders of requesters in two groups, decided by felix's delegate while he is away: her
    inbox reads them all in a fixed number of statements."""
    offer = make_offer("LAPTOP-PRO", price="145.50")
    policies.set_policy(users["catalog_manager"], "offer", offer.id, POLICY)
    requesters = [
        make_user("consumer", groups=("Finance" if n % 2 else "Engineering",)) for n in range(12)
    ]
    dana = make_user("consumer", groups=("Finance",), name="Dana")
    delegations.delegate(
        felix,
        to=dana.email,
        starts_on=clock.now().date(),
        ends_on=clock.now().date() + timedelta(days=3),
    )
    approver = login(app.test_client(), dana)
    counts = []
    for total in (3, 12):
        for position, requester in enumerate(requesters[:total]):
            subs.subscribe(
                requester,
                offer.id,
                options={"profile": "developer", "devices": 2},
                accept_terms=True,
                idempotency_key=f"inbox-{position}",
            )
        db.session.commit()
        with queries() as statements:
            page = approver.get("/approvals").get_data(as_text=True)
        assert page.count('data-testid="approval-row"') == total
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
