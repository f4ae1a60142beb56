"""Engine set-up: SQLite tuned for a threaded server; PostgreSQL with a connection pool."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_POOL_SIZE = 16


def init_app(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        # A pooled connection per server thread: below that, connections are opened and
        # closed (with their PRAGMAs) on every request beyond the pool's size.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": SQLITE_POOL_SIZE,
                                                   "max_overflow": 16}
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, app.config["SQLITE_SYNCHRONOUS"])


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
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
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def begin_write() -> None:
    """Start a fresh write transaction; call before the first statement of any write.

    An SQLite read snapshot cannot be upgraded to a write once another connection has
    committed (it fails at once with "database is locked", whatever the busy timeout),
    so the caller's read transaction is ended first and the write starts with BEGIN
    IMMEDIATE, which queues on the busy timeout instead. On PostgreSQL this is a plain
    BEGIN.
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
