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
    assert "demo subscriptions: 3 created\n" in first.output
    assert "support demo subscriptions: 1 created\n" in first.output
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


# --- flask catalog export / import (catalog as code) ------------------------------------------


def test_catalog_export_and_import_round_trip_on_the_command_line(app, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed"]).exit_code == 0
    target = tmp_path / "catalog.yaml"
    exported = runner.invoke(args=["catalog", "export", "--output", str(target)])
    assert exported.exit_code == 0, exported.output
    assert "Exported 47 offers" in exported.output
    assert target.read_text(encoding="utf-8").count("\n- code: ") == 47
    to_stdout = runner.invoke(args=["catalog", "export"])
    assert "format: offerdesk-catalog" in to_stdout.output
    text = target.read_text(encoding="utf-8").replace("price: '7.50'", "price: '7.95'", 1)
    target.write_text(text, encoding="utf-8")
    dry = runner.invoke(args=["catalog", "import", str(target), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would update VPN-ACCESS: price" in dry.output
    assert "offers: 0 to create, 1 to update, 46 unchanged" in dry.output
    assert "Dry run: nothing was saved." in dry.output
    from app.catalog import services as catalog

    db.session.expire_all()
    assert str(catalog.live_revision("VPN-ACCESS").price) == "7.50"
    real = runner.invoke(args=["catalog", "import", str(target)])
    assert real.exit_code == 0 and "update VPN-ACCESS: price" in real.output
    db.session.expire_all()
    assert str(catalog.live_revision("VPN-ACCESS").price) == "7.95"


def test_catalog_import_reports_bad_lines_and_items(app, tmp_path):
    runner = app.test_cli_runner()
    broken = tmp_path / "broken.yaml"
    broken.write_text("offers:\n  - code: A-1\n    name: [unclosed\n", encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(broken)])
    assert result.exit_code != 0 and "line 4" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        'offers:\n  - code: A-1\n    name: Fine\n  - code: B-2\n    name: Bad\n    price: "-1"\n',
        encoding="utf-8",
    )
    result = runner.invoke(args=["catalog", "import", str(bad)])
    assert result.exit_code != 0
    assert "offers[1].price: line 6: The amount cannot be negative." in result.output
    from app.catalog.models import ServiceOffer

    assert db.session.scalar(sa.select(sa.func.count(ServiceOffer.id))) == 0


def test_analyze_refreshes_the_planner_statistics(app, make_user):
    make_user("consumer")
    result = app.test_cli_runner().invoke(args=["analyze"])
    assert result.exit_code == 0, result.output
    assert f"Planner statistics refreshed ({db.engine.dialect.name})" in result.output
    if db.engine.dialect.name == "sqlite":  # the statistics SQLite plans with are now there
        tables = db.session.execute(sa.text("SELECT tbl FROM sqlite_stat1")).scalars().all()
        assert "users" in tables
