"""The inbox grouped by kind, and an admin reading one e-mail of the outbox."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.notifications import services as notifications
from app.notifications.models import OutboxEmail


def fill_inbox(user) -> None:
    for subject in ("Active: VPN", "Changed: VPN", "Ended: Wiki"):
        notifications.notify([user], subject, kind="order_updates")
    notifications.notify([user], "Reply on request 4", kind="support_replies")
    db.session.commit()


def section(page: str, kind: str) -> str:
    match = re.search(rf'<section[^>]*data-testid="kind-{kind}".*?</section>', page, re.S)
    assert match, f"no section for {kind}"
    return match.group(0)


def test_the_inbox_groups_notifications_by_kind_with_counts(client_as, users):
    fill_inbox(users["consumer"])
    page = client_as("consumer").get("/inbox").data.decode()
    orders = section(page, "order_updates")
    assert "Order updates" in orders and "3 unread of 3" in orders
    assert "Active: VPN" in orders and "Reply on request 4" not in orders
    replies = section(page, "support_replies")
    assert "1 unread of 1" in replies and "Reply on request 4" in replies
    assert 'data-testid="kind-release_announcements"' not in page  # no such notifications
    assert page.index("kind-order_updates") < page.index("kind-support_replies")


def test_mark_all_read_for_one_kind_leaves_the_others(client_as, users):
    fill_inbox(users["consumer"])
    client = client_as("consumer")
    response = client.post("/inbox/read-all", data={"kind": "order_updates"})
    assert response.status_code == 302
    assert notifications.unread_count(users["consumer"]) == 1
    page = client.get("/inbox").data.decode()
    assert "0 unread of 3" in section(page, "order_updates")
    assert "1 unread of 1" in section(page, "support_replies")


def test_mark_all_read_with_an_unknown_kind_marks_nothing(client_as, users):
    fill_inbox(users["consumer"])
    client_as("consumer").post("/inbox/read-all", data={"kind": "weather"})
    assert notifications.unread_count(users["consumer"]) == 4


def test_one_kind_has_its_own_list(client_as, users):
    fill_inbox(users["consumer"])
    page = client_as("consumer").get("/inbox?kind=support_replies").data.decode()
    assert "Reply on request 4" in page and "Active: VPN" not in page


def test_an_admin_opens_an_outbox_email_from_the_list(client_as, users):
    notifications.notify(
        [users["consumer"]],
        "Active: VPN",
        "Your VPN is ready.",
        "/subscriptions/9",
        kind="order_updates",
    )
    db.session.commit()
    email_id = db.session.scalars(sa.select(OutboxEmail.id)).one()
    admin = client_as("admin")
    listing = admin.get("/admin/outbox").data.decode()
    assert f'href="/admin/outbox/{email_id}"' in listing
    page = admin.get(f"/admin/outbox/{email_id}").data.decode()
    assert "<h1>Active: VPN</h1>" in page
    assert f'data-testid="recipient">{users["consumer"].email}<' in page
    assert 'data-testid="status">pending<' in page
    assert "Your VPN is ready.\n\nhttp://127.0.0.1:5000/subscriptions/9" in page


def test_only_an_admin_opens_an_outbox_email(client_as, users):
    notifications.notify([users["consumer"]], "Private", kind="order_updates")
    db.session.commit()
    email_id = db.session.scalars(sa.select(OutboxEmail.id)).one()
    assert client_as("consumer").get(f"/admin/outbox/{email_id}").status_code == 403
    assert client_as("admin").get(f"/admin/outbox/{email_id + 1}").status_code == 404


def test_the_outbox_is_read_by_admins_only_in_the_service_too(users):
    from app.errors import NotAllowed
    from app.notifications import services

    for actor in (None, users["consumer"], users["catalog_manager"]):
        with pytest.raises(NotAllowed) as refusal:
            services.outbox_query(actor)
        assert refusal.value.message == "Only an administrator reads the outbox."
        with pytest.raises(NotAllowed):
            services.get_email(actor, 1)
