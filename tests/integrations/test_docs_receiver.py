"""The Python receiver printed in docs/webhooks.md, run as written (its secret and port
swapped), accepts what Offerdesk signs and refuses a tampered body or a stale signature."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from app.config import ROOT
from app.integrations.services.signing import signature
from tests.jobs.conftest import free_port, wait_for

SECRET = "docs-receiver-secret"


def docs_receiver(port: int) -> str:
    text = (ROOT / "docs" / "webhooks.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(code.strip().splitlines()) <= 12
    return code.replace('b"the integration secret"', f'b"{SECRET}"').replace("8099", str(port))


def post(port: int, body: bytes, header: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/", data=body, headers={"Offerdesk-Signature": header}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as answer:
        return answer.code


@pytest.mark.committed  # another process (it reaches no database)
def test_the_documented_receiver_checks_offerdesk_signatures():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", docs_receiver(port)])
    try:
        body = b'{"event":"offer.published","delivery_id":1}'
        wait_for(lambda: _up(port), 10, "the documented receiver to listen")
        assert post(port, body, signature(SECRET, body)) == 200
        assert post(port, body + b" ", signature(SECRET, body)) == 401
        assert post(port, body, signature("another secret", body)) == 401
        assert post(port, body, signature(SECRET, body, int(time.time()) - 600)) == 401
    finally:
        process.kill()
        process.wait()


def _up(port: int) -> bool:
    try:
        return post(port, b"{}", "t=0,v1=0") == 401
    except OSError:
        return False
