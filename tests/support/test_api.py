"""The support API: the same services as the pages, as problem+json on refusal, with role × status matrices."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.knowledge import services as knowledge
from app.support import services as support
from app.support.models import SupportRequest
from tests.conftest import token_for


@pytest.fixture
def new_request(active_subscription, users):
    def factory(**overrides):
        data = {
            "request_type": "issue",
            "priority": "high",
            "subject": "Cannot connect",
            "description": "Timeout at login.",
        }
        data.update(overrides)
        return support.open_request(users["consumer"], active_subscription.id, **data)

    return factory


@pytest.fixture
def call(api):
    """call(user) → an API client with that user's bearer token."""
    return lambda user: api(token_for(user))


def body_for(subscription, **overrides) -> dict:
    data = {
        "subscription_id": subscription.id,
        "request_type": "question",
        "priority": "low",
        "subject": "How do I?",
        "description": "Install the client.",
    }
    data.update(overrides)
    return data


def test_consumer_opens_a_request(active_subscription, users, call):
    response = call(users["consumer"]).post(
        "/api/v1/support-requests", json=body_for(active_subscription)
    )
    assert response.status_code == 201, response.json
    data = response.json
    assert data["status"] == "new" and data["tier"] == 1 and data["version"] == 1
    assert data["sla"]["paused"] is False and data["sla"]["response_left"] > 0
    assert response.headers["Location"].endswith(f"/api/v1/support-requests/{data['id']}")


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("other_consumer", 404),
        ("support_agent", 403),
        ("catalog_manager", 403),
        ("product_manager", 403),
        ("admin", 403),
    ],
)
def test_only_the_groups_consumers_open_requests(active_subscription, users, call, who, status):
    response = call(users[who]).post("/api/v1/support-requests", json=body_for(active_subscription))
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0


def test_without_a_token_is_401(client, active_subscription):
    assert (
        client.post("/api/v1/support-requests", json=body_for(active_subscription)).status_code
        == 401
    )
    assert client.get("/api/v1/support-requests").status_code == 401
    assert client.get("/api/v1/knowledge").status_code == 401


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"subscription_id": "1"}, "subscription_id"),
        ({"subscription_id": None}, "subscription_id"),
        ({"priority": "asap"}, "priority"),
        ({"request_type": 7}, "request_type"),
        ({"subject": ""}, "subject"),
        ({"description": "d" * 20_001}, "description"),
    ],
)
def test_bad_fields_are_422_problems_naming_the_field(
    active_subscription, users, call, overrides, field
):
    response = call(users["consumer"]).post(
        "/api/v1/support-requests", json=body_for(active_subscription, **overrides)
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


@pytest.mark.parametrize("payload", [[1, 2], "text", None])
def test_a_body_that_is_not_an_object_is_422(users, call, payload):
    response = call(users["consumer"]).post("/api/v1/support-requests", json=payload)
    assert response.status_code == 422


def test_list_is_the_groups_for_consumers_and_the_tier_queue_for_agents(
    new_request, users, agents, call
):
    first = new_request(subject="First")
    second = new_request(subject="Second")
    support.escalate(agents[1], second.id, "Tier 2 please")
    mine = call(users["consumer"]).get("/api/v1/support-requests").json
    assert {item["id"] for item in mine["items"]} == {first.id, second.id} and mine["total"] == 2
    assert call(users["other_consumer"]).get("/api/v1/support-requests").json["items"] == []
    queue = call(agents[1]).get("/api/v1/support-requests").json
    assert [item["id"] for item in queue["items"]] == [first.id]
    tier2 = call(agents[1]).get("/api/v1/support-requests?tier=2").json
    assert [item["id"] for item in tier2["items"]] == [second.id]
    assert call(agents[2]).get("/api/v1/support-requests?status=resolved").json["items"] == []
    filtered = call(users["consumer"]).get("/api/v1/support-requests?status=new&per_page=1").json
    assert filtered["per_page"] == 1 and filtered["pages"] == 2


@pytest.mark.parametrize("query", ["?status=zzz", "?tier=4", "?tier=x", "?page=0", "?per_page=500"])
def test_bad_list_arguments_are_422(users, call, query):
    response = call(users["consumer"]).get("/api/v1/support-requests" + query)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("consumer", 200),
        ("other_consumer", 404),
        ("support_agent", 200),
        ("product_manager", 200),
        ("catalog_manager", 404),
        ("admin", 404),
    ],
)
def test_detail_matrix(new_request, users, call, who, status):
    request = new_request()
    assert call(users[who]).get(f"/api/v1/support-requests/{request.id}").status_code == status


def test_detail_hides_internal_notes_from_consumers(new_request, users, agents, call):
    request = new_request()
    support.add_message(agents[1], request.id, "INTERNAL: check the gateway", internal=True)
    support.add_message(agents[1], request.id, "Which version?")
    consumer_view = call(users["consumer"]).get(f"/api/v1/support-requests/{request.id}").json
    assert [m["body"] for m in consumer_view["messages"]] == ["Which version?"]
    assert "INTERNAL" not in str(consumer_view)
    agent_view = call(agents[1]).get(f"/api/v1/support-requests/{request.id}").json
    assert [(m["body"], m["internal"]) for m in agent_view["messages"]] == [
        ("INTERNAL: check the gateway", True),
        ("Which version?", False),
    ]
    assert agent_view["incident"] is None


def test_messages_via_the_api(new_request, users, agents, call):
    request = new_request()
    response = call(users["consumer"]).post(
        f"/api/v1/support-requests/{request.id}/messages", json={"body": "More info ✓"}
    )
    assert (
        response.status_code == 201
        and response.json["body"] == "More info ✓"
        and response.json["internal"] is False
    )
    note = call(agents[1]).post(
        f"/api/v1/support-requests/{request.id}/messages", json={"body": "note", "internal": True}
    )
    assert note.status_code == 201 and note.json["internal"] is True
    refused = call(users["consumer"]).post(
        f"/api/v1/support-requests/{request.id}/messages", json={"body": "x", "internal": True}
    )
    assert refused.status_code == 403
    assert (
        call(users["other_consumer"])
        .post(f"/api/v1/support-requests/{request.id}/messages", json={"body": "x"})
        .status_code
        == 404
    )
    empty = call(users["consumer"]).post(
        f"/api/v1/support-requests/{request.id}/messages", json={"body": "  "}
    )
    assert empty.status_code == 422 and "body" in empty.json["errors"]
    assert (
        call(users["consumer"])
        .post(
            f"/api/v1/support-requests/{request.id}/messages",
            json={"body": "x", "internal": "maybe"},
        )
        .status_code
        == 422
    )
    assert (
        call(users["consumer"])
        .post("/api/v1/support-requests/999999/messages", json={"body": "x"})
        .status_code
        == 404
    )


def test_transitions_via_the_api_with_versions(new_request, users, agents, call):
    request = new_request()
    agent = call(agents[1])
    moved = agent.post(
        f"/api/v1/support-requests/{request.id}/transitions",
        json={"to": "waiting_on_consumer", "reason": "Which version?", "version": 1},
    )
    assert (
        moved.status_code == 200
        and moved.json["status"] == "waiting_on_consumer"
        and moved.json["sla"]["paused"]
    )
    stale = call(agents[2]).post(
        f"/api/v1/support-requests/{request.id}/transitions", json={"to": "resolved", "version": 1}
    )
    assert (
        stale.status_code == 409
        and stale.json["title"] == "Conflict"
        and "version" in stale.json["errors"]
    )
    invalid = agent.post(
        f"/api/v1/support-requests/{request.id}/transitions", json={"to": "closed"}
    )
    assert invalid.status_code == 409 and invalid.json["title"] == "Invalid transition"
    assert "cannot become closed" in invalid.json["detail"]
    consumer = call(users["consumer"])
    assert (
        consumer.post(
            f"/api/v1/support-requests/{request.id}/transitions", json={"to": "resolved"}
        ).status_code
        == 403
    )
    agent.post(
        f"/api/v1/support-requests/{request.id}/transitions", json={"to": "resolved", "version": 2}
    )
    accepted = consumer.post(
        f"/api/v1/support-requests/{request.id}/transitions", json={"to": "closed", "version": 3}
    )
    assert accepted.status_code == 200 and accepted.json["status"] == "closed"
    assert (
        consumer.post(
            f"/api/v1/support-requests/{request.id}/transitions",
            json={"to": "closed", "version": "3"},
        ).status_code
        == 422
    )  # version must be a number
    assert (
        consumer.post(f"/api/v1/support-requests/{request.id}/transitions", json={}).status_code
        == 422
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [("consumer", 200), ("other_consumer", 200), ("support_agent", 200), ("admin", 200)],
)
def test_knowledge_search_returns_published_articles(active_subscription, users, call, who, status):
    manager = users["catalog_manager"]
    knowledge.save_article(manager, title="Tunnel drops after sleep", body="Turn off sleep.")
    knowledge.save_article(manager, title="Tunnel draft", body="…", status="draft")
    response = call(users[who]).get("/api/v1/knowledge?q=tunnel")
    assert response.status_code == status
    assert [item["title"] for item in response.json["items"]] == ["Tunnel drops after sleep"]
    item = response.json["items"][0]
    assert (
        item["helpful"] == 0
        and item["views"] == 0
        and item["url"].startswith("/support/knowledge/")
    )
    by_offer = call(users[who]).get("/api/v1/knowledge?offer=VPN-ACCESS").json["items"]
    assert [i["title"] for i in by_offer] == ["How to use VPN-ACCESS"]


@pytest.mark.parametrize("query", ["?q=" + "x" * 201, "?product=x", "?page=abc"])
def test_knowledge_bad_arguments_are_422(users, call, query):
    assert call(users["consumer"]).get("/api/v1/knowledge" + query).status_code == 422


def test_openapi_documents_the_support_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"post", "get"} <= set(paths["/support-requests"])
    assert "get" in paths["/support-requests/{request_id}"]
    assert "post" in paths["/support-requests/{request_id}/messages"]
    assert "post" in paths["/support-requests/{request_id}/transitions"]
    assert "get" in paths["/knowledge"]


def test_control_characters_are_dropped_not_a_server_error(active_subscription, users, call):
    client = call(users["consumer"])
    created = client.post(
        "/api/v1/support-requests", json=body_for(active_subscription, subject="A\u0001B")
    )
    assert created.status_code == 201 and created.json["subject"] == "AB"
    reply = client.post(
        f"/api/v1/support-requests/{created.json['id']}/messages", json={"body": "x\u0001y"}
    )
    assert reply.status_code == 201 and reply.json["body"] == "xy"
    assert client.get("/api/v1/knowledge?q=vpn%01&offer=%01").status_code == 200


def test_a_retried_request_with_its_idempotency_key_returns_the_first(
    active_subscription, users, call
):
    consumer = call(users["consumer"])
    headers = {"Idempotency-Key": "retry-1"}
    body = body_for(active_subscription)
    first = consumer.post("/api/v1/support-requests", json=body, headers=headers)
    again = consumer.post("/api/v1/support-requests", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    changed = consumer.post(
        "/api/v1/support-requests", json={**body, "subject": "Other"}, headers=headers
    )
    assert changed.status_code == 409 and "Idempotency-Key" in changed.get_json()["errors"]
    too_long = consumer.post(
        "/api/v1/support-requests", json=body, headers={"Idempotency-Key": "k" * 101}
    )
    assert too_long.status_code == 422 and "Idempotency-Key" in too_long.get_json()["errors"]
    without = consumer.post("/api/v1/support-requests", json=body)
    assert without.status_code == 201 and without.get_json()["id"] != first.get_json()["id"]
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 2


# --- the role is checked before the body -------------------------------------------------------
# An empty body from someone who may not make the call answers as a valid one would (403 or
# 404), never a 422 that lists the fields; from someone who may, it is a 422.


def _empty_body_call(api, users, who, path):
    token = token_for(users[who]) if who else None
    response = api(token).post(path, json={})
    assert response.mimetype == "application/problem+json"
    return response


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("consumer", 422),
        ("other_consumer", 422),
        ("support_agent", 403),
        ("product_manager", 403),
        ("catalog_manager", 403),
        ("admin", 403),
        ("", 401),
    ],
)
def test_opening_with_an_empty_body_checks_the_role_first(users, api, who, status):
    response = _empty_body_call(api, users, who, "/api/v1/support-requests")
    assert response.status_code == status
    assert ("errors" in response.json and "subject" in response.json["errors"]) == (status == 422)
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("consumer", 422),
        ("other_consumer", 404),
        ("support_agent", 422),
        ("product_manager", 404),
        ("catalog_manager", 404),
        ("admin", 404),
        ("", 401),
    ],
)
def test_replying_with_an_empty_body_checks_the_role_first(new_request, users, api, who, status):
    request = new_request()
    path = f"/api/v1/support-requests/{request.id}/messages"
    response = _empty_body_call(api, users, who, path)
    assert response.status_code == status
    assert ("errors" in response.json and "body" in response.json["errors"]) == (status == 422)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("consumer", 422),
        ("other_consumer", 404),
        ("support_agent", 422),
        ("product_manager", 403),
        ("catalog_manager", 404),
        ("admin", 404),
        ("", 401),
    ],
)
def test_moving_with_an_empty_body_checks_the_role_first(new_request, users, api, who, status):
    request = new_request()
    path = f"/api/v1/support-requests/{request.id}/transitions"
    response = _empty_body_call(api, users, who, path)
    assert response.status_code == status
    assert ("errors" in response.json and "to" in response.json["errors"]) == (status == 422)
    assert db.session.get(SupportRequest, request.id).status == "new"


def test_an_empty_body_on_a_missing_request_is_not_found(users, api):
    for path in ("/messages", "/transitions"):
        response = _empty_body_call(
            api, users, "support_agent", f"/api/v1/support-requests/999999{path}"
        )
        assert response.status_code == 404


def test_the_knowledge_api_takes_no_body():
    """Every knowledge route under /api/v1 only reads; if one starts writing, it needs a role ×
    empty-body test like the support routes above."""
    from app.api.core import ENDPOINTS

    knowledge_writes = [
        (e.method, e.rule)
        for e in ENDPOINTS
        if e.rule.startswith("/knowledge") and e.method != "GET"
    ]
    assert knowledge_writes == []
