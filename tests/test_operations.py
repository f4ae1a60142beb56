"""Configuration, migrations and the SQLite set-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from dnc_app import config
from dnc_app.extensions import db

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))


def test_database_url_defaults_to_sqlite_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert config._database_url(tmp_path) == f"sqlite:///{tmp_path / 'dnc.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@h/db")
    assert config._database_url(tmp_path) == "postgresql+psycopg://u:p@h/db"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert config._database_url(tmp_path) == "postgresql+psycopg://u@h/db"


def test_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = config._secret_key(tmp_path / "instance")
    assert len(first) >= 43
    assert config._secret_key(tmp_path / "instance") == first
    assert oct((tmp_path / "instance" / "secret_key").stat().st_mode)[-3:] == "600"
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert config._secret_key(tmp_path / "instance") == "from-env"


def test_limits_and_storage_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DNC_WRITE_LIMIT", "5/minute")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:1/0")
    cfg = config.from_environment(tmp_path)
    assert cfg["DNC_WRITE_LIMIT"] == "5/minute"
    assert cfg["DNC_BATCH_LIMIT"] == "10/minute"
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:1/0"
    assert cfg["RATELIMIT_STRATEGY"] == "moving-window"


def test_sqlite_is_set_up_for_a_threaded_server(make_app, tmp_path):
    # Its own SQLite file, so that the PostgreSQL pass checks this too.
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    with app.app_context():
        conn = db.session.connection()
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_sqlite_synchronous_is_configurable(make_app, tmp_path):
    uri = f"sqlite:///{tmp_path / 'sync.sqlite3'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=uri, SQLITE_SYNCHRONOUS="FULL")
    with app.app_context():
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 2
    with pytest.raises(ValueError, match="SQLITE_SYNCHRONOUS"):
        make_app(SQLALCHEMY_DATABASE_URI=uri, SQLITE_SYNCHRONOUS="OFF")


def test_db_upgrade_creates_the_schema_and_models_match_migrations(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
           "SECRET_KEY": "x"}
    upgrade = subprocess.run([FLASK, "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert upgrade.returncode == 0, upgrade.stderr
    check = subprocess.run([FLASK, "--app", "app", "db", "check"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_app_start_creates_no_tables(tmp_path, make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with app.app_context():
        tables = db.session.execute(
            text("SELECT name FROM sqlite_master WHERE type='table'")).scalars().all()
    assert tables == []
