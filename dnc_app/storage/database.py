"""Engine set-up: SQLite tuned for a threaded server; PostgreSQL with a connection pool."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.exc import DBAPIError

from dnc_app.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLite copies its WAL back into the database file in the commit that crosses this many
# pages (its wal_autocheckpoint; 1,000 by default): fewer, larger checkpoints, each page
# copied once however often it changed meanwhile, and a write of 1,000 entries (thousands
# of pages) checkpointing once rather than at every thousand pages.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
# PostgreSQL: how much a GIN index may hold of new entries before they are merged into it.
GIN_PENDING_LIST_LIMIT = "64kB"

# SQLite takes one writer at a time. Threads of one process queue for it on this lock:
# a fast hand-over, where SQLite's own busy handler polls with sleeps of up to 100 ms
# (a p99 of 235 ms at 8 concurrent writers, against about 10 ms with the lock). Other
# processes on the same file still queue on the busy timeout.
_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_LOCK_HELD = "dnc_sqlite_write_lock"
# SQLite: the page cache of a write transaction of the session (KiB), and the mark of a
# pooled connection that has it.
_SQLITE_WRITE_CACHE_KIB: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
_LARGE_CACHE = "dnc_sqlite_large_cache"
_CONNECTION = "dnc_transaction_connection"


def init_app(app: Flask) -> None:
    # The engine options (pool sizes) come from the configuration (config.engine_options).
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(
                engine, app.config["SQLITE_SYNCHRONOUS"], app.config["SQLITE_WRITE_CACHE_MIB"]
            )
            _SQLITE_WRITE_LOCKS.setdefault(engine, threading.Lock())
        elif engine.dialect.name == "postgresql":
            _configure_postgresql(engine)


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Set once per connection, not per request (migration 0018):
        # - No JIT compilation: it pays on long analytic queries, and costs 50-100 ms on a
        #   search that reads the index bucket by bucket, whose estimated cost is high (its
        #   key function is declared costly, so that the planner reads the index) while it
        #   runs in 1-2 ms.
        # - A small GIN pending list: every index scan reads it whole, once per bucket.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        dbapi_connection.execute(
            f"SET jit = off; SET gin_pending_list_limit = '{GIN_PENDING_LIST_LIMIT}'"
        )
        dbapi_connection.autocommit = autocommit


def _configure_sqlite(engine: Engine, synchronous: str, write_cache_mib: int) -> None:
    if synchronous not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA, not {synchronous!r}")

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Take transaction control from the sqlite3 module so that we emit BEGIN
        # ourselves (below): writes need BEGIN IMMEDIATE to queue on the busy timeout
        # instead of failing with "database is locked".
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL (the default): with WAL, a committed write survives a crash or kill of
        # the server; only the host losing power can lose the last commits. FULL also
        # survives that, at one fsync per commit (~4 ms on a typical cloud disk).
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        # Freed cells and pages are zeroed, not left holding old rows: an erased person's
        # URL must leave the file, not only the table (dnc_app/domain/entries/erasure.py).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    _SQLITE_WRITE_CACHE_KIB[engine] = int(write_cache_mib) * 1024

    @event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection, record):
        # A write's large page cache (begin_write) goes back to SQLite's default with the
        # connection, which frees its memory: only the one writer at a time holds it.
        if record is not None and record.info.pop(_LARGE_CACHE, False):
            dbapi_connection.execute("PRAGMA cache_size=-2000")

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:  # None: one statement in autocommit mode (read_one)
            # On the DBAPI connection: Core's statement machinery costs more than BEGIN.
            # Its errors are wrapped as Core wraps them (a locked database is a 503).
            begin = f"BEGIN {mode}"
            try:
                conn.connection.driver_connection.execute(begin)
            except sqlite3.Error as exc:
                raise DBAPIError.instance(
                    begin, (), exc, sqlite3.Error, dialect=conn.dialect
                ) from exc


def read_one(statement, params: dict):
    """The first row of one read statement, or None.

    Within the session's transaction when it has one (a request that already read or
    wrote sees its own state); otherwise on a pooled connection outside the session: a
    single statement needs no transaction on SQLite (autocommit mode reads one
    consistent snapshot), so neither BEGIN nor the session's bookkeeping is paid on the
    hot path (check).
    """
    if session_in_transaction():
        return db.session.connection().execute(statement, params).first()
    engine = db.engine
    prepared = _prepared(engine, statement)
    # PostgreSQL: the statement in autocommit mode is its own snapshot, one round trip
    # instead of three (BEGIN, SELECT, and the pool's ROLLBACK). Switched back before the
    # connection returns to the pool; on any error the connection is discarded.
    autocommit = engine.dialect.name == "postgresql"
    try:
        # The pool hands out the driver's own errors (a failed connect) unwrapped.
        fairy = engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error:
        return _read_one_through_sqlalchemy(engine, statement, params)
    driver: Any = fairy.driver_connection  # the checked-out connection: never None
    try:
        if autocommit:
            driver.autocommit = True
        cursor = fairy.cursor()
        cursor.execute(prepared.sql, prepared.parameters(params))
        row = cursor.fetchone()
        cursor.close()
        if autocommit:
            driver.autocommit = False
    except engine.dialect.loaded_dbapi.Error:
        # Whatever went wrong (a lost connection, a restart), the SQLAlchemy path below
        # answers it as everywhere else: wrapped errors (a 503), pool invalidation.
        fairy.invalidate()
        fairy.close()
        return _read_one_through_sqlalchemy(engine, statement, params)
    fairy.close()
    return None if row is None else prepared.row(row)


def _read_one_through_sqlalchemy(engine: Engine, statement, params: dict):
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection = connection.execution_options(sqlite_begin=None)
        return connection.execute(statement, params).first()


def run(statement, params: dict | list[dict]) -> list:
    """Run a statement built once in the write in progress (write_outside_session's, else
    the session's transaction), straight on the DBAPI cursor of its connection; the rows it
    returns (RETURNING), as Core would give them.
    A list of parameter sets runs it once per set (executemany, no rows).

    The write path's statements (an add: the team lock, the insert, the change log's
    two): SQLAlchemy's per-statement machinery cost more than the SQL on SQLite. Errors
    are wrapped as Core wraps them (so a locked database is still a 503), a lost
    connection is invalidated, and the engine's cursor events still fire (tests count
    statements with them).
    """
    outside: OutsideWrite | None = _OUTSIDE_SESSION.get()
    connection = None
    if outside is not None:
        engine, fairy = outside.engine, outside.fairy
    else:
        connection = _transaction_connection()
        engine, fairy = connection.engine, connection.connection
    # An INSERT's SQL depends on the columns given: compiled per set of keys.
    values: Any
    if isinstance(params, list):
        many = True
        prepared = _prepared(engine, statement, tuple(params[0]))
        values = [prepared.parameters(p) for p in params]
    else:
        many = False
        prepared = _prepared(engine, statement, tuple(params))
        values = prepared.parameters(params)
    sql = prepared.sql
    dbapi = engine.dialect.loaded_dbapi
    try:
        cursor = fairy.cursor()
    except dbapi.Error as exc:  # a connection closed under us: wrapped, as Core does
        raise DBAPIError.instance(sql, values, exc, dbapi.Error, dialect=engine.dialect) from exc
    # The connection's cursor listeners (the engine's included); usually none. Outside
    # the session there is no Connection: the engine's listeners get None for it.
    dispatch = engine.dispatch if connection is None else connection.dispatch
    for listener in dispatch.before_cursor_execute:
        listener(connection, cursor, sql, values, None, many)
    try:
        if many:
            cursor.executemany(sql, values)
            rows: list[Any] = []
        else:
            cursor.execute(sql, values)
            rows = cursor.fetchall() if cursor.description else []
    except dbapi.Error as exc:
        lost = engine.dialect.is_disconnect(exc, fairy, cursor)
        cursor.close()
        if lost:
            (fairy if connection is None else connection).invalidate(exc)
        raise DBAPIError.instance(
            sql, values, exc, dbapi.Error, connection_invalidated=lost, dialect=engine.dialect
        ) from exc
    for listener in dispatch.after_cursor_execute:
        listener(connection, cursor, sql, values, None, many)
    cursor.close()
    return [prepared.row(row) for row in rows]


# The connection of a write_outside_session() in progress, where run() executes.
_OUTSIDE_SESSION: ContextVar[OutsideWrite | None] = ContextVar(
    "dnc_write_outside_session", default=None
)


def session_in_transaction() -> bool:
    # registry.has(): asking db.session() would create a session only to find it idle.
    return db.session.registry.has() and db.session().in_transaction()


class OutsideWrite:
    """The transaction of a write_outside_session(): a pooled DBAPI connection holding
    BEGIN IMMEDIATE, where run() executes. Ended by commit() or rollback() (or by the
    context manager). Errors are wrapped as Core wraps them (a locked database is a 503)."""

    __slots__ = ("engine", "fairy", "is_active")

    def __init__(self, engine: Engine, fairy: Any):
        self.engine = engine
        self.fairy = fairy
        self.is_active = False

    def _execute(self, name: str, action: Callable[[], object]) -> None:
        try:
            action()
        except sqlite3.Error as exc:
            raise DBAPIError.instance(
                name, (), exc, sqlite3.Error, dialect=self.engine.dialect
            ) from exc

    def begin(self) -> None:
        driver = self.fairy.driver_connection
        self._execute("BEGIN IMMEDIATE", lambda: driver.execute("BEGIN IMMEDIATE"))
        self.is_active = True

    def commit(self) -> None:
        self.is_active = False
        self._execute("COMMIT", self.fairy.driver_connection.commit)

    def rollback(self) -> None:
        self.is_active = False
        driver = self.fairy.driver_connection
        if driver is not None:  # None once invalidated (a lost connection): nothing open
            self._execute("ROLLBACK", driver.rollback)


@contextmanager
def write_outside_session() -> Iterator[OutsideWrite]:
    """SQLite: a write transaction (BEGIN IMMEDIATE, queued on this process's write lock
    like begin_write) on a pooled DBAPI connection outside the session, for run()'s
    statements; yields it, committed at the end unless the caller ended it, rolled back
    on an exception. An add's SQL costs less than the session's transaction machinery,
    and less than Core's Connection and transaction objects too. Only when the session
    holds no transaction (it might hold the write lock)."""
    engine = db.engine
    lock = _SQLITE_WRITE_LOCKS[engine]
    # Without the lock after the busy timeout, BEGIN IMMEDIATE still waits its turn.
    held = lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        try:
            fairy = engine.raw_connection()
        except sqlite3.Error as exc:  # the pool hands out the driver's own error
            raise DBAPIError.instance(
                "connect", (), exc, sqlite3.Error, dialect=engine.dialect
            ) from exc
        transaction = OutsideWrite(engine, fairy)
        try:
            transaction.begin()
            token = _OUTSIDE_SESSION.set(transaction)
            try:
                yield transaction
                if transaction.is_active:
                    transaction.commit()
            except BaseException:
                if transaction.is_active:
                    try:
                        transaction.rollback()
                    except DBAPIError:
                        # The connection is unusable (the error being raised says why):
                        # not back to the pool.
                        fairy.invalidate()
                raise
            finally:
                _OUTSIDE_SESSION.reset(token)
        finally:
            # Back to the pool, which resets it (a rollback: nothing left open).
            fairy.close()
    finally:
        if held:
            lock.release()


def _transaction_connection():
    """The connection of the session's write in progress, begun if need be and kept for
    the rest of its transaction (asking the session costs more than an SQLite statement)."""
    session = db.session()
    connection = session.info.get(_CONNECTION)
    if connection is None or connection.closed or not connection.in_transaction():
        connection = session.info[_CONNECTION] = session.connection()
    return connection


class _Prepared:
    """A statement compiled once per engine, for the DBAPI cursor: its SQL (the driver
    keeps it prepared: sqlite3's statement cache, psycopg's automatic prepare), its
    parameters in the driver's style, and its types' own bind and result processors (e.g.
    timestamps read back as aware UTC), so rows are exactly what Core returns. An INSERT
    is compiled for the columns given (`column_keys`); column defaults are not applied.
    Only public interfaces: the compiled statement's SQL, `binds` and `positiontup`, the
    statement's `exported_columns`, and each type's `bind_processor`/`result_processor`."""

    def __init__(self, engine: Engine, statement, column_keys: tuple[str, ...] | None = None):
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = str(compiled)
        self.positions = tuple(compiled.positiontup or ()) if dialect.positional else None
        self.bind_processors = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.bind_processors[name] = process
        # Values written into the statement itself (`column == "x"`), as Core sends them.
        self.literals = {
            name: bind.value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.callable is None
        }
        columns = list(statement.exported_columns)  # a SELECT's, or the RETURNING ones
        self.keys = [column.name for column in columns]
        self.processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self.row_class = _row_class(self.keys)

    def parameters(self, params: dict):
        if self.literals:
            params = {**self.literals, **params}
        if self.bind_processors:
            params = {
                name: self.bind_processors[name](value) if name in self.bind_processors else value
                for name, value in params.items()
            }
        if self.positions is None:
            return params
        return tuple(params[name] for name in self.positions)

    def row(self, values):
        return self.row_class(
            *(
                value if process is None else process(value)
                for process, value in zip(self.processors, values, strict=True)
            )
        )


def _row_class(keys: list[str]) -> Callable[..., tuple[Any, ...]]:
    """Rows with attribute access by column name, like Core's."""
    make: Callable[..., Callable[..., tuple[Any, ...]]] = namedtuple
    return make("Row", keys, rename=True)


_PREPARED: weakref.WeakKeyDictionary[Engine, dict[tuple, tuple[object, _Prepared]]] = (
    weakref.WeakKeyDictionary()
)


def _prepared(engine: Engine, statement, column_keys: tuple[str, ...] | None = None) -> _Prepared:
    # Callers pass statements built once; each is kept with its compiled form, so its
    # id cannot be reused by another statement.
    statements = _PREPARED.setdefault(engine, {})
    key = (id(statement), column_keys)
    known = statements.get(key)
    if known is None or known[0] is not statement:
        known = statements[key] = (statement, _Prepared(engine, statement, column_keys))
    return known[1]


def rows_matched(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (its result is a CursorResult)."""
    assert isinstance(result, CursorResult)
    return result.rowcount


def begin_write() -> None:
    """Start a fresh write transaction; call before the first statement of any write.

    An SQLite read snapshot cannot be upgraded to a write once another connection has
    committed (it fails at once with "database is locked", whatever the busy timeout),
    so the caller's read transaction is ended first and the write starts with BEGIN
    IMMEDIATE, which queues on the busy timeout instead. On PostgreSQL the transaction
    goes on (or begins with the first statement).
    """
    session = db.session()
    lock = _SQLITE_WRITE_LOCKS.get(db.engine)
    if lock is None:
        # PostgreSQL (READ COMMITTED): a read transaction may simply go on to write;
        # ending it and beginning another would cost two round trips.
        return
    if session.in_transaction():
        session.commit()
    # Without the lock after the busy timeout, BEGIN IMMEDIATE still waits its turn.
    if lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
        session.info[_LOCK_HELD] = lock
    connection = session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    # SQLite's default page cache (2 MiB) is smaller than what a write of many entries
    # changes (a leaf of each index per entry: thousands of pages for 1,000): past it,
    # changed pages are spilled to the WAL mid-transaction and written again at the commit.
    # The writes of the session (batches, removals, imports) get SQLITE_WRITE_CACHE_MIB
    # until their connection goes back to the pool (on_checkin above).
    fairy = connection.connection
    if not fairy.info.get(_LARGE_CACHE):
        kib = _SQLITE_WRITE_CACHE_KIB.get(connection.engine)
        driver: Any = fairy.driver_connection  # checked out: never None
        if kib:
            driver.execute(f"PRAGMA cache_size=-{kib}")
            fairy.info[_LARGE_CACHE] = True


@event.listens_for(db.session, "after_transaction_end")
def _release_sqlite_write_lock(session, transaction) -> None:
    # The outermost transaction ended (commit, rollback or close, after the database's
    # own commit or rollback): the next writer may begin.
    if transaction.parent is None:
        session.info.pop(_CONNECTION, None)
        lock = session.info.pop(_LOCK_HELD, None)
        if lock is not None:
            lock.release()
