"""Configuration, migrations and the SQLite set-up."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from dnc_app import config
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))


def test_database_url_defaults_to_sqlite_under_instance(tmp_path):
    def url(env: dict[str, str]) -> str:
        return config.Config(env).database_url(tmp_path)

    assert url({}) == f"sqlite:///{tmp_path / 'dnc.sqlite3'}"
    assert url({"DATABASE_URL": "  "}) == f"sqlite:///{tmp_path / 'dnc.sqlite3'}"
    assert url({"DATABASE_URL": "postgres://u:p@h/db"}) == "postgresql+psycopg://u:p@h/db"
    assert url({"DATABASE_URL": " postgresql://u@h/db\n"}) == "postgresql+psycopg://u@h/db"


def test_secret_key_is_generated_once_and_kept(tmp_path):
    def key(env: dict[str, str]) -> str:
        return config.Config(env).secret_key(tmp_path / "instance")

    first = key({})
    assert len(first) >= 43
    assert key({"SECRET_KEY": " "}) == first
    assert oct((tmp_path / "instance" / "secret_key").stat().st_mode)[-3:] == "600"
    assert key({"SECRET_KEY": " from-env "}) == "from-env"


def test_limits_and_storage_come_from_the_environment(monkeypatch, app_from_environment):
    monkeypatch.setenv("DNC_WRITE_LIMIT", "5/minute")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:1/0")
    cfg = app_from_environment().config
    assert cfg["DNC_WRITE_LIMIT"] == "5/minute"
    assert cfg["DNC_BATCH_LIMIT"] == "10/minute"
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:1/0"
    assert cfg["RATELIMIT_STRATEGY"] == "moving-window"


def test_a_test_configuration_reads_no_environment(monkeypatch, make_app):
    for name, value in {
        "SECRET_KEY": "from-env",
        "DATABASE_URL": "postgres://u@nowhere/db",
        "DNC_WRITE_LIMIT": "1/minute",
        "RATELIMIT_STORAGE_URI": "redis://x:1/0",
        "PUBLIC_BASE_URL": "https://from-env.example",
        "LOG_LEVEL": "ERROR",
        "DNC_ENV": "production",
    }.items():
        monkeypatch.setenv(name, value)
    cfg = make_app(DNC_BATCH_LIMIT="3/minute").config
    assert cfg["DNC_ENV"] == "test" and cfg["TESTING"] is True
    assert cfg["SECRET_KEY"] == config.TEST_SECRET_KEY
    assert cfg["PASSWORD_HASH_METHOD"] == config.TEST_PASSWORD_HASH_METHOD
    assert cfg["DNC_WRITE_LIMIT"] == "30/minute" and cfg["DNC_BATCH_LIMIT"] == "3/minute"
    assert cfg["RATELIMIT_STORAGE_URI"] == "memory://"
    assert cfg["PUBLIC_BASE_URL"] is None and cfg["LOG_LEVEL"] == "INFO"


def test_one_reader_of_the_limit_settings_for_the_app_and_gunicorn(
    monkeypatch, app_from_environment
):
    # A blank store is memory:// for both (the app used to get the blank string).
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "  ")
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "4/minute")
    env = dict(os.environ)
    cfg = app_from_environment().config
    read = config.rate_limit_settings(env)
    assert read["RATELIMIT_STORAGE_URI"] == cfg["RATELIMIT_STORAGE_URI"] == "memory://"
    assert {name: cfg[name] for name in read} == read
    assert cfg["LOGIN_RATE_LIMIT"] == "4/minute"
    assert cfg["RATELIMIT_STORAGE_OPTIONS"] == {"wrap_exceptions": True}
    gunicorn_rule = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["multi_process_memory_limits"]
    assert "RATELIMIT_STORAGE_URI=memory://" in gunicorn_rule(2, env)


def test_production_needs_a_shared_key_and_database(monkeypatch, app_from_environment):
    monkeypatch.setenv("DNC_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY is not set or too short"):
        app_from_environment()
    monkeypatch.setenv("SECRET_KEY", "s" * 31)
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        app_from_environment()
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    with pytest.raises(config.ConfigError, match="DATABASE_URL is not set"):
        app_from_environment()
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.internal/dnc")
    cfg = app_from_environment().config
    assert cfg["DNC_ENV"] == "production" and cfg["SECRET_KEY"] == "s" * 32
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.internal/dnc"
    # No ping per checkout (issue 12): stale connections are recycled, broken ones
    # invalidated on their first error (tests/test_load_faults.py restarts PostgreSQL).
    assert "pool_pre_ping" not in cfg["SQLALCHEMY_ENGINE_OPTIONS"]
    assert cfg["SQLALCHEMY_ENGINE_OPTIONS"]["pool_recycle"] > 0
    monkeypatch.setenv("DNC_ENV", "staging")
    with pytest.raises(config.ConfigError, match="DNC_ENV must be one of default, production"):
        app_from_environment()


def test_the_default_environment_and_its_instance_folder(
    monkeypatch, app_from_environment, tmp_path
):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PUBLIC_BASE_URL", " https://dnc.example.com/ ")
    app = app_from_environment()
    instance = tmp_path / "instance"  # DNC_INSTANCE_PATH
    assert app.instance_path == str(instance) and app.config["DNC_ENV"] == "default"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'dnc.sqlite3'}"
    assert app.config["SECRET_KEY"] == (instance / "secret_key").read_text()
    assert app.config["BULK_UPLOAD_DIR"] == str(instance / "uploads")
    assert app.config["PUBLIC_BASE_URL"] == "https://dnc.example.com"
    monkeypatch.delenv("PUBLIC_BASE_URL")
    assert app_from_environment().config["PUBLIC_BASE_URL"] is None


def test_the_optout_link_command_uses_the_configured_public_base_url(make_app, make_team):
    app = make_app(PUBLIC_BASE_URL="https://dnc.example.com")
    team = make_team("Acme")
    result = app.test_cli_runner().invoke(args=["optout", "link", "--team", team.slug, "in/x"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"https://dnc.example.com/optout/{team.slug}/p/")
    local = (
        make_app().test_cli_runner().invoke(args=["optout", "link", "--team", team.slug, "in/x"])
    )
    assert local.output.startswith(f"http://127.0.0.1:8000/optout/{team.slug}/p/")


def test_sqlite_engine_options_come_from_the_configuration(make_app, tmp_path):
    uri = f"sqlite:///{tmp_path / 'pool.sqlite3'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=uri)
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == config.SQLITE_ENGINE_OPTIONS
    with app.app_context():
        assert db.engine.pool.size() == config.SQLITE_ENGINE_OPTIONS["pool_size"]
    # Configured options are used as given, not replaced.
    small = make_app(
        SQLALCHEMY_DATABASE_URI=uri, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 3, "max_overflow": 0}
    )
    with small.app_context():
        assert db.engine.pool.size() == 3


def test_sqlite_is_set_up_for_a_threaded_server(make_app, tmp_path):
    # Its own SQLite file, so that the PostgreSQL pass checks this too.
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    with app.app_context():
        conn = db.session.connection()
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert conn.execute(text("PRAGMA cache_size")).scalar() == -2000  # SQLite's own


def test_a_write_of_the_session_has_a_large_page_cache_until_its_connection_returns(
    make_app, tmp_path
):
    app = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'cache.sqlite3'}",
        SQLITE_WRITE_CACHE_MIB=8,
    )
    with app.app_context():
        pragma = text("PRAGMA cache_size")
        assert db.session.execute(pragma).scalar() == -2000  # a read
        db.session.rollback()
        begin_write()
        writer = db.session.connection().connection.driver_connection
        assert db.session.execute(pragma).scalar() == -8 * 1024
        db.session.commit()
        # Back in the pool: the default again, on that connection (the only one opened).
        with db.engine.connect() as connection:
            assert connection.connection.driver_connection is writer
            assert connection.execute(pragma).scalar() == -2000


def test_sqlite_synchronous_is_configurable(make_app, tmp_path):
    uri = f"sqlite:///{tmp_path / 'sync.sqlite3'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=uri, SQLITE_SYNCHRONOUS="FULL")
    with app.app_context():
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 2
    with pytest.raises(ValueError, match="SQLITE_SYNCHRONOUS"):
        make_app(SQLALCHEMY_DATABASE_URI=uri, SQLITE_SYNCHRONOUS="OFF")


def test_db_upgrade_creates_the_schema_and_models_match_migrations(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "SECRET_KEY": "x",
    }
    upgrade = subprocess.run(
        [FLASK, "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    check = subprocess.run(
        [FLASK, "--app", "app", "db", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_app_start_creates_no_tables(tmp_path, make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with app.app_context():
        tables = (
            db.session.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
            .scalars()
            .all()
        )
    assert tables == []
