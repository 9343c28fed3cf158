"""Attachments in shared object storage: what one app host stores, another serves, through the
permission-checked download route. Two app instances (two create_app, each with its own
UPLOAD_DIR) share the database and an S3-compatible server (moto's, over HTTP), as two hosts
behind a load balancer would; their local folders stay empty, so only the bucket can carry a file
from one to the other. Plus what happens when the store fails, or loses an object."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock, create_app, storage
from app.accounts.models import SYSTEM
from app.extensions import db
from app.support import services as support
from app.support.models import Attachment, RequestMessage, SupportRequest
from tests.conftest import login, settings_for_tests
from tests.jobs.conftest import free_port
from tests.s3 import s3_server  # noqa: F401
from tests.support.test_routes import attachments_refused_by_the_database  # noqa: F401

pytestmark = pytest.mark.committed  # two app instances, each on connections of its own

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LOG = b"12:00 tunnel up\n12:10 tunnel down\n"
UNMOVED_TEXT = 'value="Tunnel drops"'


@pytest.fixture
def prefix():
    return f"shared-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def host(tmp_path, s3_server, prefix):
    """host("a") → an app instance storing attachments under the test's prefix of the bucket."""

    def make(name: str, **extra):
        folder = tmp_path / f"uploads-{name}"
        folder.mkdir()
        settings = {"UPLOAD_DIR": str(folder), **s3_server.settings(prefix), **extra}
        application = create_app(settings_for_tests(**settings))
        application.folder = folder
        return application

    return make


def open_with_files(client, subscription, files):
    return client.post(
        "/support/new",
        content_type="multipart/form-data",
        data={
            "subscription_id": str(subscription.id),
            "request_type": "issue",
            "priority": "high",
            "subject": "Tunnel drops",
            "description": "Every 10 minutes.",
            "action": "send",
            "attachments": [(io.BytesIO(data), name) for name, data in files],
        },
    )


def stored() -> list[Attachment]:
    db.session.commit()  # a fresh snapshot: the rows the app instances committed
    return list(db.session.scalars(sa.select(Attachment).order_by(Attachment.id)))


def counts() -> tuple[int, int, int]:
    db.session.commit()
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (SupportRequest, RequestMessage, Attachment)
    )


def test_an_attachment_uploaded_through_one_host_is_downloaded_through_another(
    host, s3_server, prefix, active_subscription, users, agents
):
    host_a, host_b = host("a"), host("b")
    response = open_with_files(
        login(host_a.test_client(), users["consumer"]),
        active_subscription,
        [("screen.png", PNG), ("tunnel.log", LOG)],
    )
    assert response.status_code == 302
    files = stored()
    assert [(f.filename, f.content_type, f.size) for f in files] == [
        ("screen.png", "image/png", len(PNG)),
        ("tunnel.log", "text/plain", len(LOG)),
    ]
    assert s3_server.names(prefix) == sorted(f"{prefix}/{f.stored_name}" for f in files)
    assert list(host_a.folder.iterdir()) == [] and list(host_b.folder.iterdir()) == []

    consumer_on_b = login(host_b.test_client(), users["consumer"])
    download = consumer_on_b.get(f"/support/attachments/{files[0].id}")
    assert download.status_code == 200
    assert download.data == PNG
    assert download.mimetype == "image/png"
    assert download.headers["Content-Disposition"] == "attachment; filename=screen.png"
    assert download.headers["Cache-Control"] == "private, no-store"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    agent_on_b = login(host_b.test_client(), agents[2])
    assert agent_on_b.get(f"/support/attachments/{files[1].id}").data == LOG

    stranger_on_b = login(host_b.test_client(), users["other_consumer"])
    refused = stranger_on_b.get(f"/support/attachments/{files[0].id}")
    assert refused.status_code == 404 and PNG not in refused.data


def test_an_object_missing_from_the_bucket_is_a_404_not_a_500(
    host, s3_server, prefix, active_subscription, users
):
    host_a = host("a")
    consumer = login(host_a.test_client(), users["consumer"])
    assert open_with_files(consumer, active_subscription, [("screen.png", PNG)]).status_code == 302
    [attachment] = stored()
    s3_server.client().delete_object(
        Bucket="offerdesk-attachments", Key=f"{prefix}/{attachment.stored_name}"
    )
    response = login(host("b").test_client(), users["consumer"]).get(
        f"/support/attachments/{attachment.id}"
    )
    assert response.status_code == 404
    assert "The file is missing." in response.get_data(as_text=True)


def test_a_file_missing_from_the_local_folder_is_a_404_not_a_500(
    app, active_subscription, users, client_as
):
    assert (
        open_with_files(client_as("consumer"), active_subscription, [("a.log", LOG)]).status_code
        == 302
    )
    [attachment] = stored()
    with app.app_context():
        storage.current().delete(attachment.stored_name)
    response = client_as("consumer").get(f"/support/attachments/{attachment.id}")
    assert response.status_code == 404
    assert "The file is missing." in response.get_data(as_text=True)


@pytest.fixture(params=["missing bucket", "unreachable store", "folder is a file"])
def failing_host(request, host, tmp_path, s3_server):
    if request.param == "missing bucket":
        return host("broken", **s3_server.settings(bucket="no-such-bucket"))
    if request.param == "unreachable store":
        closed = f"http://127.0.0.1:{free_port()}"
        return host("broken", STORAGE_ENDPOINT_URL=closed, STORAGE_TIMEOUT=1)
    (tmp_path / "a-file").write_text("not a folder")
    return host("broken", STORAGE_URL="", UPLOAD_DIR=str(tmp_path / "a-file"))


def test_a_store_that_fails_on_upload_refuses_the_request_clearly_and_saves_nothing(
    failing_host, active_subscription, users
):
    client = login(failing_host.test_client(), users["consumer"])
    response = open_with_files(client, active_subscription, [("screen.png", PNG)])
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "The attachments could not be stored just now, so nothing was saved" in html
    assert "The files could not be stored; attach them again." in html  # next to the field
    assert UNMOVED_TEXT in html and "Every 10 minutes." in html
    assert counts() == (0, 0, 0)


def test_a_reply_whose_attachment_cannot_be_stored_is_not_added(
    host, s3_server, active_subscription, users
):
    request = support.open_request(
        users["consumer"],
        active_subscription.id,
        request_type="issue",
        priority="high",
        subject="Tunnel drops",
        description="Every 10 minutes.",
    )
    db.session.commit()
    broken = host("broken", **s3_server.settings(bucket="no-such-bucket"))
    response = login(broken.test_client(), users["consumer"]).post(
        f"/support/requests/{request.id}/reply",
        content_type="multipart/form-data",
        data={
            "reply-body": "Here is the log",
            "reply-kind": "reply",
            "reply-attachments": [(io.BytesIO(LOG), "tunnel.log")],
        },
    )
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "could not be stored just now" in html and "Here is the log" in html
    assert counts() == (1, 0, 0)  # the request as it was opened, no reply, no attachment


def test_objects_stored_before_a_failed_commit_are_deleted_from_the_bucket(
    host, s3_server, prefix, active_subscription, users, attachments_refused_by_the_database
):
    client = login(host("a").test_client(), users["consumer"])
    response = open_with_files(client, active_subscription, [("screen.png", PNG), ("a.log", LOG)])
    assert response.status_code == 500
    assert s3_server.names(prefix) == []
    assert counts()[2] == 0


def test_a_request_whose_commit_fails_is_not_kept(
    host, active_subscription, users, attachments_refused_by_the_database
):
    client = login(host("a").test_client(), users["consumer"])
    response = open_with_files(client, active_subscription, [("a.log", LOG)])
    assert response.status_code == 500
    assert counts() == (0, 0, 0)


def test_a_store_that_does_not_answer_on_download_is_a_503_page(host, active_subscription, users):
    host_a = host("a")
    consumer = login(host_a.test_client(), users["consumer"])
    assert open_with_files(consumer, active_subscription, [("a.log", LOG)]).status_code == 302
    [attachment] = stored()
    closed = host("b", STORAGE_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}", STORAGE_TIMEOUT=1)
    response = login(closed.test_client(), users["consumer"]).get(
        f"/support/attachments/{attachment.id}"
    )
    assert response.status_code == 503
    assert "The file could not be fetched just now." in response.get_data(as_text=True)


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_objects_no_attachment_names_are_collected_once_a_day_old(
    backend, host, active_subscription, users
):
    shared = host("a", **({"STORAGE_URL": ""} if backend == "local" else {}))
    consumer = login(shared.test_client(), users["consumer"])
    assert open_with_files(consumer, active_subscription, [("a.log", LOG)]).status_code == 302
    [attachment] = stored()
    with shared.app_context():
        store = storage.current()
        orphans = [storage.new_key(), storage.new_key()]
        for key in orphans:
            store.put(key, b"left by a killed process", "text/plain")
        assert support.collect_orphaned_files(SYSTEM) == 0  # too young: maybe still committing
        assert all(store.exists(key) for key in orphans)
        clock.freeze(clock.now() + timedelta(days=1, minutes=1))
        assert support.collect_orphaned_files(SYSTEM) == 2
        assert [store.exists(key) for key in orphans] == [False, False]
        assert store.read(attachment.stored_name) == LOG
        assert support.collect_orphaned_files(SYSTEM) == 0


def test_an_uploaded_file_name_never_names_the_object(
    host, s3_server, prefix, active_subscription, users
):
    client = login(host("a").test_client(), users["consumer"])
    hostile = "../../other-prefix/..\\evil name.log"
    assert open_with_files(client, active_subscription, [(hostile, LOG)]).status_code == 302
    [attachment] = stored()
    assert attachment.filename.endswith("evil name.log") and "/" not in attachment.filename
    assert len(attachment.stored_name) == 32 and set(attachment.stored_name) <= set(
        "0123456789abcdef"
    )
    assert s3_server.names(prefix) == [f"{prefix}/{attachment.stored_name}"]
