"""Integration secrets, encrypted at rest with Fernet. The key is OFFERDESK_ENCRYPTION_KEY;
outside production, when it is unset, a development key is derived from SECRET_KEY (production
refuses to start without one, see config.load_config)."""

from __future__ import annotations

import base64
import hashlib
import secrets as random

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from ...i18n import _

GENERATED_BYTES = 32


def _fernet() -> Fernet:
    key = current_app.config.get("OFFERDESK_ENCRYPTION_KEY") or ""
    if not key:
        if current_app.config["ENV_NAME"] == "production":
            raise RuntimeError("OFFERDESK_ENCRYPTION_KEY is not set.")
        digest = hashlib.sha256(
            b"offerdesk-integrations:" + current_app.config["SECRET_KEY"].encode()
        )
        key = base64.urlsafe_b64encode(digest.digest()).decode()
    return Fernet(key)


def generate() -> str:
    return random.token_urlsafe(GENERATED_BYTES)


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise RuntimeError(
            _("An integration secret cannot be decrypted: OFFERDESK_ENCRYPTION_KEY changed.")
        ) from None
