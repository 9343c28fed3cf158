"""Bad input at the edges of every domain: ids past what a key column holds, Unicode digits,
url_for's own names in query strings, text no database can store, JSON and YAML nested too
deeply, impossible dates. Each gets a 404, a field-level 422 problem (API) or a page that
ignores the bad filter, never a 500 and never a stored record."""

import json

import pytest
import sqlalchemy as sa

from app.catalog.models import ServiceOffer
from app.extensions import db
from app.subscriptions.models import Subscription
from tests.catalog.conftest import catalog_setup, make_offer  # noqa: F401 - fixtures
from tests.conftest import token_for
from tests.status.test_services import world  # noqa: F401 - fixture
from tests.support.conftest import agents  # noqa: F401 - fixture used by world

HUGE = "99999999999999999999"  # past 2**63: the database refuses to bind it
SUPERSCRIPT_TWO = "%C2%B2"  # "²": str.isdigit() says yes, int() says no
SURROGATE = '"\\ud800"'  # a lone UTF-16 surrogate, as JSON text


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    return response.get_json()["errors"]


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("consumer", f"/api/v1/offers/{HUGE}"),
        ("consumer", f"/api/v1/contracts/{HUGE}"),
        ("support_agent", f"/api/v1/fulfillment-tasks/{HUGE}"),
    ],
)
def test_api_ids_past_a_key_column_are_not_found(users, api, role, path):
    response = api(token_for(users[role])).get(path)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("role", "path", "field"),
    [
        ("consumer", f"/api/v1/offers?page={SUPERSCRIPT_TWO}", "page"),
        ("consumer", f"/api/v1/offers?per_page={SUPERSCRIPT_TWO}", "per_page"),
        ("consumer", f"/api/v1/offers?page={HUGE}", "page"),
        ("consumer", f"/api/v1/offers?category_id={HUGE}", "category_id"),
        ("consumer", f"/api/v1/subscriptions?page={HUGE}", "page"),
        ("consumer", f"/api/v1/subscriptions?group={HUGE}", "group"),
        ("consumer", f"/api/v1/support-requests?page={SUPERSCRIPT_TWO}", "page"),
        ("support_agent", f"/api/v1/support-requests?tier={SUPERSCRIPT_TWO}", "tier"),
        ("consumer", f"/api/v1/knowledge?product={SUPERSCRIPT_TWO}", "product"),
    ],
)
def test_api_query_numbers_are_field_errors(users, api, role, path, field):
    assert list(problem(api(token_for(users[role])).get(path), 422)) == [field]


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("consumer", f"/catalog/offers/{HUGE}", 404),
        ("catalog_manager", f"/catalog/manage/offers/{HUGE}", 404),
        ("consumer", f"/subscriptions/new?offer={HUGE}", 404),
        ("consumer", f"/status/subscriptions/{HUGE}", 404),
        ("admin", f"/admin/users/{HUGE}", 404),
        ("consumer", f"/catalog/?page={HUGE}", 200),
        ("catalog_manager", f"/catalog/manage/?group={HUGE}", 200),
        ("consumer", f"/subscriptions?group={HUGE}", 200),
        ("admin", f"/admin/users?group={HUGE}", 200),
        ("support_agent", f"/support/queue?tier={SUPERSCRIPT_TWO}", 200),
        ("support_agent", f"/support/backlog?product={SUPERSCRIPT_TWO}", 200),
        ("consumer", f"/support/knowledge?product={SUPERSCRIPT_TWO}", 200),
        ("consumer", f"/support/suggestions?subscription={SUPERSCRIPT_TWO}&q=x", 200),
        ("admin", "/admin/users?q=%01%25", 200),
        ("admin", "/admin/audit/?until=9999-12-31", 200),
        ("admin", "/admin/audit/export.csv?until=9999-12-31", 200),
    ],
)
def test_pages_answer_bad_numbers_without_failing(client_as, role, path, status):
    assert client_as(role).get(path).status_code == status


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("consumer", "/catalog/?page=2&endpoint=x&_external=1"),
        ("consumer", "/inbox?page=2&endpoint=x"),
        ("consumer", "/search?q=vpn&page=2&endpoint=x"),
        ("catalog_manager", "/catalog/manage/?page=2&endpoint=x"),
        ("support_agent", "/fulfillment?endpoint=x&_scheme=javascript"),
        ("consumer", "/subscriptions?endpoint=x"),
        ("admin", "/admin/audit/?endpoint=x"),
    ],
)
def test_url_for_options_in_the_query_string_are_ignored(client_as, make_offer, role, path):
    for index in range(25):  # enough for a second page of offers
        make_offer(f"OFF-{index:02d}", name=f"Offer {index}")
    response = client_as(role).get(path)
    assert response.status_code == 200
    assert "javascript:" not in response.get_data(as_text=True)


def test_pager_links_keep_filters_but_not_url_for_options(client_as, make_offer):
    for index in range(25):
        make_offer(f"OFF-{index:02d}", name=f"Offer {index}")
    page = client_as("catalog_manager").get("/catalog/manage/?status=published&endpoint=x")
    assert 'href="/catalog/manage/?status=published&amp;page=2"' in page.get_data(as_text=True)


def test_api_ids_in_bodies_are_field_errors(world, users, api):  # noqa: F811
    manager = api(token_for(users["catalog_manager"]))
    consumer = api(token_for(users["consumer"]))
    assert "parent_id" in problem(
        manager.post("/api/v1/categories", json={"name": "x", "parent_id": 2**63}), 422
    )
    audience = f"/api/v1/offers/{world['vpn'].id}/audience"
    assert "group_ids.0" in problem(manager.put(audience, json={"group_ids": [2**63]}), 422)
    ordered = consumer.post(
        "/api/v1/subscriptions",
        json={"offer_id": 2**63, "accept_terms": True},
        headers={"Idempotency-Key": "huge"},
    )
    assert "offer_id" in problem(ordered, 422)


@pytest.mark.parametrize("agreement", ["yes", "1", 1, "true", None])
def test_agreeing_to_terms_takes_json_true_only(world, users, api, agreement):  # noqa: F811
    before = db.session.scalar(sa.select(sa.func.count(Subscription.id)))
    response = api(token_for(users["consumer"])).post(
        "/api/v1/subscriptions",
        json={"offer_id": world["vpn"].id, "accept_terms": agreement},
        headers={"Idempotency-Key": f"terms-{agreement}"},
    )
    assert "accept_terms" in problem(response, 422)
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == before


def test_if_match_with_a_unicode_digit_is_refused(users, api, make_offer):
    offer = make_offer("VPN-ACCESS", publish=False)
    response = api(token_for(users["catalog_manager"])).patch(
        f"/api/v1/offers/{offer.id}", json={"name": "x"}, headers={"If-Match": '"²"'}
    )
    assert "If-Match" in problem(response, 409)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/offers", f'{{"code": "SUR", "name": {SURROGATE}}}', "name"),
        ("/api/v1/categories", f'{{"name": {SURROGATE}}}', "name"),
        (
            "/api/v1/offers",
            f'{{"code": "SUR", "options": [{{"label": {SURROGATE}}}]}}',
            "options[0].label",
        ),
        ("/api/v1/offers", f'{{"code": "SUR", {SURROGATE}: 1}}', "body"),
    ],
)
def test_text_no_database_can_store_is_a_field_error(users, api, catalog_setup, path, body, field):  # noqa: F811
    manager = api(token_for(users["catalog_manager"]))
    response = manager.post(path, data=body, content_type="application/json")
    assert field in problem(response, 422)
    assert db.session.scalar(sa.select(sa.func.count(ServiceOffer.id))) == 0


def test_a_surrogate_in_order_options_stores_nothing(world, users, api, client_as):  # noqa: F811
    before = db.session.scalar(sa.select(sa.func.count(Subscription.id)))
    body = json.dumps(
        {"offer_id": world["vpn"].id, "accept_terms": True, "options": {"note": "\ud800"}}
    )
    response = api(token_for(users["consumer"])).post(
        "/api/v1/subscriptions",
        data=body,
        content_type="application/json",
        headers={"Idempotency-Key": "surrogate"},
    )
    assert "options.note" in problem(response, 422)
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == before


def test_json_nested_too_deeply_is_a_422(users, api, catalog_setup):  # noqa: F811
    manager = api(token_for(users["catalog_manager"]))
    deep = "[" * 100_000 + "]" * 100_000
    assert "body" in problem(
        manager.post("/api/v1/offers", data=deep, content_type="application/json"), 422
    )
    assert "body" in problem(
        manager.post("/api/v1/usage", data=deep, content_type="application/json"), 422
    )


@pytest.mark.parametrize(
    ("yaml_text", "field", "message"),
    [
        ("offers:\n- {code: ABC, valid_from: 0000-01-01}\n", "file", "year 0 is out of range"),
        ("offers:\n- {code: ABC, valid_from: 2024-02-30}\n", "file", "day is out of range"),
        ("x: " + "[" * 3000 + "]" * 3000, "file", "Use fewer nested levels."),
        ('offers:\n- {code: ABC, name: "\\ud800"}\n', "offers[0].name", "surrogate"),
    ],
)
def test_catalog_files_that_cannot_be_read_are_field_errors(
    users,
    api,
    catalog_setup,
    yaml_text,
    field,
    message,  # noqa: F811
):
    response = api(token_for(users["catalog_manager"])).post(
        "/api/v1/catalog/import", data=yaml_text.encode(), content_type="application/yaml"
    )
    assert message in " ".join(problem(response, 422)[field])
    assert db.session.scalar(sa.select(sa.func.count(ServiceOffer.id))) == 0


def test_forms_with_ids_past_a_key_column(world, client_as):  # noqa: F811
    consumer = client_as("consumer")
    opened = consumer.post(
        "/support/new",
        data={
            "subscription_id": HUGE,
            "request_type": "question",
            "priority": "low",
            "subject": "x",
            "description": "y",
        },
    )
    assert opened.status_code == 422
    assert "Choose" in opened.get_data(as_text=True)
    modified = consumer.post(
        f"/subscriptions/{world['finance'].id}/modify",
        data={"target_offer_id": HUGE, "accept_terms": "y", "idempotency_key": "z"},
    )
    assert modified.status_code == 404
    assert consumer.post(f"/inbox/{HUGE}/read").status_code == 404
    assert consumer.post(f"/tokens/{HUGE}/revoke").status_code == 404
