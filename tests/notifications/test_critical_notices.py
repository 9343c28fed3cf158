"""A service notice marked critical reaches every subscriber in-app and by e-mail at once,
whatever they chose for service notices."""

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.notifications.models import DigestEntry, Notification, OutboxEmail
from app.notifications.services import preferences
from app.status import services as status
from app.status.models import ServiceNotice
from tests.catalog.conftest import catalog_setup, make_offer  # noqa: F401
from tests.status.test_services import NOW, world  # noqa: F401
from tests.support.conftest import agents  # noqa: F401


def told(user, subject: str) -> tuple[int, int, int]:
    """(inbox entries, e-mails, digest entries) with `subject` for `user`."""

    def count(model, *where):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    return (
        count(Notification, Notification.user_id == user.id, Notification.subject == subject),
        count(OutboxEmail, OutboxEmail.recipient == user.email, OutboxEmail.subject == subject),
        count(DigestEntry, DigestEntry.user_id == user.id, DigestEntry.subject == subject),
    )


def post(world, users, title: str, *, critical: bool):
    return status.post_notice(
        users["product_manager"],
        product_id=world["product"].id,
        kind="outage",
        title=title,
        message="",
        starts_at=NOW - timedelta(minutes=5),
        critical=critical,
    )


def test_a_critical_notice_ignores_none_and_digest(world, users):
    preferences.save_preferences(users["consumer"], {"service_notices": "none"})
    preferences.save_preferences(users["other_consumer"], {"service_notices": "digest"})
    notice = post(world, users, "Gateway down", critical=True)
    assert notice.critical is True
    for consumer in (users["consumer"], users["other_consumer"]):
        assert told(consumer, "Outage: Remote Access") == (1, 1, 0)
    status.update_notice(users["product_manager"], notice.id, message="Back", resolve=True)
    assert told(users["consumer"], "Resolved: Gateway down") == (1, 1, 0)


def test_an_ordinary_notice_follows_the_choice(world, users):
    preferences.save_preferences(users["consumer"], {"service_notices": "none"})
    preferences.save_preferences(users["other_consumer"], {"service_notices": "digest"})
    post(world, users, "Slow", critical=False)
    assert told(users["consumer"], "Outage: Remote Access") == (0, 0, 0)
    assert told(users["other_consumer"], "Outage: Remote Access") == (0, 0, 1)


def test_the_notice_form_and_api_mark_a_notice_critical(world, users, client_as, api):
    from tests.conftest import token_for

    client = client_as("product_manager")
    assert 'name="critical"' in client.get("/status/notices").data.decode()
    response = client.post(
        "/status/notices",
        data={
            "product_id": world["product"].id,
            "kind": "outage",
            "title": "From the form",
            "starts_at": "2026-11-20 11:00",
            "critical": "y",
        },
    )
    assert response.status_code == 302
    body = api(token_for(users["product_manager"])).post(
        "/api/v1/notices",
        json={
            "product_id": world["product"].id,
            "kind": "outage",
            "title": "From the API",
            "starts_at": "2026-11-20T11:00:00Z",
            "critical": "yes",
        },
    )
    assert body.status_code == 422 and body.json["errors"]["critical"] == ["Say true or false."]
    stored = db.session.scalars(
        sa.select(ServiceNotice.critical).where(ServiceNotice.title == "From the form")
    ).all()
    assert stored == [True]
