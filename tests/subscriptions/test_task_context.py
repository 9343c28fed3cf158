"""What an agent sees of the order behind a fulfillment task (issue 15, item 18): the options
chosen and the justification given; for a change, what changes (offer and options, before →
after). And the consumer's live progress stops, and refreshes the page, once the order stops
on a failed step."""

import pytest

from app import unit_of_work
from app.subscriptions import services as subs
from app.subscriptions.services import tracking
from tests.catalog.conftest import complete_offer_data
from tests.conftest import login

JUSTIFIED = complete_offer_data()["options"] + [
    {"key": "justification", "label": "Why do you need it?", "type": "text"}
]
TWO_STEPS = [
    {"name": "Approve access", "mode": "manual", "group": "Support Desk", "expected_hours": 4},
    {"name": "Hand over token", "mode": "manual", "group": "Support Desk", "expected_hours": 1},
]


@pytest.fixture
def ordered(make_offer, users, agent):
    offer = make_offer(
        "VPN-ACCESS", options=JUSTIFIED, fulfillment_plan=TWO_STEPS, upgrade_codes=["VPN-PLUS"]
    )
    order, _ = subs.subscribe(
        users["consumer"],
        offer.id,
        options={"profile": "developer", "devices": 2, "justification": "On call for payroll"},
        accept_terms=True,
        idempotency_key="vpn",
    )
    unit_of_work.commit()
    return order


def test_a_task_shows_the_options_and_the_justification(ordered):
    summary = tracking.order_summary(ordered)
    assert summary == {
        "options": [
            {"key": "profile", "label": "Profile", "value": "developer"},
            {"key": "devices", "label": "Devices", "value": 2},
            {"key": "split_tunnel", "label": "Split tunnelling", "value": False},
        ],
        "justification": "On call for payroll",
        "change": None,
    }


def test_the_queue_and_the_task_page_show_them(app, ordered, agent):
    client = login(app.test_client(), agent)
    queue = client.get("/fulfillment").get_data(as_text=True)
    row = queue.split(f'data-task-id="{ordered.tasks[0].id}"')[1].split("</tr>")[0]
    assert "<dt>Profile</dt><dd>developer</dd>" in row and "<dt>Devices</dt><dd>2</dd>" in row
    assert "“On call for payroll”" in row
    page = client.get(f"/fulfillment/tasks/{ordered.tasks[0].id}").get_data(as_text=True)
    assert 'data-testid="order-justification"' in page and "“On call for payroll”" in page


def _active(order, agent):
    for task in order.tasks:
        subs.transition_task(agent, task.id, "complete")
    unit_of_work.commit()
    return order.subscription


def test_a_change_task_says_what_changes(app, make_offer, ordered, agent, users):
    subscription = _active(ordered, agent)
    plus = make_offer(
        "VPN-PLUS", name="VPN plus", options=JUSTIFIED, fulfillment_plan=TWO_STEPS[:1]
    )
    change, _ = subs.modify(
        users["consumer"],
        subscription.id,
        target_offer_id=plus.id,
        options={"profile": "developer", "devices": 4, "justification": "On call for payroll"},
        accept_terms=True,
        idempotency_key="up",
    )
    unit_of_work.commit()
    expected = {
        "offer_before": "VPN access",
        "offer_after": "VPN plus",
        "options": [{"label": "Devices", "before": 2, "after": 4}],
    }
    assert tracking.order_summary(change)["change"] == expected
    page = login(app.test_client(), agent).get(f"/fulfillment/tasks/{change.tasks[0].id}")
    text = page.get_data(as_text=True)
    assert "VPN access → VPN plus" in text and "<li>Devices: 2 → 4</li>" in text
    subs.transition_task(agent, change.tasks[0].id, "complete")  # done: the contract says it
    unit_of_work.commit()
    assert tracking.order_summary(change)["change"] == expected


def test_the_live_progress_stops_when_a_step_fails(ordered, agent, users):
    before = tracking.progress_document(users["consumer"], ordered.subscription_id)
    assert before["finished"] is False
    subs.transition_task(agent, ordered.tasks[0].id, "fail", reason="No approver")
    after = tracking.progress_document(users["consumer"], ordered.subscription_id)
    assert [step["status"] for step in after["steps"]] == ["failed", "waiting"]
    assert after["order"]["status"] == "failed" and after["finished"] is True
