import sqlalchemy as sa

from app.accounts import services as accounts
from app.accounts.models import ConsumerGroup, User
from app.extensions import db


def test_users_create_then_update(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "ops@example.test",
            "--password",
            "longenough",
            "--role",
            "support_agent",
            "--tier",
            "2",
            "--group",
            "Ops",
            "--name",
            "Olga Ops",
        ]
    )
    assert result.exit_code == 0, result.output
    user = accounts.find_user_by_email("ops@example.test")
    assert (
        user.name == "Olga Ops"
        and user.support_tier == 2
        and [g.name for g in user.groups] == ["Ops"]
    )
    result = runner.invoke(
        args=[
            "users",
            "create",
            "ops@example.test",
            "--password",
            "otherlongpass",
            "--role",
            "admin",
        ]
    )
    assert result.exit_code == 0 and "Updated" in result.output
    db.session.expire_all()
    assert user.role_names == {"admin"}


def test_users_create_reports_bad_input(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "not-an-email", "--password", "x"]
    )
    assert result.exit_code != 0
    assert "email" in result.output and "password" in result.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_users_token_prints_the_token_alone(app, make_user, api):
    user = make_user("consumer")
    result = app.test_cli_runner().invoke(args=["users", "token", user.email, "--label", "feed"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert token.startswith("odk_") and "\n" not in token
    assert api(token).get("/api/v1/me").json["email"] == user.email


def test_seed_is_idempotent_and_demo_logins_work(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    counts = (
        db.session.scalar(sa.select(sa.func.count(User.id))),
        db.session.scalar(sa.select(sa.func.count(ConsumerGroup.id))),
    )
    second = runner.invoke(args=["seed"])
    assert "users: 0 created" in second.output
    assert counts == (
        db.session.scalar(sa.select(sa.func.count(User.id))),
        db.session.scalar(sa.select(sa.func.count(ConsumerGroup.id))),
    )
    roles = set()
    for user in db.session.scalars(sa.select(User)):
        roles |= user.role_names
        response = client.post("/login", data={"email": user.email, "password": "offerdesk-demo"})
        assert response.status_code == 302, user.email
        client.post("/logout")
    assert roles == {"admin", "catalog_manager", "product_manager", "support_agent", "consumer"}
    consumer_groups = {
        g.name
        for u in db.session.scalars(sa.select(User))
        if u.has_role("consumer")
        for g in u.groups
    }
    assert len(consumer_groups) >= 2
