import socket
import threading

import sqlalchemy as sa

from app.accounts import services as accounts
from app.audit.models import AuditEvent
from app.extensions import db
from app.notifications import services as notifications
from app.notifications.models import OutboxEmail


def test_audit_page_filters_by_object_and_actor(client_as, users):
    accounts.save_group(users["admin"], name="Legal")
    client = client_as("admin")
    page = client.get("/admin/audit/?object_type=group&action=created").data.decode()
    assert "group #" in page and "created" in page
    assert "user #" not in page
    page = client.get(f"/admin/audit/?actor={users['admin'].email}").data.decode()
    assert "Legal" in page or "group #" in page


def test_audit_csv_export(client_as, users):
    accounts.save_group(users["admin"], name="Legal")
    response = client_as("admin").get("/admin/audit/export.csv?object_type=group")
    assert response.mimetype == "text/csv"
    lines = response.data.decode().strip().splitlines()
    assert lines[0] == "occurred_at,actor,object_type,object_id,action,summary"
    assert any(",group," in line and ",created," in line for line in lines[1:])


def test_audit_events_join_the_changes_transaction(users):
    """A failed change leaves neither the change nor its audit event behind."""
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    accounts.save_group(users["admin"], name="Temp")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before
    assert accounts.find_group_by_name("Temp") is None


def test_inbox_bell_count_and_mark_read(client_as, users):
    notifications.notify(
        [users["consumer"]], "Your VPN is ready", "Active now.", "/inbox", kind="order_updates"
    )
    db.session.commit()
    client = client_as("consumer")
    home = client.get("/").data.decode()
    assert 'data-testid="unread-count">1<' in home
    inbox = client.get("/inbox").data.decode()
    assert "Your VPN is ready" in inbox
    notification_id = db.session.scalars(notifications.inbox_query(users["consumer"])).first().id
    response = client.post(f"/inbox/{notification_id}/read", data={"follow": "1"})
    assert response.headers["Location"] == "/inbox"
    assert 'data-testid="unread-count"' not in client.get("/").data.decode()


def test_a_user_cannot_mark_anothers_notification(client_as, users):
    notifications.notify([users["consumer"]], "Private", "x", kind="order_updates")
    db.session.commit()
    notification_id = db.session.scalars(notifications.inbox_query(users["consumer"])).first().id
    assert client_as("other_consumer").post(f"/inbox/{notification_id}/read").status_code == 404


def test_mark_all_read(client_as, users):
    notifications.notify([users["consumer"]], "One", kind="order_updates")
    notifications.notify([users["consumer"]], "Two", kind="order_updates")
    db.session.commit()
    client_as("consumer").post("/inbox/read-all")
    assert notifications.unread_count(users["consumer"]) == 0


def test_outbox_stays_when_mail_is_not_configured(client_as, users):
    notifications.notify([users["consumer"]], "Hello", kind="order_updates")
    db.session.commit()
    assert notifications.send_outbox() == (0, 0)
    email = db.session.scalars(sa.select(OutboxEmail)).one()
    assert email.sent_at is None and email.recipient == users["consumer"].email
    page = client_as("admin").get("/admin/outbox").data.decode()
    assert "Hello" in page and "pending" in page


class SmtpSink:
    """A tiny SMTP server on loopback that keeps what it receives."""

    def __init__(self):
        self.messages: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        connection, _ = self.sock.accept()
        reader = connection.makefile("rb")
        connection.sendall(b"220 sink\r\n")
        data_mode, buffer = False, []
        for raw in reader:
            line = raw.decode()
            if data_mode:
                if line == ".\r\n":
                    self.messages.append("".join(buffer))
                    data_mode, buffer = False, []
                    connection.sendall(b"250 queued\r\n")
                else:
                    buffer.append(line)
                continue
            command = line[:4].upper()
            if command == "DATA":
                data_mode = True
                connection.sendall(b"354 go on\r\n")
            elif command == "QUIT":
                connection.sendall(b"221 bye\r\n")
                break
            else:
                connection.sendall(b"250 ok\r\n")
        connection.close()


def test_outbox_sends_over_smtp_when_configured(app, users):
    sink = SmtpSink()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port)
    try:
        notifications.notify(
            [users["consumer"]], "Subscription active", "Your VPN is active.", kind="order_updates"
        )
        db.session.commit()
        assert notifications.send_outbox() == (1, 0)
    finally:
        app.config.update(MAIL_SERVER="", MAIL_PORT=25)
    assert db.session.scalars(sa.select(OutboxEmail)).one().sent_at is not None
    assert "Subject: Subscription active" in sink.messages[0]
    assert users["consumer"].email in sink.messages[0]
