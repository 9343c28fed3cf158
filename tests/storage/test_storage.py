"""The file store's interface (app/storage.py), one suite run against both backends: a local
folder and S3-compatible object storage (moto's server, reached over HTTP through boto3)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app import create_app, storage
from tests.conftest import settings_for_tests
from tests.s3 import BUCKET, s3_server  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return storage.LocalFolder(tmp_path / "uploads")
    server = request.getfixturevalue("s3_server")
    return storage.S3Bucket(server.client(), BUCKET, f"suite-{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["local", "s3"])
def broken_store(request, tmp_path):
    """A store that cannot take anything: a folder that is a file, a bucket that does not exist."""
    if request.param == "local":
        (tmp_path / "not-a-folder").write_text("a file")
        return storage.LocalFolder(tmp_path / "not-a-folder")
    server = request.getfixturevalue("s3_server")
    return storage.S3Bucket(server.client(), "no-such-bucket", "x")


def test_what_is_put_is_read_back_whole_and_exists(store):
    key = storage.new_key()
    assert store.exists(key) is False
    store.put(key, PNG, "image/png")
    assert store.exists(key) is True
    assert store.read(key) == PNG
    with store.open(key) as stream:
        assert stream.read(8) == PNG[:8]
        assert stream.read() == PNG[8:]


def test_a_stream_is_put_in_pieces_and_read_back_whole(store):
    """Nine megabytes: past boto3's multipart threshold (8 MB), so S3 gets a multipart upload."""
    data = bytes(range(256)) * (9 * 4096)
    key = storage.new_key()
    store.put(key, io.BytesIO(data), "application/pdf")
    assert store.read(key) == data


def test_putting_a_key_again_replaces_its_object(store):
    key = storage.new_key()
    store.put(key, b"first", "text/plain")
    store.put(key, b"second", "text/plain")
    assert store.read(key) == b"second"


def test_a_deleted_object_is_gone_and_deleting_it_again_is_no_error(store):
    key, kept = storage.new_key(), storage.new_key()
    store.put(key, b"line 1\n", "text/plain")
    store.put(kept, b"kept\n", "text/plain")
    store.delete(key)
    store.delete(key)
    assert store.exists(key) is False
    assert store.read(kept) == b"kept\n"


def test_a_missing_object_is_object_missing_not_another_error(store):
    key = storage.new_key()
    with pytest.raises(storage.ObjectMissing):
        store.open(key)
    with pytest.raises(storage.ObjectMissing):
        store.read(key)


@pytest.mark.parametrize(
    "key", ["../escape", "a/b", "", ".hidden", "x" * 129, "nul\x00", "name.png", "C:\\x", " a"]
)
def test_keys_that_could_name_another_place_are_refused_before_the_store_is_asked(store, key):
    for call in (
        lambda: store.put(key, b"x", "text/plain"),
        lambda: store.open(key),
        lambda: store.delete(key),
        lambda: store.exists(key),
    ):
        with pytest.raises(ValueError, match="Not a storage key"):
            call()


def test_keys_older_than_a_moment_are_listed_and_younger_ones_are_not(store):
    keys = sorted(storage.new_key() for _ in range(3))
    for key in keys:
        store.put(key, b"x", "text/plain")
    now = datetime.now(UTC)
    assert sorted(store.keys_older_than(now + timedelta(minutes=1))) == keys
    assert list(store.keys_older_than(now - timedelta(hours=1))) == []


def test_an_empty_store_lists_no_keys(store):
    assert list(store.keys_older_than(datetime.now(UTC) + timedelta(days=1))) == []


def test_the_local_folder_lists_only_keys_not_other_files(tmp_path):
    store = storage.LocalFolder(tmp_path)
    key = storage.new_key()
    store.put(key, b"x", "text/plain")
    (tmp_path / ".upload-half-written").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("someone else's")
    (tmp_path / "folder").mkdir()
    assert list(store.keys_older_than(datetime.now(UTC) + timedelta(minutes=1))) == [key]


def test_new_keys_are_random_and_valid():
    keys = {storage.new_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(storage.checked_key(key) == key and len(key) == 32 for key in keys)


def test_a_store_that_cannot_write_says_so_with_a_storage_error(broken_store):
    key = storage.new_key()
    with pytest.raises(storage.StorageError) as error:
        broken_store.put(key, PNG, "image/png")
    assert not isinstance(error.value, storage.ObjectMissing)
    assert key in str(error.value)


def test_a_store_that_does_not_answer_is_a_storage_error_within_the_timeout(tmp_path):
    from tests.jobs.conftest import free_port

    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = storage.S3Bucket(storage.s3_client(closed, timeout=1), BUCKET, "x")
    with pytest.raises(storage.StorageError):
        store.put(storage.new_key(), b"x", "text/plain")
    with pytest.raises(storage.StorageError):
        store.exists(storage.new_key())


def test_s3_keeps_the_content_type_and_names_objects_under_the_prefix(s3_server):
    prefix = f"suite-{uuid.uuid4().hex[:12]}"
    store = storage.S3Bucket(s3_server.client(), BUCKET, f"/{prefix}/")
    key = storage.new_key()
    store.put(key, PNG, "image/png")
    assert s3_server.names(prefix) == [f"{prefix}/{key}"]
    head = s3_server.client().head_object(Bucket=BUCKET, Key=f"{prefix}/{key}")
    assert head["ContentType"] == "image/png" and head["ContentLength"] == len(PNG)


def test_the_local_folder_writes_whole_files_named_by_their_key(tmp_path):
    store = storage.LocalFolder(tmp_path / "uploads")
    key = storage.new_key()
    store.put(key, PNG, "image/png")
    assert sorted(path.name for path in (tmp_path / "uploads").iterdir()) == [key]
    assert (tmp_path / "uploads" / key).read_bytes() == PNG


def test_the_settings_pick_the_backend(tmp_path):
    local = storage.from_settings({"UPLOAD_DIR": str(tmp_path), "STORAGE_URL": ""})
    assert isinstance(local, storage.LocalFolder) and local.root == tmp_path
    remote = storage.from_settings(
        {
            "UPLOAD_DIR": str(tmp_path),
            "STORAGE_URL": "s3://offerdesk-files/prod/attachments",
            "STORAGE_ENDPOINT_URL": "http://127.0.0.1:9000",
        }
    )
    assert isinstance(remote, storage.S3Bucket)
    assert (remote.bucket, remote.prefix) == ("offerdesk-files", "prod/attachments")
    assert remote.client.meta.endpoint_url == "http://127.0.0.1:9000"


@pytest.mark.parametrize("url", ["http://bucket/x", "s3://", "s3:///prefix", "/var/files"])
def test_a_malformed_storage_url_stops_the_app_at_start(url):
    with pytest.raises(RuntimeError, match="STORAGE_URL must be s3://bucket/prefix"):
        create_app(settings_for_tests(STORAGE_URL=url))
