"""Two first sign-ins of one person at once (two browser tabs coming back from the provider):
one user and one identity, and both sign-ins succeed."""

import threading

import pytest
import sqlalchemy as sa

from app import unit_of_work
from app.accounts.models import User, UserIdentity
from app.accounts.services import sso
from app.extensions import db
from tests.oidc.fixtures import configure, oidc_settings

pytestmark = pytest.mark.committed

ISSUER = "https://sso.corp.example"
CLAIMS = {
    "sub": "erin-9",
    "email": "erin@corp.example",
    "email_verified": True,
    "name": "Erin",
    "groups": ["finance"],
}


def test_two_first_sign_ins_at_once_make_one_user(app, users, monkeypatch):
    configure(monkeypatch, (app,), oidc_settings(ISSUER))
    db.session.commit()
    # SQLite serializes writers on its file and refuses a transaction that read before another
    # wrote, so there the two sign-ins run one after the other; PostgreSQL races them for real.
    racing = db.engine.dialect.name == "postgresql"
    barrier = threading.Barrier(2 if racing else 1)
    outcomes: list[str] = []

    def sign_in() -> None:
        with app.app_context():
            flushed = []

            @sa.event.listens_for(db.session(), "before_flush")
            def both_have_looked(session, context, instances):
                if not flushed:  # both found no user before either writes one
                    flushed.append(True)
                    barrier.wait(timeout=30)

            try:
                user = sso.sign_in(dict(CLAIMS), issuer=ISSUER)
                unit_of_work.commit()
                outcomes.append(user.email)
            except Exception as error:  # noqa: BLE001 - the test reports what went wrong
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign_in) for _ in range(2)]
    for thread in threads:
        thread.start()
        if not racing:
            thread.join(timeout=60)
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == ["erin@corp.example", "erin@corp.example"]
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(User).where(User.email == "erin@corp.example")
        )
        == 1
    )
    identity = db.session.scalar(sa.select(UserIdentity))
    assert (identity.issuer, identity.subject) == (ISSUER, "erin-9")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserIdentity)) == 1
