"""Log-in behind a reverse proxy, timing that reveals nothing, and old attempts purged."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock, create_app
from app.accounts import services as accounts
from app.accounts.models import LoginAttempt
from app.extensions import db
from tests.conftest import DEMO_PASSWORD, settings_for_tests

# Each test builds an app of its own (its own engine and connections), so it commits for real.
pytestmark = pytest.mark.committed


def _proxied_app(hops: int):
    application = create_app(settings_for_tests(TRUSTED_PROXIES=hops))
    yield application
    with application.app_context():
        db.session.remove()


@pytest.fixture
def behind_one_proxy(app):
    yield from _proxied_app(1)


@pytest.fixture
def no_proxy_setting(app):
    yield from _proxied_app(0)


def _post_login(application, email, password, client_address):
    return application.test_client().post(
        "/login",
        data={"email": email, "password": password},
        headers={"X-Forwarded-For": client_address},
    )


def test_failures_from_one_client_do_not_lock_out_another_behind_the_proxy(
    behind_one_proxy, users, make_user
):
    victim = make_user("consumer", email="victim@example.test")
    for attempt in range(10):
        response = _post_login(behind_one_proxy, f"guess{attempt}@example.test", "x", "203.0.113.7")
        assert response.status_code == 401
    locked = _post_login(behind_one_proxy, users["consumer"].email, DEMO_PASSWORD, "203.0.113.7")
    assert locked.status_code == 429  # the attacking address is locked out
    response = _post_login(behind_one_proxy, victim.email, DEMO_PASSWORD, "198.51.100.20")
    assert response.status_code == 302  # a second client still logs in
    addresses = set(db.session.scalars(sa.select(LoginAttempt.address)))
    assert addresses == {"203.0.113.7"}


def test_without_trusted_proxies_the_forwarded_header_is_not_believed(no_proxy_setting, users):
    for attempt in range(10):
        _post_login(no_proxy_setting, f"guess{attempt}@example.test", "x", f"203.0.113.{attempt}")
    addresses = set(db.session.scalars(sa.select(LoginAttempt.address)))
    assert addresses == {"127.0.0.1"}


def test_production_sends_hsts(app):
    key = "0" * 43 + "="  # production refuses to start without an encryption key
    production = create_app(settings_for_tests(ENV_NAME="production", OFFERDESK_ENCRYPTION_KEY=key))
    response = production.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers


def test_an_unknown_email_costs_a_password_check_like_a_known_one(app, users, monkeypatch):
    checked: list[str] = []
    real_check = accounts.check_password_hash

    def spy(pwhash, password):
        checked.append(pwhash.split("$")[0])
        return real_check(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", spy)
    for email in ("nobody@example.test", users["consumer"].email):
        with pytest.raises(accounts.Unauthorized):
            accounts.authenticate(email, "wrong-password", "192.0.2.1")
    assert checked == ["pbkdf2:sha256:1000", "pbkdf2:sha256:1000"]


def test_attempts_older_than_the_window_are_purged(app, users):
    long_ago = clock.now() - timedelta(minutes=16)
    db.session.add(
        LoginAttempt(email="old@example.test", address="192.0.2.9", attempted_at=long_ago)
    )
    db.session.commit()
    with pytest.raises(accounts.Unauthorized):
        accounts.authenticate("new@example.test", "wrong-password", "192.0.2.1")
    assert list(db.session.scalars(sa.select(LoginAttempt.email))) == ["new@example.test"]
