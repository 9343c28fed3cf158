"""Integration fixtures: a real HTTP receiver on 127.0.0.1 and a free port, in a thread, that
records each request and checks its signature with the secret the way docs/webhooks.md tells a
receiver to; and integrations and webhooks created through the services."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.accounts.models import SYSTEM
from app.extensions import db
from app.integrations.services import integrations, webhooks
from tests.jobs.conftest import free_port, immediate, wait_for  # noqa: F401

SECRET = "receiver-shared-secret-0123456789"


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    signature_valid: bool

    def json(self):
        return json.loads(self.body)


def signature_is_valid(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What the receiver in docs/webhooks.md does, written independently of app.integrations."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if abs(time.time() - int(parts.get("t", "0"))) > tolerance:
        return False
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass
class Receiver:
    """Answers each POST with the next status of `script` (then `default`), records it."""

    secret: str = SECRET
    port: int = field(default_factory=free_port)
    script: list[int] = field(default_factory=list)
    default: int = 200
    held: int = 0  # the first `held` requests get no answer until `release` is set
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                header = self.headers.get("Offerdesk-Signature", "")
                receiver.requests.append(
                    Received(
                        self.path,
                        dict(self.headers),
                        body,
                        bool(header) and signature_is_valid(receiver.secret, header, body),
                    )
                )
                if len(receiver.requests) <= receiver.held:
                    receiver.release.wait(60)
                status = receiver.script.pop(0) if receiver.script else receiver.default
                answer = json.dumps({"received": status < 300}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def make_integration():
    def make(url: str, *, name: str = "Hooks", secret: str | None = SECRET, **fields):
        created = integrations.create_integration(
            SYSTEM, name=name, kind="webhook", url=url, secret=secret, **fields
        )
        db.session.commit()
        return created.integration

    return make


@pytest.fixture
def subscribed(make_integration):
    """An integration at `url` subscribed to `events`, committed."""

    def make(url: str, events=("offer.published",), **fields):
        integration = make_integration(url, **fields)
        webhook = webhooks.subscribe(SYSTEM, integration=integration.name, events=list(events))
        db.session.commit()
        return webhook

    return make
