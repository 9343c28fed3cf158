"""Notification preferences: each user's channel per kind, the admins' defaults, the page, the
API, and the link to the preferences in every e-mail."""

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.extensions import db
from app.notifications import services as notifications
from app.notifications.models import DigestEntry, Notification, OutboxEmail
from app.notifications.services import preferences


def delivered(user) -> dict:
    """What reached `user`: inbox subjects, e-mail subjects, digest subjects."""

    def subjects(model, column):
        return db.session.scalars(sa.select(model.subject).where(column).order_by(model.id)).all()

    return {
        "inbox": subjects(Notification, Notification.user_id == user.id),
        "email": subjects(OutboxEmail, OutboxEmail.recipient == user.email),
        "digest": subjects(DigestEntry, DigestEntry.user_id == user.id),
    }


def test_each_channel_delivers_what_it_says(make_user):
    people = {channel: make_user() for channel in preferences.CHANNELS}
    for channel, user in people.items():
        preferences.save_preferences(user, {"support_replies": channel})
    notifications.notify(
        people.values(), "Reply on request 3", "Try again.", kind="support_replies"
    )

    message = ["Reply on request 3"]
    assert delivered(people["in_app"]) == {"inbox": message, "email": [], "digest": []}
    assert delivered(people["email"]) == {"inbox": [], "email": message, "digest": []}
    assert delivered(people["both"]) == {"inbox": message, "email": message, "digest": []}
    assert delivered(people["digest"]) == {"inbox": [], "email": [], "digest": message}
    assert delivered(people["none"]) == {"inbox": [], "email": [], "digest": []}


def test_a_choice_is_per_kind(make_user):
    user = make_user()
    preferences.save_preferences(user, {"release_announcements": "none"})
    notifications.notify([user], "New offer: Laptop", kind="release_announcements")
    notifications.notify([user], "Active: VPN", kind="order_updates")
    assert delivered(user) == {"inbox": ["Active: VPN"], "email": ["Active: VPN"], "digest": []}


def test_the_admins_default_applies_until_a_user_chooses(users, make_user):
    chooser, other = make_user(), make_user()
    preferences.save_preferences(chooser, {"release_announcements": "both"})
    preferences.save_defaults(users["admin"], {"release_announcements": "in_app"})
    notifications.notify([chooser, other], "New offer: Laptop", kind="release_announcements")
    assert delivered(other) == {"inbox": ["New offer: Laptop"], "email": [], "digest": []}
    assert delivered(chooser)["email"] == ["New offer: Laptop"]
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == "notification_defaults")
    ).one()
    assert event.summary == "release_announcements: both → in_app"


def test_every_email_links_to_the_preferences_with_an_absolute_address(make_user):
    user = make_user()
    notifications.notify([user], "Active: VPN", "Ready.", "/subscriptions/4", kind="order_updates")
    body = db.session.scalars(sa.select(OutboxEmail.body)).one()
    assert body == (
        "Ready.\n\nhttp://127.0.0.1:5000/subscriptions/4\n\n-- \n"
        "Choose which notifications you get, and how: http://127.0.0.1:5000/account/notifications"
    )


# --- the pages ------------------------------------------------------------------------------


def test_the_account_page_links_to_the_preferences(client_as):
    page = client_as("consumer").get("/account").data.decode()
    assert 'href="/account/notifications"' in page


def test_a_user_chooses_on_the_preferences_page(client_as, users):
    client = client_as("consumer")
    page = client.get("/account/notifications").data.decode()
    assert "Support requests and replies" in page and "One e-mail a day (digest)" in page
    form = dict.fromkeys(preferences.KINDS, "both") | {"service_notices": "digest"}
    response = client.post("/account/notifications", data=form)
    assert response.status_code == 302
    chosen = preferences.preferences_of(users["consumer"])["service_notices"]
    assert chosen == {"channel": "digest", "own": True}
    page = client.get("/account/notifications").data.decode()
    assert (
        '<input checked id="service_notices-3" name="service_notices" type="radio" value="digest">'
        in page
    )


def test_a_bad_channel_is_named_next_to_its_kind(client_as, users):
    form = dict.fromkeys(preferences.KINDS, "both") | {"approvals": "pigeon"}
    response = client_as("consumer").post("/account/notifications", data=form)
    assert response.status_code == 422
    page = response.data.decode()
    assert 'id="approvals-error-1"' in page
    assert "Choose one of: in_app, email, both, digest, none." in page
    assert preferences.preferences_of(users["consumer"])["order_updates"]["own"] is False


def test_only_an_admin_sets_the_defaults(client_as):
    form = dict.fromkeys(preferences.KINDS, "in_app")
    assert client_as("consumer").post("/admin/notifications", data=form).status_code == 403
    assert client_as("consumer").get("/admin/notifications").status_code == 403
    admin = client_as("admin")
    assert "Default notification channels" in admin.get("/admin/notifications").data.decode()
    assert admin.post("/admin/notifications", data=form).status_code == 302
    assert preferences.defaults() == dict.fromkeys(preferences.KINDS, "in_app")


def test_the_preferences_form_carries_a_csrf_token(app, client_as):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = client_as("consumer")
        assert 'name="csrf_token"' in client.get("/account/notifications").data.decode()
        form = dict.fromkeys(preferences.KINDS, "none")
        assert client.post("/account/notifications", data=form).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# --- the API --------------------------------------------------------------------------------


def test_the_api_reads_and_changes_my_preferences(api, users):
    from tests.conftest import token_for

    client = api(token_for(users["consumer"]))
    assert client.get("/api/v1/me/notification-preferences").json == {
        "order_updates": "both",
        "approvals": "both",
        "support_replies": "both",
        "service_notices": "both",
        "release_announcements": "both",
    }
    response = client.put(
        "/api/v1/me/notification-preferences", json={"release_announcements": "digest"}
    )
    assert response.status_code == 200
    assert response.json["release_announcements"] == "digest"
    assert response.json["order_updates"] == "both"


def test_the_api_refuses_bad_preferences_with_a_problem(api, users):
    from tests.conftest import token_for

    client = api(token_for(users["consumer"]))
    response = client.put(
        "/api/v1/me/notification-preferences", json={"approvals": "pigeon", "weather": "both"}
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert set(response.json["errors"]) == {"approvals", "weather"}
    assert api(None).get("/api/v1/me/notification-preferences").status_code == 401
    anonymous = api(None).put("/api/v1/me/notification-preferences", json={"approvals": "x"})
    assert anonymous.status_code == 401 and "errors" not in anonymous.json


def test_the_openapi_document_describes_the_preferences(client):
    spec = client.get("/api/v1/openapi.json").json
    operations = spec["paths"]["/me/notification-preferences"]
    assert set(operations) == {"get", "put"}
    schema = spec["components"]["schemas"]["NotificationPreferences"]
    assert schema["properties"]["service_notices"]["enum"] == [
        "in_app",
        "email",
        "both",
        "digest",
        "none",
    ]
