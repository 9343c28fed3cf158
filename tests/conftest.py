"""Test harness: a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL), the app,
users per role, logged-in clients, a live server and a real Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from app import clock, create_app
from app.accounts import services as accounts
from app.extensions import db

DEMO_PASSWORD = "correct-horse-battery"
_TMP = Path(tempfile.mkdtemp(prefix="offerdesk-tests-"))
DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"


def pytest_report_header(config):
    return [
        f"offerdesk database: {sa.make_url(DATABASE_URL).get_backend_name()} ({DATABASE_URL.split('@')[-1]})"
    ]


def settings_for_tests(**extra) -> dict:
    settings = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SEARCH_INDEX_DIR": str(_TMP / "search_index"),
        "UPLOAD_DIR": str(_TMP / "uploads"),
        "MAIL_SERVER": "",
        "SERVER_NAME": None,
    }
    settings.update(extra)
    return settings


def _reset_schema(app) -> None:
    """Start from an empty database and build it with the migrations, as production does."""
    from flask_migrate import upgrade

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with engine.begin() as connection:
                connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context (own g, own database session), as in production,
    instead of borrowing the test's context; the test's session is expired afterwards so it
    reads what the request committed."""

    def open(self, *args, **kwargs):
        db.session.commit()  # the test's own unit of work ends before the request's begins
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response


@pytest.fixture(scope="session")
def app():
    application = create_app(settings_for_tests())
    application.test_client_class = IsolatedClient
    _reset_schema(application)
    return application


def _truncate_all() -> None:
    """Empty every table (children first). DELETE is much faster than TRUNCATE on small
    PostgreSQL tables, and works the same on SQLite."""
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        for table in tables:
            # A tree (categories.parent_id, ON DELETE RESTRICT) refuses to lose a parent
            # before its children, whatever order rows are deleted in: cut the links first.
            for key in table.foreign_keys:
                if key.column.table is table and key.parent.nullable:
                    connection.execute(
                        table.update()
                        .where(key.parent.is_not(None))
                        .values({key.parent.name: None})
                    )
            connection.execute(table.delete())


@pytest.fixture(autouse=True)
def clean_db(app):
    """Each test runs in a fresh app context on empty tables."""
    with app.app_context():
        yield
        db.session.remove()
        _truncate_all()
    clock.freeze(None)


@pytest.fixture
def make_user(app):
    counter = iter(range(1, 100_000))

    def factory(
        *roles: str,
        groups: tuple[str, ...] = (),
        tier: int | None = None,
        email: str | None = None,
        name: str | None = None,
        password: str = DEMO_PASSWORD,
    ):
        number = next(counter)
        group_ids = [
            (accounts.find_group_by_name(group) or accounts.save_group(None, name=group)).id
            for group in groups
        ]
        roles = roles or ("consumer",)
        if "support_agent" in roles and tier is None:
            tier = 1
        return accounts.create_user(
            None,
            email=email or f"{'-'.join(roles)}{number}@example.test",
            name=name or f"{roles[0].replace('_', ' ').title()} {number}",
            password=password,
            roles=roles,
            group_ids=group_ids,
            support_tier=tier,
        )

    return factory


@pytest.fixture
def users(make_user):
    """One user per role; consumers in two groups."""
    return {
        "admin": make_user("admin"),
        "catalog_manager": make_user("catalog_manager"),
        "product_manager": make_user("product_manager"),
        "support_agent": make_user("support_agent", tier=1),
        "consumer": make_user("consumer", groups=("Finance",)),
        "other_consumer": make_user("consumer", groups=("Engineering",)),
    }


def login(client, user, password: str = DEMO_PASSWORD):
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.data[:500]
    return client


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def client_as(app, users):
    """client_as("admin") → a test client logged in as that role's user."""

    def factory(role: str):
        return login(app.test_client(), users[role])

    return factory


def token_for(user, label: str = "test") -> str:
    _, plaintext = accounts.create_token(None, user.id, label)
    return plaintext


@pytest.fixture
def api(app):
    """api(token).get(path) etc. with the bearer header set."""

    class ApiClient:
        def __init__(self, token: str | None):
            self.client = app.test_client()
            self.headers = {"Authorization": f"Bearer {token}"} if token else {}

        def __getattr__(self, method):
            call = getattr(self.client, method)
            return lambda path, **kwargs: call(
                path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs
            )

    return ApiClient


@contextmanager
def count_queries():
    """with count_queries() as queries: ...; len(queries) is the SQL statements run."""
    statements: list[str] = []

    def before_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before_execute)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before_execute)


@pytest.fixture
def queries():
    return count_queries


# --- live server and browser ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over HTTP on loopback, in a thread, for the browser."""
    server_app = create_app(settings_for_tests(WTF_CSRF_ENABLED=True))
    port = _free_port()
    server = make_server("127.0.0.1", port, server_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server_app.url = f"http://127.0.0.1:{port}"
    yield server_app
    server.shutdown()


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright. A missing browser is an error, never a skip."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: run `make test`, which installs it.")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def browser_login(page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
