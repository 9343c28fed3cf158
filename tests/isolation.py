"""How tests are kept apart: SAVEPOINTs on one connection by default, real commits on request.

SAVEPOINT mode (the default). One connection, opened on the test app's engine, holds an outer
transaction for the whole module. Every session the app makes (the test's, each request's, the
search index's own) is bound to that connection and joins it with a SAVEPOINT, so a service's
commit is a RELEASE and a test ends with one ROLLBACK. Data that a fixture builds the same way
for every test (see `module_world`) is built once per module under a SAVEPOINT of its own and
survives the tests' rollbacks.

COMMITTED mode (`@pytest.mark.committed`, implied by `@pytest.mark.browser`). The app's real
engine, real commits, and every table emptied after the test. Needed by anything that reaches the
database by another path than this one connection: the live server and other threads, other
processes, second connections or apps on the test database, and any test of concurrency. In
SAVEPOINT mode those paths fail at once (a RuntimeError naming the marker), never silently."""

from __future__ import annotations

import multiprocessing.process
import subprocess
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app import clock
from app.extensions import db

NEEDS_COMMITTED = (
    "this test reaches the test database from {what}, which cannot see the test's SAVEPOINT: "
    "mark it @pytest.mark.committed (see tests/isolation.py)"
)
WRITES = ("insert", "update", "delete", "replace")
SAVEPOINT_WORDS = {"SAVEPOINT", "RELEASE", "ROLLBACK"}


class NeedsCommitted(RuntimeError):
    pass


@dataclass
class Level:
    """The data one `module_world` fixture built, kept under its own SAVEPOINT."""

    key: tuple
    savepoint: sa.NestedTransaction
    value: object = None
    clock_after: object = None
    counters: dict = field(default_factory=dict)


class Isolation:
    """One per test process: the engine, the shared connection and the module's worlds."""

    def __init__(self, app) -> None:
        self.app = app
        with app.app_context():
            self.engine: Engine = db.engine
        self.url = self.engine.url
        self.connection: Connection | None = None
        self.outer: sa.RootTransaction | None = None
        self.module: str | None = None
        self.levels: list[Level] = []
        self.test_savepoint: sa.NestedTransaction | None = None
        self.position = 0
        self.counters: dict[str, int] = {}
        self.mode: str | None = None
        self.caching = False
        self.wrote = False
        self.join_savepoints: set[str] = set()
        self._connecting = False
        self._owner = threading.get_ident()
        sa.event.listen(self.engine, "begin", self._begin)
        sa.event.listen(self.engine, "before_cursor_execute", self._before_execute)
        sa.event.listen(Engine, "engine_connect", self._other_connection)
        sa.event.listen(sa.orm.Session, "after_begin", self._session_began)

    # --- per test ------------------------------------------------------------------------

    def start_test(self, module: str, fixturenames, *, committed: bool, caching: bool) -> None:
        self.counters = {}
        self.position = 0
        if committed:
            self.mode = "committed"
            self._close_connection()
            return
        self.mode = "savepoint"
        self.caching = caching
        if self.connection is None:
            self._open_connection()
        if self.module != module:
            # a new outer transaction per module keeps PostgreSQL's count of subtransactions low
            self._drop_levels(0)
            self.outer.rollback()
            self.outer = self.connection.begin()
            self.module = module
        needed = set(fixturenames) if caching else set()
        keep = 0
        while keep < len(self.levels) and self.levels[keep].key[0] in needed:
            keep += 1
        self._drop_levels(keep)
        self._open_test_savepoint()

    def end_test(self) -> None:
        if self.mode == "savepoint" and self.test_savepoint is not None:
            if self.test_savepoint.is_active:
                self.test_savepoint.rollback()
            self.test_savepoint = None
        self.mode = None

    def finish(self) -> None:
        self._close_connection()
        sa.event.remove(Engine, "engine_connect", self._other_connection)
        sa.event.remove(sa.orm.Session, "after_begin", self._session_began)

    def harness_statement(self, statement: str) -> bool:
        """SAVEPOINT, RELEASE or ROLLBACK TO of a session joining the connection: where the app
        would BEGIN on a connection of its own (no statement), so not one of the app's queries.
        Savepoints the app asks for (begin_nested) stay counted."""
        words = statement.split()
        return bool(words) and words[-1] in self.join_savepoints and words[0] in SAVEPOINT_WORDS

    def before_request(self) -> None:
        """A request is another unit of work: what the test's session has done is committed
        first, as a caller that goes on would (services that only flush leave it pending), and so
        that a later rollback of the test's session cannot undo the request's commit."""
        transaction = db.session().get_transaction()
        if transaction is None:
            return
        if transaction.is_active:
            db.session.commit()
        else:
            db.session.rollback()

    def next_number(self, counter: str) -> int:
        self.counters[counter] = self.counters.get(counter, 0) + 1
        return self.counters[counter]

    # --- module worlds -------------------------------------------------------------------

    def world(self, name: str, build):
        if self.mode != "savepoint" or not self.caching:
            value = build()
            db.session.commit()
            return value
        key = (name, clock._frozen)
        index = self.position
        if index < len(self.levels) and self.levels[index].key == key:
            level = self.levels[index]
        else:
            if self.wrote:
                raise RuntimeError(
                    f"module world {name!r} is built after a fixture that wrote to the database: "
                    "make that fixture a module_world too, or request it after this one"
                )
            db.session.commit()
            self.test_savepoint.rollback()
            self._drop_levels(index)
            level = Level(key, self.connection.begin_nested())
            level.value = _freeze(build())
            db.session.commit()
            level.clock_after = clock._frozen
            level.counters = dict(self.counters)
            self.levels.append(level)
            self._open_test_savepoint()
        self.position = index + 1
        clock.freeze(level.clock_after)
        self.counters = dict(level.counters)
        return _thaw(level.value)

    # --- the connection ------------------------------------------------------------------

    def _open_connection(self) -> None:
        self._connecting = True
        try:
            connection = self.engine.connect()
        finally:
            self._connecting = False
        if connection.dialect.name == "sqlite":
            # SQLAlchemy's recipe for SAVEPOINT with pysqlite: the driver's own transaction
            # handling off, BEGIN emitted by the "begin" event (self._begin).
            connection.connection.dbapi_connection.isolation_level = None
        self.connection = connection
        self.outer = connection.begin()
        self.app.extensions["sqlalchemy"]._app_engines[self.app][None] = connection
        db.session.session_factory.kw["join_transaction_mode"] = "create_savepoint"

    def _close_connection(self) -> None:
        self.levels = []
        self.test_savepoint = None
        self.module = None
        if self.connection is None:
            return
        self.app.extensions["sqlalchemy"]._app_engines[self.app][None] = self.engine
        db.session.session_factory.kw.pop("join_transaction_mode", None)
        connection, self.connection = self.connection, None
        self.outer.rollback()
        if connection.dialect.name == "sqlite":
            connection.connection.dbapi_connection.isolation_level = ""
        connection.close()

    def _open_test_savepoint(self) -> None:
        self.test_savepoint = self.connection.begin_nested()
        self.wrote = False

    def _drop_levels(self, keep: int) -> None:
        for level in reversed(self.levels[keep:]):
            level.savepoint.rollback()
        del self.levels[keep:]

    # --- guards and the SQLite recipe ----------------------------------------------------

    def _begin(self, connection) -> None:
        if connection is self.connection and connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN")

    def _session_began(self, session, transaction, connection) -> None:
        if connection is self.connection and transaction.parent is None and not transaction.nested:
            self.join_savepoints.add(connection.get_nested_transaction()._savepoint)

    def _before_execute(self, connection, cursor, statement, parameters, context, many):
        if connection is not self.connection:
            return
        if threading.get_ident() != self._owner:
            raise NeedsCommitted(NEEDS_COMMITTED.format(what="another thread"))
        if statement.lstrip()[:7].lower().startswith(WRITES):
            self.wrote = True

    def _other_connection(self, connection) -> None:
        if self.mode != "savepoint" or self._connecting:
            return
        url = connection.engine.url
        if url.get_backend_name() == self.url.get_backend_name() and (
            url.database,
            url.host,
            url.port,
        ) == (self.url.database, self.url.host, self.url.port):
            raise NeedsCommitted(NEEDS_COMMITTED.format(what="a second connection"))


def refuse_processes(monkeypatch) -> None:
    """In SAVEPOINT mode another process would not see the test's data: refuse to start one."""

    def refuse(*args, **kwargs):
        raise NeedsCommitted(NEEDS_COMMITTED.format(what="another process"))

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)


# --- world values across sessions ----------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    model: type
    identity: tuple


def _freeze(value):
    """ORM objects → (model, primary key), so that each test gets them from its own session."""
    if isinstance(value, dict):
        return {key: _freeze(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_freeze(item) for item in value)
    if isinstance(value, db.Model):
        return _Row(type(value), sa.inspect(value).identity)
    return value


def _thaw(value):
    if isinstance(value, dict):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_thaw(item) for item in value)
    if isinstance(value, _Row):
        return db.session.get(value.model, value.identity)
    return value
