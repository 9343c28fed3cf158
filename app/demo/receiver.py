"""The demo's receiver of automatic fulfillment steps: `python -m app.demo.receiver` (started
by `make run`'s Procfile) on 127.0.0.1:5055. It checks each delivery's signature with the
shared secret (as docs/webhooks.md shows), answers 202, then does the "work": it calls the
portal back `running`, then `done` with an output. It stands in for the systems that do the
real work (an orchestrator, a provisioning API) so that the demo shows real deliveries."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("DEMO_RECEIVER_SECRET", "offerdesk-demo-receiver-secret")
TOLERANCE = 300
log = logging.getLogger("demo-receiver")


def signature_valid(secret: str, header: str, body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if not parts.get("t", "").isdigit() or abs(time.time() - int(parts["t"])) > TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))


def report(callback: dict, document: dict) -> None:
    request = urllib.request.Request(
        callback["url"],
        data=json.dumps(document).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {callback['token']}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            log.info("called back %s: %s", document["status"], response.status)
    except OSError as error:  # the portal answers 4xx for a finished step: nothing to redo
        log.warning("callback %s refused: %s", document["status"], error)


def work(step: dict, pause: float) -> None:
    task, callback = step["task"], step["callback"]
    time.sleep(pause)
    report(callback, {"status": "running", "message": f"Working on “{task['name']}”"})
    time.sleep(pause * 2)
    report(
        callback,
        {
            "status": "done",
            "message": f"“{task['name']}” is done",
            "outputs": {"reference": f"DEMO-{task['id']}"},
        },
    )


def handler(secret: str, pause: float, seen: set[str]) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not signature_valid(secret, self.headers.get("Offerdesk-Signature", ""), body):
                self._answer(401, {"error": "bad signature"})
                return
            delivery = self.headers.get("Offerdesk-Delivery", "")
            self._answer(202, {"status": "running"})
            if delivery in seen:  # at-least-once: a delivery sent again is not redone
                return
            seen.add(delivery)
            step = json.loads(body)
            threading.Thread(target=work, args=(step, pause), daemon=True).start()

        def _answer(self, status: int, document: dict) -> None:
            answer = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, fmt, *args):
            log.info(fmt, *args)

    return Receiver


def serve(host: str, port: int, *, secret: str = SECRET, pause: float = 1.0):
    server = ThreadingHTTPServer((host, port), handler(secret, pause, set()))
    log.info("demo receiver on http://%s:%s/", host, port)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds of demo work per phase")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    serve(arguments.host, arguments.port, pause=arguments.pause).serve_forever()


if __name__ == "__main__":
    main()
