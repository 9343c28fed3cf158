"""Admin → Integrations pages: list, create (the secret shown once), edit, delete with a
confirmation, webhooks and their delivery log; other roles are refused."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.integrations.models import Integration, Webhook
from app.integrations.services import secrets, webhooks

FORM = {
    "name": "Chat",
    "kind": "webhook",
    "url": "https://hooks.slack.example/services/T0",
    "secret": "",
    "timeout_seconds": "5",
    "max_attempts": "2",
    "format": "slack",
}


def test_admin_creates_an_integration_and_sees_its_secret_once(client_as):
    admin = client_as("admin")
    page = admin.post("/admin/integrations/new", data=FORM)
    assert page.status_code == 200
    stored = db.session.scalars(sa.select(Integration)).one()
    secret = secrets.decrypt(stored.secret_encrypted)
    assert secret in page.get_data(as_text=True) and "will not be shown again" in page.get_data(
        as_text=True
    )
    listing = admin.get("/admin/integrations/").get_data(as_text=True)
    edit = admin.get(f"/admin/integrations/{stored.id}").get_data(as_text=True)
    assert "Chat" in listing and secret not in listing and secret not in edit
    assert 'data-confirm="Delete integration Chat and its webhooks?"' in listing


def test_the_form_shows_field_errors(client_as):
    admin = client_as("admin")
    page = admin.post(
        "/admin/integrations/new", data={**FORM, "url": "https://me:pw@hooks.example/x"}
    )
    assert page.status_code == 200
    assert "Do not put credentials in the URL" in page.get_data(as_text=True)
    assert db.session.scalars(sa.select(Integration)).all() == []


def test_admin_edits_keeps_the_secret_when_left_empty_and_deletes(client_as):
    admin = client_as("admin")
    admin.post("/admin/integrations/new", data={**FORM, "secret": "kept-secret-1"})
    stored = db.session.scalars(sa.select(Integration)).one()
    response = admin.post(f"/admin/integrations/{stored.id}", data={**FORM, "max_attempts": "4"})
    assert response.status_code == 302
    stored = db.session.get(Integration, stored.id)
    assert stored.max_attempts == 4 and secrets.decrypt(stored.secret_encrypted) == "kept-secret-1"
    assert admin.post(f"/admin/integrations/{stored.id}/delete").status_code == 302
    assert db.session.scalars(sa.select(Integration)).all() == []


def test_webhook_pages_subscribe_list_deliveries_and_delete(client_as):
    admin = client_as("admin")
    admin.post("/admin/integrations/new", data={**FORM, "format": "json"})
    response = admin.post(
        "/admin/integrations/webhooks", data={"integration": "Chat", "events": ["sla.breached"]}
    )
    assert response.status_code == 302
    webhook = db.session.scalars(sa.select(Webhook)).one()
    assert webhook.events == ["sla.breached"]
    webhooks.publish("sla.breached", {"request": "REQ-1"})  # not committed: nothing is sent
    db.session.rollback()
    page = admin.get(f"/admin/integrations/webhooks/{webhook.id}/deliveries")
    assert page.status_code == 200 and "Nothing delivered yet." in page.get_data(as_text=True)
    refused = admin.post("/admin/integrations/webhooks", data={"integration": "Chat"})
    assert "Choose at least one event." in refused.get_data(as_text=True)
    assert admin.post(f"/admin/integrations/webhooks/{webhook.id}/delete").status_code == 302
    assert db.session.scalars(sa.select(Webhook)).all() == []


def test_the_delivery_log_shows_each_attempt(app, client_as, immediate, receiver, subscribed):
    receiver.script = [500]
    webhook = subscribed(receiver.url, events=["notice.published"], max_attempts=1)
    webhooks.publish("notice.published", {"title": "Maintenance"})
    db.session.commit()
    page = client_as("admin").get(f"/admin/integrations/webhooks/{webhook.id}/deliveries")
    text = page.get_data(as_text=True)
    assert "notice.published" in text and "failed" in text and "500" in text
    assert "Redeliver" in text


def test_other_roles_are_refused_and_the_link_is_for_admins(client_as, client):
    webhooks_page = "/admin/integrations/webhooks"
    for role in ("catalog_manager", "product_manager", "support_agent", "consumer"):
        other = client_as(role)
        for path in ("/admin/integrations/", "/admin/integrations/new", webhooks_page):
            assert other.get(path).status_code == 403
        assert other.post("/admin/integrations/new", data=FORM).status_code == 403
        assert 'href="/admin/integrations/"' not in other.get("/").get_data(as_text=True)
    assert client.get("/admin/integrations/").status_code == 302  # to the log-in page
    assert 'href="/admin/integrations/"' in client_as("admin").get("/").get_data(as_text=True)
    assert db.session.scalars(sa.select(Integration)).all() == []
