"""Test harness: a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL), the app,
users per role, logged-in clients, a live server and a real Chromium driven by Playwright.

Isolation: each test runs inside a SAVEPOINT that is rolled back, unless it is marked
`@pytest.mark.committed` (browser tests are, implicitly): then it commits for real and every
table is emptied afterwards. What needs which, and the guards, are in tests/isolation.py.
Fixtures decorated with `module_world` build their data once per module.

Under pytest-xdist each worker has its own SQLite file and search index folder (a temporary
folder per process), or its own PostgreSQL database cloned from a template migrated once."""

from __future__ import annotations

import fcntl
import functools
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
from app.accounts.models import SYSTEM
from app.config import ROOT
from app.extensions import db
from tests.i18n.catalog import compile_catalogs
from tests.isolation import Isolation, NeedsCommitted, refuse_processes

DEMO_PASSWORD = "correct-horse-battery"
_TMP = Path(tempfile.mkdtemp(prefix="offerdesk-tests-"))
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
SERVER_URL = os.environ.get("TEST_DATABASE_URL")
DATABASE_URL = (
    sa.make_url(SERVER_URL)
    .set(database=f"{sa.make_url(SERVER_URL).database}_{WORKER}")
    .render_as_string(hide_password=False)
    if SERVER_URL
    else f"sqlite:///{_TMP / 'test.db'}"
)


def pytest_configure(config):
    """The German catalog compiled, as `make test` does, for a run started without make (the
    controller compiles before the workers start; each .mo is written whole, then renamed)."""
    if not hasattr(config, "workerinput"):
        compile_catalogs()


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


def _migrate(app) -> None:
    """Build the schema with the migrations, as production does."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        db.engine.dispose()


def _reset_schema(app) -> None:
    """Start from an empty database: on SQLite this process's file, migrated; on PostgreSQL a
    database of this worker's own, cloned from a template migrated once per server."""
    if SERVER_URL:
        _clone_postgres_template()
        return
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    _migrate(app)


def _clone_postgres_template() -> None:
    from alembic.script import ScriptDirectory

    server = sa.make_url(SERVER_URL)
    template = f"{server.database}_template"
    heads = set(ScriptDirectory(str(ROOT / "migrations")).get_heads())
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    lock_file = Path(tempfile.gettempdir()) / (
        f"offerdesk-tests-{server.host}-{server.port}-{server.database}.lock"
    )
    with open(lock_file, "w") as lock, admin.connect() as connection:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker migrates; clones wait for the template
        if _migrated_to(server.set(database=template)) != heads:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{template}"'))
            connection.execute(sa.text(f'CREATE DATABASE "{template}"'))
            url = server.set(database=template).render_as_string(hide_password=False)
            _migrate(create_app(settings_for_tests(SQLALCHEMY_DATABASE_URI=url)))
        mine = sa.make_url(DATABASE_URL).database
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{mine}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{mine}" TEMPLATE "{template}"'))
    admin.dispose()


def _migrated_to(url) -> set[str] | None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return set(connection.scalars(sa.text("SELECT version_num FROM alembic_version")))
    except sa.exc.DBAPIError:
        return None
    finally:
        engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context (own g, own database session), as in production,
    instead of borrowing the test's context; the test's session is expired afterwards so it
    reads what the request committed."""

    def open(self, *args, **kwargs):
        if _ISOLATION is not None:
            _ISOLATION.before_request()
        else:
            db.session.commit()  # the test's own unit of work ends before the request's begins
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response


_ISOLATION: Isolation | None = None


@pytest.fixture(scope="session")
def app():
    application = create_app(settings_for_tests())
    application.test_client_class = IsolatedClient
    _reset_schema(application)
    return application


@pytest.fixture(scope="session")
def isolation(app):
    global _ISOLATION
    _ISOLATION = Isolation(app)
    yield _ISOLATION
    _ISOLATION.finish()
    _ISOLATION = None


def needs_commits(node) -> bool:
    return any(node.get_closest_marker(name) for name in ("committed", "browser"))


def _truncate_all() -> None:
    """Empty every table (children first). DELETE is much faster than TRUNCATE on small
    PostgreSQL tables, and works the same on SQLite. In SAVEPOINT mode, inside the test's."""
    bind = db.engine
    if isinstance(bind, sa.Connection):
        with bind.begin_nested():
            _delete_rows(bind)
    else:
        with bind.begin() as connection:
            _delete_rows(connection)


def _delete_rows(connection) -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    for table in tables:
        # A tree (categories.parent_id, ON DELETE RESTRICT) refuses to lose a parent
        # before its children, whatever order rows are deleted in: cut the links first.
        for key in table.foreign_keys:
            if key.column.table is table and key.parent.nullable:
                connection.execute(
                    table.update().where(key.parent.is_not(None)).values({key.parent.name: None})
                )
        connection.execute(table.delete())


@pytest.fixture(autouse=True)
def clean_db(app, isolation, request, monkeypatch):
    """Each test runs in a fresh app context on empty tables (but for its module worlds)."""
    committed = needs_commits(request.node)
    isolation.start_test(
        str(request.node.path),
        request.fixturenames,
        committed=committed,
        caching="search_index" not in request.fixturenames,  # the index is rebuilt per test
    )
    if not committed:
        refuse_processes(monkeypatch)
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()
            if committed:
                _truncate_all()
            isolation.end_test()
    clock.freeze(None)


def module_world(function):
    """A function-scoped fixture whose data is built once per module, in SAVEPOINT mode: the
    first test that needs it builds it under a SAVEPOINT that the tests' rollbacks keep, the
    next ones get the same rows (ORM objects loaded again in their own session) along with the
    clock and user numbering as they were after the build. Rebuilt for each test in COMMITTED
    mode, and when a test needs a different set of worlds (or a different frozen clock). Only for
    fixtures that build the same data whatever the test, from other module worlds."""

    @pytest.fixture
    @functools.wraps(function)
    def fixture(*args, **kwargs):
        return _ISOLATION.world(function.__name__, lambda: function(*args, **kwargs))

    return fixture


@pytest.fixture
def make_user(app, isolation):
    def factory(
        *roles: str,
        groups: tuple[str, ...] = (),
        tier: int | None = None,
        email: str | None = None,
        name: str | None = None,
        password: str = DEMO_PASSWORD,
    ):
        number = isolation.next_number("user")
        group_ids = [
            (accounts.find_group_by_name(group) or accounts.save_group(SYSTEM, name=group)).id
            for group in groups
        ]
        roles = roles or ("consumer",)
        if "support_agent" in roles and tier is None:
            tier = 1
        user = accounts.create_user(
            SYSTEM,
            email=email or f"{'-'.join(roles)}{number}@example.test",
            name=name or f"{roles[0].replace('_', ' ').title()} {number}",
            password=password,
            roles=roles,
            group_ids=group_ids,
            support_tier=tier,
        )
        db.session.commit()  # a no-op for services that commit, the commit for those that flush
        return user

    return factory


@module_world
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


def login(client, user, password: str | None = None):
    """Log the client in as `user` by writing the session a successful log-in leaves (Flask-Login's
    keys). Given a password, through the log-in form instead: for tests of log-in itself."""
    if password is not None:
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.data[:500]
        return client
    assert user.active, f"{user.email} is deactivated: log-in would refuse it"
    app = client.application
    with app.test_request_context(environ_base=client.environ_base):
        identifier = app.login_manager._session_identifier_generator()
    with client.session_transaction() as session:
        session.clear()
        session.update({"_user_id": user.get_id(), "_fresh": True, "_id": identifier})
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
    _, plaintext = accounts.create_token(SYSTEM, user.id, label)
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
    """with count_queries() as queries: ...; len(queries) is the SQL statements run (read it
    after the block: the harness's own SAVEPOINT statements are left out there)."""
    statements: list[str] = []

    def before_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = _ISOLATION.engine if _ISOLATION is not None else db.engine
    sa.event.listen(engine, "before_cursor_execute", before_execute)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before_execute)
        if _ISOLATION is not None:
            statements[:] = [s for s in statements if not _ISOLATION.harness_statement(s)]


@pytest.fixture
def queries():
    return count_queries


# --- live server and browser ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(_live_server, isolation):
    """The app served over HTTP on loopback, in a thread, for the browser: it sees only what is
    committed, so only tests in COMMITTED mode may use it."""
    if isolation.mode != "committed":
        raise NeedsCommitted("the live server needs @pytest.mark.committed (or browser)")
    return _live_server


@pytest.fixture(scope="session")
def _live_server(app):
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


@pytest.fixture(autouse=True)
def accessibility_pass(request, monkeypatch):
    """Every page state a browser test visits passes axe's WCAG 2.1 AA rules and is no wider
    than its viewport (tests/browser/accessibility.py); the test fails at teardown otherwise."""
    if "browser" not in request.fixturenames:
        yield None
        return
    from tests.browser.accessibility import Checker, watch_browser

    served = "_live_server" in request.fixturenames
    origin = request.getfixturevalue("_live_server").url if served else ""
    checker = Checker(request.node.nodeid, origin=origin)
    watch_browser(request.getfixturevalue("browser"), checker, monkeypatch)
    yield checker
    failure = checker.finish()
    if failure:
        pytest.fail(failure, pytrace=False)


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
