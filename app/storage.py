"""Where uploaded files' bytes live: one interface, two backends.

`STORAGE_URL` unset (the default): a local folder, `UPLOAD_DIR`, seen only by the host it is on.
`STORAGE_URL=s3://bucket/prefix`: S3-compatible object storage through boto3, seen by every host
(the endpoint from `STORAGE_ENDPOINT_URL` for MinIO, Ceph and the like; credentials and region
from the standard AWS variables or instance profile). The database row names the object by its
key; a key is made here (`new_key()`, random) and never from a user's file name.

Every backend answers put / open / read / delete / exists the same way; a missing object is
`ObjectMissing`, any other failure of the store (unreachable, refused, a full disk) is
`StorageError`, so callers can say so clearly instead of failing with a 500.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

from flask import Flask, current_app

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_EXTENSION = "offerdesk.storage"
CHUNK = 64 * 1024


class StorageError(Exception):
    """The store could not do what was asked (unreachable, refused, out of space)."""


class ObjectMissing(StorageError, LookupError):
    """No object under that key."""


def new_key() -> str:
    return secrets.token_hex(16)


def checked_key(key: str) -> str:
    """Keys are ours (see new_key): letters, digits, '-' and '_', so no path or prefix escape."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"Not a storage key: {key!r}")
    return key


def _stream(data: bytes | BinaryIO) -> BinaryIO:
    return io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data


class Storage(Protocol):
    def put(self, key: str, data: bytes | BinaryIO, content_type: str) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def read(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def keys_older_than(self, cutoff: datetime) -> Iterator[str]: ...


class LocalFolder:
    """Files in one folder, named by their key. A file is written under a temporary name and
    renamed, so a reader never sees half of it."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalFolder({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        return self.root / checked_key(key)

    def put(self, key: str, data: bytes | BinaryIO, content_type: str) -> None:
        path = self.path_for(key)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".upload-")
            try:
                with os.fdopen(handle, "wb") as out:
                    source = _stream(data)
                    while chunk := source.read(CHUNK):
                        out.write(chunk)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise StorageError(f"Could not write {key} to {self.root}: {error}") from error

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self.path_for(key), "rb")  # noqa: SIM115 - the caller closes it
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
            raise ObjectMissing(key) from error
        except OSError as error:
            raise StorageError(f"Could not read {key} from {self.root}: {error}") from error

    def read(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def delete(self, key: str) -> None:
        try:
            self.path_for(key).unlink(missing_ok=True)
        except OSError as error:
            raise StorageError(f"Could not delete {key} from {self.root}: {error}") from error

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def keys_older_than(self, cutoff: datetime) -> Iterator[str]:
        """The keys of files last written before `cutoff`; other files are left alone."""
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return
        except OSError as error:
            raise StorageError(f"Could not list {self.root}: {error}") from error
        for entry in entries:
            if (
                _KEY.fullmatch(entry.name)
                and entry.is_file()
                and datetime.fromtimestamp(entry.stat().st_mtime, UTC) < cutoff
            ):
                yield entry.name


class S3Bucket:
    """Objects in an S3-compatible bucket under a prefix (`prefix/key`)."""

    def __init__(self, client, bucket: str, prefix: str = "") -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")
        self._failures = (BotoCoreError, ClientError)

    def __repr__(self) -> str:
        return f"S3Bucket(s3://{self.bucket}/{self.prefix})"

    def name_for(self, key: str) -> str:
        key = checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _missing(self, error) -> bool:
        code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
        return code in {"NoSuchKey", "404", "NotFound"}

    def put(self, key: str, data: bytes | BinaryIO, content_type: str) -> None:
        try:
            self.client.upload_fileobj(
                _stream(data),
                self.bucket,
                self.name_for(key),
                ExtraArgs={"ContentType": content_type},
            )
        except self._failures as error:
            raise StorageError(f"Could not write {key} to {self!r}: {error}") from error

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.name_for(key))["Body"]
        except self._failures as error:
            if self._missing(error):
                raise ObjectMissing(key) from error
            raise StorageError(f"Could not read {key} from {self!r}: {error}") from error

    def read(self, key: str) -> bytes:
        stream = self.open(key)
        try:
            return stream.read()
        except self._failures as error:
            raise StorageError(f"Could not read {key} from {self!r}: {error}") from error
        finally:
            stream.close()

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.name_for(key))
        except self._failures as error:
            raise StorageError(f"Could not delete {key} from {self!r}: {error}") from error

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.name_for(key))
        except self._failures as error:
            if self._missing(error):
                return False
            raise StorageError(f"Could not look up {key} in {self!r}: {error}") from error
        return True

    def keys_older_than(self, cutoff: datetime) -> Iterator[str]:
        """The keys of objects under the prefix last written before `cutoff`, page by page."""
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(start) :]
                    if _KEY.fullmatch(key) and item["LastModified"] < cutoff:
                        yield key
        except self._failures as error:
            raise StorageError(f"Could not list {self!r}: {error}") from error


def s3_client(endpoint_url: str | None, timeout: float):
    """A boto3 S3 client with bounded waits: a request never hangs on an unreachable store."""
    import boto3
    from botocore.config import Config as BotoConfig

    settings = BotoConfig(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path" if endpoint_url else "auto"},
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, config=settings)


def from_settings(config) -> Storage:
    """The backend the settings name; a malformed STORAGE_URL stops the app at start."""
    url = (config.get("STORAGE_URL") or "").strip()
    if not url:
        return LocalFolder(config["UPLOAD_DIR"])
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise RuntimeError(f"STORAGE_URL must be s3://bucket/prefix (or unset), not {url!r}.")
    client = s3_client(
        config.get("STORAGE_ENDPOINT_URL") or None, float(config.get("STORAGE_TIMEOUT") or 10)
    )
    return S3Bucket(client, parts.netloc, parts.path)


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = from_settings(app.config)


def current() -> Storage:
    """The running app's store."""
    return current_app.extensions[_EXTENSION]
