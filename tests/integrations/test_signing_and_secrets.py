"""The signature scheme and its verification; secrets encrypted with the configured key."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from cryptography.fernet import Fernet

from app import create_app
from app.config import load_config
from app.integrations.services import secrets, signing
from tests.conftest import settings_for_tests

BODY = b'{"event":"offer.published"}'


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    header = signing.signature("s3cret", BODY, timestamp=1_700_000_000)
    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_verify_accepts_a_fresh_signature_and_refuses_everything_else():
    now = int(time.time())
    header = signing.signature("s3cret", BODY, timestamp=now)
    assert signing.verify("s3cret", BODY, header)
    assert not signing.verify("other", BODY, header)
    assert not signing.verify("s3cret", BODY + b" ", header)
    assert not signing.verify("s3cret", BODY, header, now=now + signing.TOLERANCE_SECONDS + 1)
    assert signing.verify("s3cret", BODY, header, now=now + signing.TOLERANCE_SECONDS)
    for broken in ("", None, "v1=abc", f"t={now}", "t=soon,v1=abc", header.replace("v1=", "v0=")):
        assert not signing.verify("s3cret", BODY, broken)


def test_verify_accepts_any_of_several_v1_signatures_during_a_rotation():
    now = int(time.time())
    old = signing.signature("old", BODY, timestamp=now).split(",")[1]
    header = signing.signature("new", BODY, timestamp=now) + "," + old
    assert signing.verify("old", BODY, header) and signing.verify("new", BODY, header)


def test_signed_headers_name_the_delivery():
    headers = signing.signed_headers("s3cret", BODY, 42)
    assert headers["Offerdesk-Delivery"] == "42"
    assert signing.verify("s3cret", BODY, headers["Offerdesk-Signature"])


def test_secrets_use_the_configured_key(app):
    key = Fernet.generate_key().decode()
    app.config["OFFERDESK_ENCRYPTION_KEY"] = key
    try:
        token = secrets.encrypt("hunter2-but-longer")
        assert "hunter2" not in token
        assert Fernet(key.encode()).decrypt(token.encode()) == b"hunter2-but-longer"
        assert secrets.decrypt(token) == "hunter2-but-longer"
        app.config["OFFERDESK_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
        with pytest.raises(RuntimeError, match="OFFERDESK_ENCRYPTION_KEY changed"):
            secrets.decrypt(token)
    finally:
        app.config["OFFERDESK_ENCRYPTION_KEY"] = ""


def test_outside_production_a_key_is_derived_from_the_secret_key(app):
    token = secrets.encrypt("derived")
    assert secrets.decrypt(token) == "derived"
    other = create_app(settings_for_tests(SECRET_KEY="another-secret-key"))
    with other.app_context(), pytest.raises(RuntimeError):
        secrets.decrypt(token)


def test_production_refuses_to_start_without_an_encryption_key():
    production = {"ENV_NAME": "production", "SECRET_KEY": "a-real-secret-key"}
    with pytest.raises(RuntimeError, match="OFFERDESK_ENCRYPTION_KEY"):
        load_config(production)
    key = Fernet.generate_key().decode()
    assert load_config({**production, "OFFERDESK_ENCRYPTION_KEY": key})["ENV_NAME"] == "production"
