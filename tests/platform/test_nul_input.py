"""NUL characters (which PostgreSQL refuses in text) in a path, a query parameter, a form field,
a header or a JSON field: a 400 or a field-level 422 naming where, with a clear message, on
every engine; never a 500 and never a stored record (issue 15, item 8)."""

import pytest
import sqlalchemy as sa

from app.catalog.models import Category, ServiceOffer
from app.extensions import db
from app.support.models import SupportRequest
from tests.conftest import token_for

NUL_SAYS = "holds a NUL character (\\0), which is not accepted."


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    return response.get_json()


@pytest.mark.parametrize(
    ("role", "path", "field"),
    [
        ("consumer", "/api/v1/kpis?offer=%00VPN", "offer"),
        ("catalog_manager", "/api/v1/kpis?offer=VPN%00&from=2030-01-01", "offer"),
        ("consumer", "/api/v1/offers?q=vpn%00", "q"),
        ("consumer", "/api/v1/knowledge?q=vpn%00&offer=%00", "q"),
        ("consumer", "/api/v1/subscriptions?status=%00", "status"),
        ("support_agent", "/api/v1/support-requests?status=open%00", "status"),
        ("consumer", "/api/v1/offers?%00=1", "\\0"),
        ("consumer", "/api/v1/categories/%00vpn", "path"),
    ],
)
def test_api_queries_and_paths_with_nul_are_a_400_problem(users, api, role, path, field):
    body = problem(api(token_for(users[role])).get(path), 400)
    assert body["title"] == "Bad request"
    assert NUL_SAYS in body["detail"]
    assert list(body["errors"]) == [field]


@pytest.mark.parametrize(
    ("role", "path", "says"),
    [
        ("consumer", "/search?q=%00%01vpn", "The query parameter “q”"),
        ("consumer", "/catalog/?q=vpn%00", "The query parameter “q”"),
        ("consumer", "/catalog/categories/access%00", "The address"),
        ("consumer", "/support/knowledge?offer=%00", "The query parameter “offer”"),
        ("consumer", "/support/offer-codes?q=%00", "The query parameter “q”"),
        ("support_agent", "/support/queue?offer=%00", "The query parameter “offer”"),
        ("admin", "/admin/users?q=%00%25", "The query parameter “q”"),
        ("admin", "/admin/audit/?actor=%00", "The query parameter “actor”"),
    ],
)
def test_pages_with_nul_in_the_query_or_path_are_a_clear_400(client_as, role, path, says):
    response = client_as(role).get(path)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert f"{says} {NUL_SAYS} Remove it and try again." in text.replace("&#34;", '"')


@pytest.mark.parametrize(
    ("role", "path", "data", "says"),
    [
        (
            "consumer",
            "/support/new",
            {"subscription_id": "1", "subject": "Null\x00 byte", "description": "x"},
            "The form field “subject”",
        ),
        ("consumer", "/support/deflect", {"q": "x\x00"}, "The form field “q”"),
        (
            "catalog_manager",
            "/catalog/manage/categories/new",
            {"name": "Access\x00", "slug": "access"},
            "The form field “name”",
        ),
        ("support_agent", "/support/knowledge/new", {"title": "T\x00"}, "The form field “title”"),
    ],
)
def test_forms_with_nul_are_a_clear_400_and_store_nothing(client_as, role, path, data, says):
    response = client_as(role).post(path, data=data)
    assert response.status_code == 400
    assert f"{says} {NUL_SAYS}" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Category.id))) == 0


def test_login_form_with_nul_is_a_clear_400(app):
    response = app.test_client().post(
        "/login", data={"email": "erik\x00@example.test", "password": "x"}
    )
    assert response.status_code == 400
    assert f"The form field “email” {NUL_SAYS}" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "path", "body", "field"),
    [
        (
            "consumer",
            "/api/v1/support-requests",
            {
                "subscription_id": 1,
                "request_type": "question",
                "priority": "low",
                "subject": "A\x00B",
                "description": "x",
            },
            "subject",
        ),
        ("catalog_manager", "/api/v1/categories", {"name": "Access\x00"}, "name"),
        ("catalog_manager", "/api/v1/offers", {"code": "NUL", "name": "VPN\x00"}, "name"),
        (
            "catalog_manager",
            "/api/v1/offers",
            {"code": "NUL", "options": [{"label": "\x00"}]},
            "options[0].label",
        ),
    ],
)
def test_json_fields_with_nul_are_a_422_field_error(users, api, role, path, body, field):
    response = api(token_for(users[role])).post(path, json=body)
    errors = problem(response, 422)["errors"]
    assert errors == {field: ["Remove the invalid character (a NUL or a lone UTF-16 surrogate)."]}
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Category.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(ServiceOffer.id))) == 0


def test_a_header_with_nul_is_a_400_problem(users, api):
    client = api(token_for(users["consumer"]))
    response = client.post(
        "/api/v1/subscriptions", json={}, headers={"Idempotency-Key": "key\x00one"}
    )
    body = problem(response, 400)
    assert body["errors"] == {
        "Idempotency-Key": [
            "Remove the NUL character (\\0): text with it cannot be stored or searched."
        ]
    }


@pytest.mark.parametrize(
    "path",
    ["/api/v1/kpis?offer=%00VPN", "/api/v1/offers?q=vpn%00", "/api/v1/subscriptions?status=%00"],
)
def test_without_a_token_the_api_answers_401_before_looking_at_nul(api, path):
    body = problem(api(None).get(path), 401)
    assert body["detail"] == "This endpoint needs 'Authorization: Bearer <token>'."


def test_with_a_revoked_or_unknown_token_nul_is_not_looked_at(api):
    body = problem(api("not-a-token").get("/api/v1/offers?q=%00"), 401)
    assert body["detail"] == "The API token is missing, unknown or revoked."


@pytest.mark.parametrize("path", ["/catalog/?q=vpn%00", "/catalog/categories/access%00"])
def test_a_signed_out_visitor_is_sent_to_sign_in_before_nul_is_looked_at(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
