import pytest

from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from tests.conftest import token_for


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
