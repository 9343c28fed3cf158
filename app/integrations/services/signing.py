"""The signature of what Offerdesk sends (the Stripe scheme), and its verification.

    Offerdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">
    Offerdesk-Delivery: <delivery id>

A receiver recomputes the HMAC with the shared secret, compares in constant time and refuses a
timestamp outside its tolerance window (a replay). See docs/webhooks.md."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Offerdesk-Signature"
DELIVERY_HEADER = "Offerdesk-Delivery"
TOLERANCE_SECONDS = 300


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},v1={_digest(secret, moment, body)}"


def signed_headers(secret: str, body: bytes, delivery_id: int | str) -> dict[str, str]:
    return {SIGNATURE_HEADER: signature(secret, body), DELIVERY_HEADER: str(delivery_id)}


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether `header` signs `body` with `secret`, within `tolerance` seconds of now."""
    timestamp, candidates = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
