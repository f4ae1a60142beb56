"""`flask --app app db backup PATH`: a consistent copy of the SQLite database while the
service keeps writing.

Copying the file itself can catch a write half-done (or miss what is still in the WAL
file beside it). SQLite's online backup API copies through a connection, inside one read
transaction: the copy is the database as of one moment, and in WAL mode the service's
writers are not blocked meanwhile. It is done in one step on purpose: a copy in several
steps starts over whenever another connection writes, and might never finish on a busy
service. On PostgreSQL the tool for this is pg_dump.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate.cli import db as db_group
from sqlalchemy.engine import make_url

PG_DUMP_HINT = (
    "db backup copies the embedded SQLite database only. This service runs on {dialect}: "
    "back it up with the database's own tools, e.g. for PostgreSQL\n"
    '  pg_dump --format=custom --file=dnc.dump "$DATABASE_URL"\n'
    'and restore with pg_restore --clean --if-exists --dbname="$DATABASE_URL" dnc.dump '
    "(see docs/production.md)."
)


class BackupError(click.ClickException):
    """Printed as "Error: …"; the command exits with 1 and writes nothing."""


def sqlite_path(database_uri: str) -> Path:
    """The file of a SQLite database URI; BackupError for any other database."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite":
        raise BackupError(PG_DUMP_HINT.format(dialect=url.get_backend_name()))
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        raise BackupError("the database is in memory: there is no file to back up")
    return Path(url.database)


def backup_sqlite(source: Path, target: Path, *, force: bool = False) -> int:
    """Copy `source` to `target` (atomically: a temporary file renamed at the end) and
    check the copy. Returns the copy's size in bytes."""
    if not source.is_file():
        raise BackupError(f"no database file at {source}")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; choose another path or pass --force to replace it")
    if target.resolve() == source.resolve():
        raise BackupError("the backup path is the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    try:
        src = sqlite3.connect(source, timeout=30)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # pages=-1: the whole database in one read transaction
            problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
        finally:
            dst.close()
            src.close()
        if problems != ["ok"]:
            raise BackupError(
                "the copy did not pass SQLite's integrity check: " + "; ".join(problems[:5])
            )
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return target.stat().st_size


@db_group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@with_appcontext
def backup_command(path: Path, force: bool) -> None:
    """Write a consistent copy of the SQLite database to PATH (safe while the service
    runs). On PostgreSQL, says to use pg_dump."""
    source = sqlite_path(current_app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        size = backup_sqlite(source, path, force=force)
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed: {exc}") from None
    except OSError as exc:
        # The path cannot be written (a file where a directory should be, no permission,
        # a read-only file system): one line, as for the other refusals, not a traceback.
        raise BackupError(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"Backed up {source} to {path} ({size:,} bytes, integrity check ok).")
