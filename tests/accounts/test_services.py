from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts import services as accounts
from app.accounts.models import SYSTEM, User
from app.audit.models import AuditEvent
from app.errors import NotAllowed, NotFound, RateLimited, Unauthorized, ValidationFailed
from app.extensions import db
from tests.conftest import DEMO_PASSWORD


def test_password_is_stored_hashed(make_user):
    user = make_user("consumer")
    assert DEMO_PASSWORD not in user.password_hash
    assert user.password_hash.startswith("pbkdf2:")


def test_create_user_validates_every_field(users):
    with pytest.raises(ValidationFailed) as caught:
        accounts.create_user(
            users["admin"],
            email="not-an-email",
            name=" ",
            password="short",
            roles=["wizard"],
            group_ids=[],
        )
    assert set(caught.value.fields) == {"email", "name", "password", "roles"}
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == len(users)


def test_support_agent_needs_a_tier(users):
    with pytest.raises(ValidationFailed) as caught:
        accounts.create_user(
            users["admin"],
            email="a@x.test",
            name="A",
            password="longenough",
            roles=["support_agent"],
        )
    assert "support_tier" in caught.value.fields


def test_duplicate_email_refused_case_insensitively(users):
    with pytest.raises(ValidationFailed) as caught:
        accounts.create_user(
            users["admin"], email=users["consumer"].email.upper(), name="X", password="longenough"
        )
    assert caught.value.fields["email"] == ["Another user already has this e-mail address."]


def test_only_admin_manages_users(users):
    for role in ("consumer", "catalog_manager", "support_agent", "product_manager"):
        with pytest.raises(NotAllowed):
            accounts.create_user(users[role], email="n@x.test", name="N", password="longenough")
        with pytest.raises(NotAllowed):
            accounts.set_user_active(users[role], users["consumer"].id, False)


def test_user_changes_are_audited_with_before_and_after(users):
    admin = users["admin"]
    accounts.update_user(
        admin,
        users["consumer"].id,
        email=users["consumer"].email,
        name="Renamed",
        roles=["consumer", "product_manager"],
        group_ids=[],
        support_tier=None,
    )
    event = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "updated", AuditEvent.object_type == "user"
        )
    ).one()
    assert event.actor_id == admin.id
    assert event.changes["roles"] == {
        "before": ["consumer"],
        "after": ["consumer", "product_manager"],
    }
    assert event.changes["groups"] == {"before": ["Finance"], "after": []}
    assert event.changes["name"]["after"] == "Renamed"


def test_admin_cannot_lock_themself_out(users):
    admin = users["admin"]
    with pytest.raises(ValidationFailed):
        accounts.set_user_active(admin, admin.id, False)
    with pytest.raises(ValidationFailed):
        accounts.update_user(
            admin,
            admin.id,
            email=admin.email,
            name=admin.name,
            roles=["consumer"],
            group_ids=[],
            support_tier=None,
        )


def test_authenticate_accepts_right_password_only(users):
    user = users["consumer"]
    assert accounts.authenticate(user.email, DEMO_PASSWORD, "10.0.0.1") == user
    with pytest.raises(Unauthorized):
        accounts.authenticate(user.email, "wrong", "10.0.0.1")


def test_deactivated_user_cannot_log_in_or_use_tokens(users):
    user = users["consumer"]
    _, token = accounts.create_token(SYSTEM, user.id, "feed")
    accounts.set_user_active(users["admin"], user.id, False)
    with pytest.raises(Unauthorized):
        accounts.authenticate(user.email, DEMO_PASSWORD, "10.0.0.1")
    with pytest.raises(Unauthorized):
        accounts.authenticate_token(token)


def test_ten_failures_lock_the_account_even_for_the_right_password(users, app):
    user = users["consumer"]
    for attempt in range(app.config["LOGIN_MAX_FAILURES"]):
        with pytest.raises(Unauthorized):
            accounts.authenticate(user.email, f"wrong-{attempt}", f"10.0.0.{attempt}")
    with pytest.raises(RateLimited) as caught:
        accounts.authenticate(user.email, DEMO_PASSWORD, "10.9.9.9")
    assert "Too many failed log-in attempts" in caught.value.message


def test_ten_failures_from_one_address_lock_that_address(users, make_user):
    victim = make_user("consumer")
    for attempt in range(10):
        with pytest.raises(Unauthorized):
            accounts.authenticate(f"guess{attempt}@example.test", "x", "10.1.1.1")
    with pytest.raises(RateLimited):
        accounts.authenticate(victim.email, DEMO_PASSWORD, "10.1.1.1")
    assert accounts.authenticate(victim.email, DEMO_PASSWORD, "10.2.2.2") == victim


def test_lockout_ends_after_the_window(users, app):
    user = users["consumer"]
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    clock.freeze(start)
    for _ in range(10):
        with pytest.raises(Unauthorized):
            accounts.authenticate(user.email, "wrong", "10.0.0.1")
    clock.freeze(start + timedelta(minutes=app.config["LOGIN_FAILURE_WINDOW_MINUTES"] + 1))
    assert accounts.authenticate(user.email, DEMO_PASSWORD, "10.0.0.1") == user


def test_token_is_shown_once_and_stored_hashed(users):
    token, plaintext = accounts.create_token(SYSTEM, users["consumer"].id, "feed")
    assert plaintext.startswith("odk_")
    assert plaintext not in token.token_hash
    assert accounts.authenticate_token(plaintext) == users["consumer"]
    assert token.last_used_at is None  # authenticating only reads (see the API test)


def test_revoked_token_is_refused(users):
    token, plaintext = accounts.create_token(SYSTEM, users["consumer"].id, "feed")
    accounts.revoke_token(users["consumer"], token.id)
    with pytest.raises(Unauthorized):
        accounts.authenticate_token(plaintext)


def test_a_user_cannot_revoke_or_mint_another_users_tokens(users):
    token, _ = accounts.create_token(SYSTEM, users["consumer"].id, "feed")
    with pytest.raises(NotFound):
        accounts.revoke_token(users["other_consumer"], token.id)
    with pytest.raises(NotAllowed):
        accounts.create_token(users["other_consumer"], users["consumer"].id, "stolen")
    assert accounts.revoke_token(users["admin"], token.id).is_revoked


def test_groups_need_unique_names_and_no_members_to_delete(users):
    admin = users["admin"]
    with pytest.raises(ValidationFailed):
        accounts.save_group(admin, name="Finance")
    finance = accounts.find_group_by_name("Finance")
    with pytest.raises(ValidationFailed):
        accounts.delete_group(admin, finance.id)
    accounts.set_group_members(admin, finance.id, [])
    accounts.delete_group(admin, finance.id)
    assert accounts.find_group_by_name("Finance") is None


def test_unicode_and_huge_input(users):
    admin = users["admin"]
    user = accounts.create_user(
        admin, email="zoë@exämple.test", name="Zoë Ünïcødé 🚀", password="pässwörd-✓"
    )
    assert accounts.authenticate("ZOË@exämple.test", "pässwörd-✓", "1.1.1.1") == user
    with pytest.raises(ValidationFailed) as caught:
        accounts.create_user(admin, email="big@x.test", name="x" * 10_000, password="longenough")
    assert "name" in caught.value.fields


@pytest.mark.parametrize(
    "call",
    [
        lambda: accounts.create_user(
            None, email="nobody@example.test", name="Nobody", password="long-enough-1"
        ),
        lambda: accounts.save_group(None, name="Nobody's group"),
    ],
    ids=["create_user", "save_group"],
)
def test_no_actor_means_no_permission(app, call):
    with pytest.raises(NotAllowed):
        call()


def test_no_actor_cannot_create_a_token(users):
    with pytest.raises(NotAllowed):
        accounts.create_token(None, users["consumer"].id, "sneaky")


def test_the_system_actor_acts_as_an_operator(app):
    user = accounts.create_user(
        SYSTEM, email="ops@example.test", name="Ops", password="long-enough-1", roles=["admin"]
    )
    assert user.has_role("admin")
    _, token = accounts.create_token(SYSTEM, user.id, "deploy")
    assert token.startswith("odk_")
