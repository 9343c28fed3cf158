"""A real HTTP receiver on 127.0.0.1 and a free port, in a thread, for webhooks and automatic
fulfillment steps: it records each POST, checks its signature with the shared secret the way
docs/webhooks.md tells a receiver to (written independently of app.integrations), and answers
from a script."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.jobs.conftest import free_port


def signature_is_valid(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if abs(time.time() - int(parts.get("t", "0"))) > tolerance:
        return False
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    signature_valid: bool

    def json(self):
        return json.loads(self.body)


Answer = int | tuple[int, dict]  # a status (the document says whether it was received), or both


@dataclass
class Receiver:
    """Answers each POST with the next answer of `script`, then `default`; sleeps `delay`
    seconds first (and the first `held` requests wait until `release` is set); calls
    `then(received)` in another thread after answering."""

    secret: str
    path: str = "/hooks"
    port: int = field(default_factory=free_port)
    script: list[Answer] = field(default_factory=list)
    default: Answer = 200
    delay: float = 0
    then: Callable[[Received], None] | None = None
    held: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def next_answer(self) -> tuple[int, dict]:
        answer = self.script.pop(0) if self.script else self.default
        return answer if isinstance(answer, tuple) else (answer, {"received": answer < 300})

    def receive(self, path: str, headers: dict, body: bytes) -> Received:
        header = headers.get("Offerdesk-Signature", "")
        received = Received(
            path, headers, body, bool(header) and signature_is_valid(self.secret, header, body)
        )
        self.requests.append(received)
        if len(self.requests) <= self.held:
            self.release.wait(60)
        time.sleep(self.delay)
        return received

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received = receiver.receive(self.path, dict(self.headers), body)
                status, document = receiver.next_answer()
                answer = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                if receiver.then is not None:
                    threading.Thread(target=receiver.then, args=(received,), daemon=True).start()

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
