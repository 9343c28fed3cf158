"""App-wide behaviour: config, migrations, security headers, CSRF, errors, health, markdown."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import create_app
from app.config import DEV_SECRET_KEY, load_config
from app.extensions import db
from app.markdown import render_markdown
from app.search.postgres import include_object
from tests.conftest import DEMO_PASSWORD, settings_for_tests


@pytest.mark.committed  # a second connection
def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_production_refuses_the_development_secret_key(monkeypatch):
    monkeypatch.setenv("OFFERDESK_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config({"SECRET_KEY": DEV_SECRET_KEY, "ENV_NAME": "production"})


def test_postgres_urls_use_psycopg3():
    config = load_config({"SQLALCHEMY_DATABASE_URI": "postgresql://u@h/d"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/d"


def test_the_search_backend_follows_the_database_unless_set():
    postgres, sqlite = "postgresql://u@h/d", "sqlite://"
    assert load_config({"SQLALCHEMY_DATABASE_URI": postgres})["SEARCH_BACKEND"] == "postgres"
    assert load_config({"SQLALCHEMY_DATABASE_URI": sqlite})["SEARCH_BACKEND"] == "whoosh"
    chosen = load_config({"SQLALCHEMY_DATABASE_URI": postgres, "SEARCH_BACKEND": "Whoosh"})
    assert chosen["SEARCH_BACKEND"] == "whoosh"
    with pytest.raises(RuntimeError, match="SEARCH_BACKEND must be one of"):
        load_config({"SEARCH_BACKEND": "solr"})
    with pytest.raises(RuntimeError, match="needs a PostgreSQL"):
        load_config({"SEARCH_BACKEND": "postgres", "SQLALCHEMY_DATABASE_URI": sqlite})


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    sqlite_app = create_app(
        settings_for_tests(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'wal.db'}")
    )
    with sqlite_app.app_context():
        assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(sa.text("PRAGMA busy_timeout")).scalar() == 10000
        db.session.remove()


def test_security_headers(client):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_session_cookie_flags(client, users):
    response = client.post(
        "/login", data={"email": users["consumer"].email, "password": DEMO_PASSWORD}
    )
    cookie = next(
        value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.committed  # a second app on the test database
def test_csrf_is_enforced_on_forms(users):
    csrf_app = create_app(settings_for_tests(WTF_CSRF_ENABLED=True))
    client = csrf_app.test_client()
    response = client.post(
        "/login", data={"email": users["consumer"].email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 400
    assert b"CSRF" in response.data
    page = client.get("/login").data.decode()
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"email": users["consumer"].email, "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_broken_database():
    broken = create_app(
        settings_for_tests(SQLALCHEMY_DATABASE_URI="sqlite:////nonexistent-dir/x.db")
    )
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503


def test_styled_404_and_403(client_as):
    client = client_as("consumer")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and b"Not found" in missing.data and b"<nav" in missing.data
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403 and b"Not allowed" in forbidden.data


def test_unexpected_error_is_a_styled_500_without_internals(users):
    fresh = create_app(settings_for_tests())

    @fresh.route("/boom-for-test")
    def boom():
        raise RuntimeError("secret internals")

    response = fresh.test_client().get("/boom-for-test")
    assert response.status_code == 500
    assert b"secret internals" not in response.data
    assert b"Something went wrong" in response.data


@pytest.mark.parametrize(
    "source,forbidden",
    [
        ("<script>alert(1)</script>", "<script"),
        ("[x](javascript:alert(1))", "javascript:"),
        ('<img src=x onerror="alert(1)">', "onerror"),
        ("<iframe src='https://evil.example'></iframe>", "<iframe"),
    ],
)
def test_markdown_is_sanitised(source, forbidden):
    assert forbidden not in str(render_markdown(source))


def test_markdown_keeps_formatting():
    html = str(
        render_markdown(
            "# Title\n\n**bold** and [link](https://example.com)\n\n| a | b |\n|---|---|\n| 1 | 2 |"
        )
    )
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<table>" in html


def test_static_assets_are_local(client, client_as):
    page = client_as("consumer").get("/").data.decode()
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    assert client.get("/static/css/app.css").status_code == 200
    assert client.get("/static/js/app.js").status_code == 200
