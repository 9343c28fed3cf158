"""The integrations API: CRUD, the write-only secret, field-level refusals, and the role ×
endpoint matrix (admin 2xx, every other role 403, no token 401)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.extensions import db
from app.integrations.models import Integration
from app.integrations.services import secrets
from tests.conftest import token_for

SECRET = "an-admin-chosen-secret-42"
BODY = {
    "name": "Provisioning",
    "kind": "webhook",
    "url": "https://hooks.example.com/offerdesk",
    "secret": SECRET,
    "timeout_seconds": 5,
    "max_attempts": 3,
    "format": "json",
}


@pytest.fixture
def admin(api, users):
    return api(token_for(users["admin"]))


def create(admin, **changes):
    response = admin.post("/api/v1/integrations", json={**BODY, **changes})
    assert response.status_code == 201, response.json
    return response.json


def test_create_read_update_delete(admin):
    created = create(admin)
    assert created["secret"] is None  # the admin gave it: not echoed
    assert {key: created[key] for key in BODY if key != "secret"} == {
        key: value for key, value in BODY.items() if key != "secret"
    }
    path = f"/api/v1/integrations/{created['id']}"
    assert admin.get(path).json["name"] == "Provisioning"
    assert [item["name"] for item in admin.get("/api/v1/integrations").json] == ["Provisioning"]

    changed = admin.patch(path, json={"timeout_seconds": 20, "format": "slack"})
    assert changed.status_code == 200, changed.json
    assert changed.json["timeout_seconds"] == 20 and changed.json["format"] == "slack"
    assert changed.json["url"] == BODY["url"]

    assert admin.delete(path).status_code == 204
    assert admin.get(path).status_code == 404
    assert db.session.scalars(sa.select(Integration)).all() == []


def test_a_generated_secret_is_shown_once_and_stored_encrypted(admin):
    body = {key: value for key, value in BODY.items() if key != "secret"}
    response = admin.post("/api/v1/integrations", json=body)
    generated = response.json["secret"]
    assert response.status_code == 201 and len(generated) >= 40
    stored = db.session.get(Integration, response.json["id"])
    assert generated not in stored.secret_encrypted
    assert secrets.decrypt(stored.secret_encrypted) == generated
    for answer in (
        admin.get(f"/api/v1/integrations/{stored.id}"),
        admin.get("/api/v1/integrations"),
    ):
        assert generated not in answer.get_data(as_text=True)
        assert "secret" not in answer.get_data(as_text=True)


def test_the_secret_is_never_in_an_api_answer_nor_the_audit_trail(admin):
    created = create(admin)
    path = f"/api/v1/integrations/{created['id']}"
    new_secret = "a-rotated-secret-99"
    answers = [
        admin.get(path),
        admin.get("/api/v1/integrations"),
        admin.patch(path, json={"secret": new_secret}),
        admin.post(
            "/api/v1/webhooks", json={"integration": "Provisioning", "events": ["sla.breached"]}
        ),
        admin.get("/api/v1/webhooks"),
        admin.get("/api/v1/openapi.json"),
    ]
    stored = db.session.get(Integration, created["id"])
    assert secrets.decrypt(stored.secret_encrypted) == new_secret
    for answer in answers:
        text = answer.get_data(as_text=True)
        assert SECRET not in text and new_secret not in text
        assert stored.secret_encrypted not in text and "secret_encrypted" not in text
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == "integration").order_by(AuditEvent.id)
    ).all()
    trail = json.dumps([[event.changes, event.summary] for event in events])
    assert SECRET not in trail and new_secret not in trail
    assert [event.action for event in events] == ["created", "updated"]
    assert events[0].changes["secret"] == {"before": None, "after": "set"}
    assert events[1].changes == {"secret": {"before": "set", "after": "changed"}}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "url", "http:// or https://"),
        ({"url": "javascript:alert(1)"}, "url", "http:// or https://"),
        ({"url": "https://user:pass@hooks.example.com/x"}, "url", "credentials"),
        ({"url": "https://hooks.example.com:99999/x"}, "url", "valid URL"),
        ({"url": "https://" + "a" * 2000 + ".example.com"}, "url", "2000 characters"),
        ({"kind": "ftp"}, "kind", "webhook or awx"),
        ({"format": "xml"}, "format", "json, slack or teams"),
        ({"kind": "awx", "format": "slack"}, "format", "AWX"),
        ({"name": ""}, "name", "Enter a name"),
        ({"name": "n" * 121}, "name", "120 characters"),
        ({"secret": "s" * 501}, "secret", "1 to 500"),
        ({"timeout_seconds": 0}, "timeout_seconds", "1 to 60"),
        ({"timeout_seconds": 61}, "timeout_seconds", "1 to 60"),
        ({"max_attempts": 11}, "max_attempts", "1 to 10"),
        ({"max_attempts": "3"}, "max_attempts", "integer"),
        ({"colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_bad_input_is_refused_field_by_field(admin, changes, field, message):
    response = admin.post("/api/v1/integrations", json={**BODY, **changes})
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert message in " ".join(response.json["errors"][field])
    assert db.session.scalars(sa.select(Integration)).all() == []


def test_a_name_is_unique(admin):
    create(admin)
    response = admin.post("/api/v1/integrations", json={**BODY, "url": "https://b.example.com"})
    assert response.status_code == 422
    assert response.json["errors"]["name"] == ["Another integration already has this name."]


def test_hosts_outside_the_allow_list_are_refused(app, admin):
    app.config["INTEGRATION_ALLOWED_HOSTS"] = "hooks.example.com, .corp.example"
    try:
        allowed = create(admin)
        create(admin, name="Sub", url="https://ci.corp.example/hook")
        refused = admin.post(
            "/api/v1/integrations", json={**BODY, "name": "In", "url": "http://169.254.169.254/"}
        )
        patched = admin.patch(
            f"/api/v1/integrations/{allowed['id']}", json={"url": "http://10.0.0.1/"}
        )
    finally:
        app.config["INTEGRATION_ALLOWED_HOSTS"] = ""
    assert refused.status_code == 422 and patched.status_code == 422
    assert refused.json["errors"]["url"] == [
        "The host 169.254.169.254 is not in INTEGRATION_ALLOWED_HOSTS."
    ]
    assert patched.json["errors"]["url"] == [
        "The host 10.0.0.1 is not in INTEGRATION_ALLOWED_HOSTS."
    ]
    assert db.session.get(Integration, allowed["id"]).url == BODY["url"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"integration": "Nope", "events": ["offer.published"]}, "integration", "existing"),
        ({"integration": "Provisioning", "events": ["offer.exploded"]}, "events", "Unknown event"),
        ({"integration": "Provisioning", "events": []}, "events", "at least one"),
        ({"integration": "Provisioning", "events": ["e" * 61]}, "events.0", "Longer than"),
        ({"integration": "Provisioning"}, "events", "required"),
    ],
)
def test_bad_webhooks_are_refused_field_by_field(admin, body, field, message):
    create(admin)
    response = admin.post("/api/v1/webhooks", json=body)
    assert response.status_code == 422, response.json
    assert message in " ".join(response.json["errors"][field])


def test_an_awx_integration_does_not_take_events(admin):
    create(admin, kind="awx", name="Tower")
    response = admin.post(
        "/api/v1/webhooks", json={"integration": "Tower", "events": ["sla.breached"]}
    )
    assert response.json["errors"]["integration"] == ["Only a webhook integration receives events."]


def test_webhooks_subscribe_list_deliveries_delete(admin):
    create(admin)
    response = admin.post(
        "/api/v1/webhooks",
        json={"integration": "Provisioning", "events": ["sla.breached", "offer.published"]},
    )
    assert response.status_code == 201, response.json
    webhook = response.json
    assert webhook["events"] == ["offer.published", "sla.breached"]
    assert webhook["integration"]["name"] == "Provisioning"
    assert [item["id"] for item in admin.get("/api/v1/webhooks").json] == [webhook["id"]]
    assert admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries").json == []
    missing = admin.post(f"/api/v1/webhooks/{webhook['id']}/deliveries/999/redeliver")
    assert missing.status_code == 404
    assert admin.delete(f"/api/v1/webhooks/{webhook['id']}").status_code == 204
    assert admin.get("/api/v1/webhooks").json == []


ROUTES = [
    ("post", "/api/v1/integrations", 201),
    ("get", "/api/v1/integrations", 200),
    ("get", "/api/v1/integrations/{integration}", 200),
    ("patch", "/api/v1/integrations/{integration}", 200),
    ("post", "/api/v1/webhooks", 201),
    ("get", "/api/v1/webhooks", 200),
    ("get", "/api/v1/webhooks/{webhook}/deliveries", 200),
    ("post", "/api/v1/webhooks/{webhook}/deliveries/{delivery}/redeliver", 202),
    ("delete", "/api/v1/webhooks/{webhook}", 204),
    ("delete", "/api/v1/integrations/{integration}", 204),
]
ROLES = [
    ("admin", None),
    ("catalog_manager", 403),
    ("product_manager", 403),
    ("support_agent", 403),
    ("consumer", 403),
    ("", 401),
]


@pytest.fixture
def world(admin, app):
    """An integration, a webhook on it and a failed delivery, for every route to act on."""
    from app.integrations.models import DeliveryStatus, WebhookDelivery

    integration = create(admin)
    webhook = admin.post(
        "/api/v1/webhooks", json={"integration": "Provisioning", "events": ["sla.breached"]}
    ).json
    delivery = WebhookDelivery(
        webhook_id=webhook["id"], event="sla.breached", payload={}, status=DeliveryStatus.PENDING
    )
    db.session.add(delivery)
    db.session.flush()
    delivery.status = DeliveryStatus.FAILED
    db.session.commit()
    return {"integration": integration["id"], "webhook": webhook["id"], "delivery": delivery.id}


@pytest.mark.parametrize(("role", "expected"), ROLES)
def test_role_by_endpoint(api, users, world, role, expected):
    client = api(token_for(users[role]) if role else None)
    bodies = {
        ("post", "/api/v1/integrations"): {**BODY, "name": "Second"},
        ("patch", "/api/v1/integrations/{integration}"): {"max_attempts": 4},
        ("post", "/api/v1/webhooks"): {"integration": "Provisioning", "events": ["offer.retired"]},
    }
    from app import jobs

    jobs.huey.immediate = True  # a redelivery by the admin is sent (nowhere) at once
    try:
        for method, rule, admin_status in ROUTES:
            path = rule.format(**world)
            # a non-admin is refused before its body is read: send it an invalid one
            body = bodies.get((method, rule)) if role == "admin" else {"name": ""}
            response = getattr(client, method)(path, json=body)
            assert response.status_code == (expected or admin_status), (method, path, response.json)
    finally:
        jobs.huey.storage.flush_all()
        jobs.huey.immediate = False
