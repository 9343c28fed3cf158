"""The status API: usage feed, a subscription's status, KPIs and notices, with role × status matrices."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.status import services as status
from app.status.models import ServiceNotice, UsageRecord
from tests.conftest import module_world, token_for
from tests.status import test_services as shared
from tests.status.test_services import NOW, inbox_subjects, usage_rows

world = shared.world  # the shared scenario fixture


@module_world
def tokens(world, users):
    named = {role: token_for(user) for role, user in users.items()}
    named["feeder"] = token_for(world["feeder"])
    named["tier2"] = token_for(world["agents"][2])
    return named


def problem(response, status_code: int) -> dict:
    assert response.status_code == status_code, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.json


def count_usage() -> int:
    return db.session.scalar(sa.select(sa.func.count(UsageRecord.id)))


# --- POST /usage --------------------------------------------------------------------------------


def test_a_single_row_is_stored(world, api, tokens):
    row = usage_rows(world["finance"].id, "gb_transferred", 1, start=NOW - timedelta(days=1))[0]
    response = api(tokens["feeder"]).post("/api/v1/usage", json=row)
    assert response.status_code == 200
    assert response.json == {"stored": 1, "rejected": 0, "errors": {}}
    assert count_usage() == 1


def test_a_batch_keeps_good_rows_and_reports_bad_ones_by_index(world, api, tokens):
    rows = usage_rows(world["finance"].id, "gb_transferred", 3, start=NOW - timedelta(days=3))
    rows[1]["quantity"] = -1
    rows.append(dict(rows[0], metric="teleports"))
    response = api(tokens["feeder"]).post("/api/v1/usage", json={"records": rows})
    assert response.status_code == 207
    assert response.json["stored"] == 2 and response.json["rejected"] == 2
    assert sorted(response.json["errors"]) == ["1", "3"]
    assert "quantity" in response.json["errors"]["1"][0]
    assert "teleports" in response.json["errors"]["3"][0]
    # Sent again, the same periods are replaced, not duplicated.
    again = api(tokens["feeder"]).post("/api/v1/usage", json={"records": [rows[0], rows[2]]})
    assert again.json["stored"] == 2 and count_usage() == 2


def test_an_atomic_batch_with_a_bad_row_is_refused_whole(world, api, tokens):
    rows = usage_rows(world["finance"].id, "gb_transferred", 4, start=NOW - timedelta(days=4))
    rows[2]["period_end"] = rows[2]["period_start"]
    body = problem(
        api(tokens["feeder"]).post("/api/v1/usage", json={"records": rows, "atomic": True}), 422
    )
    assert list(body["errors"]) == ["2"] and "period_end" in body["errors"]["2"][0]
    assert count_usage() == 0


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        "text",
        {"records": "nope"},
        {"records": []},
        {"records": [{}], "atomic": "maybe"},
        {"records": [{}], "extra": 1},
    ],
)
def test_malformed_usage_bodies_are_422_problems(world, api, tokens, payload):
    problem(api(tokens["feeder"]).post("/api/v1/usage", json=payload), 422)
    assert count_usage() == 0


def test_more_than_1000_rows_is_a_422(world, api, tokens):
    rows = usage_rows(world["finance"].id, "api_calls", 1001, start=NOW - timedelta(days=1001))
    body = problem(api(tokens["feeder"]).post("/api/v1/usage", json={"records": rows}), 422)
    assert "records" in body["errors"]


def test_a_consumer_feeds_only_its_groups_subscriptions(world, api, tokens):
    own = usage_rows(world["finance"].id, "api_calls", 1, start=NOW - timedelta(days=1))[0]
    foreign = usage_rows(world["engineering"].id, "api_calls", 1, start=NOW - timedelta(days=1))[0]
    response = api(tokens["consumer"]).post("/api/v1/usage", json={"records": [own, foreign]})
    assert (
        response.status_code == 207
        and response.json["stored"] == 1
        and list(response.json["errors"]) == ["1"]
    )


def test_usage_needs_a_token(world, client):
    problem(client.post("/api/v1/usage", json={}), 401)


# --- GET /subscriptions/{id}/status -------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("consumer", 200),
        ("other_consumer", 404),
        ("product_manager", 200),
        ("support_agent", 200),
        ("catalog_manager", 200),
        ("admin", 404),
        ("", 401),
    ],
)
def test_subscription_status_matrix(world, api, tokens, role, expected):
    response = api(tokens.get(role)).get(f"/api/v1/subscriptions/{world['finance'].id}/status")
    assert response.status_code == expected
    if expected != 200:
        assert response.mimetype == "application/problem+json"


def test_subscription_status_as_json(world, api, tokens, users):
    sub = world["finance"]
    status.record_usage(
        world["feeder"],
        usage_rows(sub.id, "gb_transferred", 20, start=NOW - timedelta(days=19), per_day=4),
    )
    status.post_notice(
        users["product_manager"],
        product_id=world["product"].id,
        kind="maintenance",
        title="Patch",
        message="",
        starts_at=NOW + timedelta(days=2),
    )
    body = (
        api(tokens["consumer"])
        .get(f"/api/v1/subscriptions/{sub.id}/status?from=2026-11-01&to=2026-11-20")
        .json
    )
    assert body["subscription"]["id"] == sub.id and body["subscription"]["status"] == "active"
    assert (
        body["contract"]["price"] == "7.50"
        and body["contract"]["service_levels"]["availability_pct"] == 99.5
    )
    assert body["period"] == {
        "from": "2026-11-01T00:00:00+00:00",
        "to": "2026-11-21T00:00:00+00:00",
    }
    assert body["usage"]["gb_transferred"][0] == {"day": "2026-11-01", "quantity": 4.0}
    assert body["quotas"] == {"gb_transferred": 100.0}
    assert body["kpis"]["support"]["response_within_target_pct"] is None
    assert body["kpis"]["availability_pct"] == 100.0
    assert [w["kind"] for w in body["warnings"]] == ["quota", "maintenance"]
    assert (
        body["notices"][0]["title"] == "Patch" and body["notices"][0]["product"] == "Remote Access"
    )
    assert body["orders"][0]["tasks"][1]["name"] == "Approve access"


def test_subscription_status_with_bad_dates_is_422(world, api, tokens):
    body = problem(
        api(tokens["consumer"]).get(
            f"/api/v1/subscriptions/{world['finance'].id}/status?from=nope"
        ),
        422,
    )
    assert "from" in body["errors"]


# --- GET /kpis -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("product_manager", 200),
        ("catalog_manager", 200),
        ("support_agent", 200),
        ("consumer", 200),
        ("admin", 403),
        ("", 401),
    ],
)
def test_kpis_matrix(world, api, tokens, role, expected):
    assert api(tokens.get(role)).get("/api/v1/kpis").status_code == expected


def test_kpis_are_scoped_to_the_consumers_groups(world, api, tokens):
    status.record_usage(
        world["feeder"],
        usage_rows(world["finance"].id, "api_calls", 2, start=NOW - timedelta(days=2), per_day=5),
    )
    status.record_usage(
        world["feeder"],
        usage_rows(
            world["engineering"].id, "api_calls", 2, start=NOW - timedelta(days=2), per_day=500
        ),
    )
    consumer = api(tokens["consumer"]).get("/api/v1/kpis").json
    assert consumer["subscriptions"]["active_now"] == 1 and consumer["usage"] == {"api_calls": 10.0}
    assert consumer["revenue"] is None and "offers" not in consumer
    manager = api(tokens["product_manager"]).get("/api/v1/kpis?offer=VPN-ACCESS").json
    assert manager["subscriptions"]["active_now"] == 2 and manager["usage"] == {"api_calls": 1010.0}
    assert manager["revenue"]["mrr"] == "15.00" and manager["revenue"]["currency"] == "EUR"
    assert {row["code"] for row in manager["offers"]} == {"VPN-ACCESS", "TEAM-WIKI"}
    assert manager["fulfillment"]["within_target_pct"] == 100.0
    assert manager["support"]["satisfaction"] is None
    by_product = (
        api(tokens["product_manager"]).get(f"/api/v1/kpis?product={world['other_product'].id}").json
    )
    assert by_product["subscriptions"]["active_now"] == 0 and [
        row["code"] for row in by_product["offers"]
    ] == ["TEAM-WIKI"]


@pytest.mark.parametrize(
    ("query", "status_code", "field"),
    [
        ("product=abc", 422, "product"),
        ("product=987654", 404, None),
        ("from=2026-11-10&to=2026-11-01", 422, "to"),
        ("from=1900-01-01", 422, "from"),
    ],
)
def test_kpis_bad_parameters(world, api, tokens, query, status_code, field):
    body = problem(api(tokens["product_manager"]).get(f"/api/v1/kpis?{query}"), status_code)
    if field:
        assert field in body["errors"]


# --- notices ---------------------------------------------------------------------------------


def test_notices_list_shows_what_the_caller_may_see(world, api, tokens, users):
    manager = users["product_manager"]
    status.post_notice(
        manager,
        product_id=world["product"].id,
        kind="maintenance",
        title="VPN patch",
        message="",
        starts_at=NOW + timedelta(days=1),
    )
    wiki = status.post_notice(
        manager,
        product_id=world["other_product"].id,
        kind="outage",
        title="Wiki down",
        message="",
        starts_at=NOW - timedelta(hours=2),
    )
    status.update_notice(manager, wiki.id, message="Fixed", resolve=True)
    assert [n["title"] for n in api(tokens["consumer"]).get("/api/v1/notices").json] == [
        "VPN patch"
    ]
    assert [n["title"] for n in api(tokens["product_manager"]).get("/api/v1/notices").json] == [
        "VPN patch"
    ]
    every = api(tokens["product_manager"]).get("/api/v1/notices?all=true").json
    assert {n["title"] for n in every} == {"VPN patch", "Wiki down"}
    resolved = next(n for n in every if n["title"] == "Wiki down")
    assert resolved["resolved_at"] and resolved["updates"][0]["message"] == "Fixed"
    assert [n["title"] for n in api(tokens["consumer"]).get("/api/v1/notices?all=true").json] == [
        "VPN patch"
    ]
    problem(api(None).get("/api/v1/notices"), 401)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("product_manager", 201),
        ("tier2", 201),
        ("support_agent", 403),
        ("catalog_manager", 403),
        ("consumer", 403),
        ("admin", 403),
        ("", 401),
    ],
)
def test_post_notice_matrix(world, api, tokens, role, expected):
    response = api(tokens.get(role)).post(
        "/api/v1/notices",
        json={
            "product_id": world["product"].id,
            "kind": "maintenance",
            "title": "Upgrade",
            "starts_at": "2026-11-28T22:00:00Z",
        },
    )
    assert response.status_code == expected
    assert db.session.scalar(sa.select(sa.func.count(ServiceNotice.id))) == (
        1 if expected == 201 else 0
    )


def test_posting_and_resolving_through_the_api_notifies_subscribers(world, api, tokens, users):
    created = api(tokens["product_manager"]).post(
        "/api/v1/notices",
        json={
            "product_id": world["product"].id,
            "kind": "outage",
            "title": "Gateway down",
            "message": "Looking into it",
            "starts_at": "2026-11-20T11:00:00Z",
            "ends_at": None,
        },
    )
    assert (
        created.status_code == 201
        and created.json["kind"] == "outage"
        and created.json["ends_at"] is None
    )
    notice_id = created.json["id"]
    updated = api(tokens["tier2"]).post(
        f"/api/v1/notices/{notice_id}/updates", json={"message": "Fixed", "resolve": True}
    )
    assert (
        updated.status_code == 200
        and updated.json["resolved_at"]
        and updated.json["updates"][0]["message"] == "Fixed"
    )
    assert {"Outage: Remote Access", "Resolved: Gateway down"} <= set(
        inbox_subjects(users["other_consumer"])
    )
    again = problem(
        api(tokens["tier2"]).post(f"/api/v1/notices/{notice_id}/updates", json={"message": "More"}),
        422,
    )
    assert again["errors"]["message"] == ["This notice is resolved."]
    problem(api(tokens["tier2"]).post("/api/v1/notices/999999/updates", json={"message": "x"}), 404)
    problem(
        api(tokens["support_agent"]).post(
            f"/api/v1/notices/{notice_id}/updates", json={"message": "x"}
        ),
        403,
    )


def test_bad_notice_fields_are_named_in_the_problem(world, api, tokens):
    body = problem(
        api(tokens["product_manager"]).post(
            "/api/v1/notices",
            json={
                "product_id": "nine",
                "kind": "volcano",
                "title": "",
                "starts_at": "2026-02-30",
                "ends_at": 7,
            },
        ),
        422,
    )
    assert {"product_id", "kind", "title", "starts_at", "ends_at"} <= set(body["errors"])
    missing = problem(api(tokens["product_manager"]).post("/api/v1/notices", json={}), 422)
    assert {"product_id", "kind", "title", "starts_at"} <= set(missing["errors"])
    problem(
        api(tokens["product_manager"]).post(
            "/api/v1/notices", data="not json", content_type="application/json"
        ),
        422,
    )


def test_openapi_documents_the_status_endpoints(client):
    from openapi_spec_validator import validate

    document = client.get("/api/v1/openapi.json").json
    validate(document)
    for path, method in [
        ("/usage", "post"),
        ("/subscriptions/{subscription_id}/status", "get"),
        ("/kpis", "get"),
        ("/notices", "get"),
        ("/notices", "post"),
        ("/notices/{notice_id}/updates", "post"),
    ]:
        assert method in document["paths"][path], (path, method)
    assert {p["name"] for p in document["paths"]["/kpis"]["get"]["parameters"]} == {
        "product",
        "offer",
        "from",
        "to",
        "page",
        "per_page",
    }


def test_kpis_page_the_figures_per_offer(world, api, tokens):
    manager = api(tokens["product_manager"])
    first = manager.get("/api/v1/kpis?per_page=1").json
    assert (first["page"], first["per_page"], first["pages"], first["total"]) == (1, 1, 2, 2)
    second = manager.get("/api/v1/kpis?per_page=1&page=2").json
    assert len(first["offers"]) == len(second["offers"]) == 1
    assert {first["offers"][0]["code"], second["offers"][0]["code"]} == {"VPN-ACCESS", "TEAM-WIKI"}
    past_the_end = manager.get("/api/v1/kpis?per_page=1&page=9").json
    assert past_the_end["page"] == 2 and past_the_end["offers"] == second["offers"]
    everything = manager.get("/api/v1/kpis").json
    assert (everything["page"], everything["pages"], everything["total"]) == (1, 1, 2)
    assert problem(manager.get("/api/v1/kpis?per_page=0"), 422)["errors"]["per_page"]
    assert problem(manager.get("/api/v1/kpis?page=x"), 422)["errors"]["page"]
    consumer = api(tokens["consumer"]).get("/api/v1/kpis?page=2").json
    assert "offers" not in consumer and "total" not in consumer
