from datetime import UTC, datetime

import pytest

from app import clock
from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.extensions import db
from tests.conftest import token_for
from tests.jobs.conftest import immediate  # noqa: F401 - the fixture


def test_me_with_valid_token(api, users):
    response = api(token_for(users["consumer"])).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json["email"] == users["consumer"].email
    assert response.json["roles"] == ["consumer"]
    assert response.json["groups"][0]["name"] == "Finance"


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer odk_unknown", "Basic abc", "Token x"])
def test_me_without_a_good_token_is_401_problem(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401 and response.json["title"] == "Unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_me_with_revoked_token_is_401(api, users):
    token, plaintext = accounts.create_token(SYSTEM, users["consumer"].id, "feed")
    accounts.revoke_token(users["consumer"], token.id)
    response = api(plaintext).get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_deactivated_user_token_is_401(api, users):
    plaintext = token_for(users["consumer"])
    accounts.set_user_active(users["admin"], users["consumer"].id, False)
    assert api(plaintext).get("/api/v1/me").status_code == 401


def test_unknown_api_path_is_problem_json(api, users):
    response = api(token_for(users["consumer"])).get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_wrong_method_is_problem_json(api, users):
    response = api(token_for(users["consumer"])).post("/api/v1/me", json={})
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"


def test_openapi_document_is_valid_openapi_3(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.")
    assert "/me" in document["paths"]
    me = document["paths"]["/me"]["get"]
    assert me["security"] == [{"bearer": []}]
    assert (
        me["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        == "#/components/schemas/Me"
    )
    from openapi_spec_validator import validate

    validate(document)


def test_api_docs_page_lists_endpoints(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"/api/v1/me" in response.data


# The job runs in its own transaction, as in a worker: not inside the request's SAVEPOINT.
@pytest.mark.committed
def test_a_tokens_last_use_is_recorded_by_a_job_at_most_once_a_minute(users, api, immediate):
    token, plaintext = accounts.create_token(SYSTEM, users["consumer"].id, "feed")
    clock.freeze(datetime(2030, 5, 1, 9, 0, tzinfo=UTC))
    assert api(plaintext).get("/api/v1/me").status_code == 200
    db.session.refresh(token)
    assert token.last_used_at == datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
    clock.freeze(datetime(2030, 5, 1, 9, 0, 50, tzinfo=UTC))
    assert api(plaintext).get("/api/v1/me").status_code == 200
    db.session.refresh(token)
    assert token.last_used_at == datetime(2030, 5, 1, 9, 0, tzinfo=UTC)  # within the minute
    clock.freeze(datetime(2030, 5, 1, 9, 2, tzinfo=UTC))
    assert api(plaintext).get("/api/v1/me").status_code == 200
    db.session.refresh(token)
    assert token.last_used_at == datetime(2030, 5, 1, 9, 2, tzinfo=UTC)
    # A late job for an earlier use never moves the recorded last use back.
    accounts.record_token_use(token.id, datetime(2030, 5, 1, 9, 1, tzinfo=UTC))
    db.session.refresh(token)
    assert token.last_used_at == datetime(2030, 5, 1, 9, 2, tzinfo=UTC)
