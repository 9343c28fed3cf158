"""Support requests across a group (issue 15, item 7). The rule: "My support requests" lists the
requests the user opened; the group's requests are one click away and say who opened each.
Colleagues in the group see a request and may add to its thread (they share the subscription),
but only the person who opened it (or an agent) answers for the consumer, accepts the
resolution, reopens it or rates the support."""

import pytest

from app import unit_of_work
from app.errors import NotAllowed
from app.support import services as support
from tests.conftest import login, token_for

ONLY_REQUESTER = "Only support agents and the person who opened it change its status."


@pytest.fixture
def resolved(active_subscription, users, agents):
    request = support.open_request(
        users["consumer"],
        active_subscription.id,
        request_type="issue",
        priority="high",
        subject="Cannot connect",
        description="Timeout at login.",
    )
    support.transition_request(agents[1], request.id, "resolved", reason="Fixed")
    unit_of_work.commit()
    return request


@pytest.fixture
def colleague(make_user):
    return make_user("consumer", groups=("Finance",), name="Carla Colleague")


def test_a_colleague_cannot_accept_reopen_or_rate(resolved, colleague):
    for to in ("closed", "in_progress"):
        with pytest.raises(NotAllowed) as refused:
            support.transition_request(colleague, resolved.id, to)
        assert refused.value.message == ONLY_REQUESTER
    with pytest.raises(NotAllowed) as refused:
        support.rate(colleague, resolved.id, 1)
    assert refused.value.message == (
        "Only the person who opened the request rates the support received."
    )
    assert (resolved.status, resolved.satisfaction) == ("resolved", None)


def test_the_requester_accepts_and_rates(resolved, users):
    support.transition_request(users["consumer"], resolved.id, "closed")
    support.rate(users["consumer"], resolved.id, 5)
    assert (resolved.status, resolved.satisfaction) == ("closed", 5)


def test_a_colleague_may_still_add_to_the_thread(resolved, colleague):
    message = support.add_message(colleague, resolved.id, "Same for me since Monday")
    assert message.author_id == colleague.id


def test_the_pages_say_whose_request_it_is(app, resolved, colleague, users):
    client = login(app.test_client(), colleague)
    mine = client.get("/support/requests").get_data(as_text=True)
    assert "Cannot connect" not in mine and "No support requests here." in mine
    group = client.get("/support/requests?whose=group").get_data(as_text=True)
    assert "Cannot connect" in group
    assert f'<td data-testid="opened-by">{users["consumer"].name}</td>' in group
    page = client.get(f"/support/requests/{resolved.id}").get_data(as_text=True)
    assert (
        f"{users['consumer'].name} opened this request for your group. You can follow it and "
        f"add to it; only {users['consumer'].name} (or support) accepts the resolution and "
        "rates it."
    ) in page
    assert 'name="status-to"' not in page and 'name="rate-satisfaction"' not in page
    assert 'name="reply-body"' in page  # they may add to the thread
    refused = client.post(f"/support/requests/{resolved.id}/rate", data={"rate-satisfaction": "1"})
    assert refused.status_code == 403
    own = login(app.test_client(), users["consumer"])
    own_page = own.get(f"/support/requests/{resolved.id}").get_data(as_text=True)
    assert 'data-testid="colleague-note"' not in own_page and 'name="rate-satisfaction"' in own_page
    listed = own.get("/support/requests?whose=group").get_data(as_text=True)
    assert '<td data-testid="opened-by">You</td>' in listed


def test_the_api_lists_own_requests_unless_asked_for_the_group(api, resolved, colleague):
    client = api(token_for(colleague))
    assert client.get("/api/v1/support-requests").json["items"] == []
    group = client.get("/api/v1/support-requests?whose=group").json["items"]
    assert [item["id"] for item in group] == [resolved.id]
    bad = client.get("/api/v1/support-requests?whose=all")
    assert bad.status_code == 422 and bad.json["errors"] == {"whose": ["Use mine or group."]}
    refused = client.post(
        f"/api/v1/support-requests/{resolved.id}/transitions", json={"to": "closed"}
    )
    assert refused.status_code == 403
