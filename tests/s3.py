"""A real S3-compatible server for the tests: moto's server mode (`moto.server.ThreadedMotoServer`)
on 127.0.0.1 and a free port, in a thread of this process, with one bucket. It speaks the S3 HTTP
API, so app.storage reaches it through boto3 exactly as it reaches AWS or MinIO; only the
endpoint differs (STORAGE_ENDPOINT_URL)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest

from app import storage
from tests.jobs.conftest import free_port

BUCKET = "offerdesk-attachments"
# moto accepts any credentials; boto3 needs some to sign (the standard AWS variables)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "offerdesk-test",
    "AWS_SECRET_ACCESS_KEY": "offerdesk-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class S3Server:
    endpoint: str
    _client: object = None

    def client(self):
        if self._client is None:  # making a boto3 client takes about a second
            self._client = storage.s3_client(self.endpoint, timeout=5)
        return self._client

    def settings(self, prefix: str | None = None, bucket: str = BUCKET) -> dict:
        """App settings that put attachments under a fresh prefix of the bucket."""
        prefix = prefix or f"test-{uuid.uuid4().hex[:12]}"
        return {"STORAGE_URL": f"s3://{bucket}/{prefix}", "STORAGE_ENDPOINT_URL": self.endpoint}

    def names(self, prefix: str) -> list[str]:
        """The object names under a prefix, as the bucket lists them."""
        found = self.client().list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")
        return sorted(item["Key"] for item in found.get("Contents", []))


@pytest.fixture(scope="session")
def s3_server():
    from moto.server import ThreadedMotoServer

    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        running = S3Server(f"http://127.0.0.1:{port}")
        running.client().create_bucket(Bucket=BUCKET)
        yield running
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
