"""Shared fixtures.

The suite runs against SQLite by default and against PostgreSQL when
DNC_TEST_DATABASE_URL is set (scripts/test does both). The schema is created once per
session by the real migrations; each test starts from empty tables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from dnc_app import create_app
from dnc_app.domain.accounts.apikeys import create_api_key
from dnc_app.domain.accounts.teams import create_team
from dnc_app.extensions import db
from tests.support import TEST_ACTOR, TEST_SECRET

# Tables in an order that respects foreign keys when emptied.
FTS = "dnc_entry_fts_username"
TABLES = [
    "notification_message",
    "notification_event",
    "password_reset",
    "webhook_attempt",
    "webhook_message",
    "webhook_endpoint",
    "audit_event",
    "dnc_identifier",
    "dnc_entry",
    # Kept by the entry service on removal (SQLite, migration 0029), not by a trigger.
    "entry_hour_count",
    "api_key",
    "member_session",
    "user_account",
    "member_invite",
    "team_branding",
    "company_block",
    "team",
]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("DNC_TEST_DATABASE_URL", "")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    # The schema comes from the migrations, as in production.
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session", autouse=True)
def _environment():
    # create_app(test_config) reads no environment, but the servers and commands the tests
    # start do: keep them off the repository's instance/, database and limit store.
    os.environ["SECRET_KEY"] = TEST_SECRET
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("RATELIMIT_STORAGE_URI", None)
    yield


def _empty_tables(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
            # The search index follows the entry service's removals (migration 0029), not
            # a DELETE by hand: emptied too.
            if conn.execute(text(f"SELECT 1 FROM sqlite_master WHERE name = '{FTS}'")).first():
                conn.execute(text(f"INSERT INTO {FTS}({FTS}) VALUES ('delete-all')"))
    engine.dispose()


@pytest.fixture
def make_app(database_url):
    """Build an app with config overrides; tables are emptied after the test."""
    apps = []

    def factory(**overrides):
        # config.TestConfig: test key, cheap password hashes, memory:// limits, TESTING.
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, **overrides})
        apps.append(app)
        return app

    yield factory
    _dispose(apps)
    _empty_tables(database_url)


def _dispose(apps) -> None:
    from dnc_app.events.webhooks.delivery import stop_in_process

    stop_in_process()  # delivery loops started by a served request (WEBHOOK_DELIVERY on)
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app_from_environment(monkeypatch, tmp_path):
    """app_from_environment(): `create_app()` as served, configured from the environment
    (set it with monkeypatch first), its instance folder under tmp_path."""
    monkeypatch.setenv("DNC_INSTANCE_PATH", str(tmp_path / "instance"))
    # No webhook delivery loop on this (unmigrated) database unless the test sets it.
    monkeypatch.setenv("WEBHOOK_DELIVERY", "off")
    apps = []

    def factory():
        apps.append(create_app())
        return apps[-1]

    yield factory
    _dispose(apps)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class TeamCreds:
    id: str
    slug: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@pytest.fixture
def make_team(app):
    """Create a team with one API key: make_team("Acme") -> TeamCreds."""

    def factory(name: str = "Acme", slug: str | None = None) -> TeamCreds:
        with app.app_context():
            team = create_team(name, slug)
            _key, secret = create_api_key(team.id, name="test", actor=TEST_ACTOR)
            return TeamCreds(team.id, team.slug, secret)

    return factory


@pytest.fixture
def team(make_team) -> TeamCreds:
    return make_team("Acme")


@pytest.fixture
def signed_in(app, client, team):
    """A test client signed in as a member of `team`, through the real sign-in form."""
    from tests.web_support import make_member, sign_in

    make_member(app, team.id)
    response = sign_in(client)
    assert response.status_code in (302, 303), response.status_code
    return client


@pytest.fixture
def server_env(database_url, tmp_path) -> dict[str, str]:
    """Environment for a live gunicorn serving the test database."""
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@pytest.fixture
def live_server_factory(server_env, tmp_path):
    """live_server_factory(workers=1, threads=8, **env): a real gunicorn (tests.live) on
    the test database, started and ready; stopped after the test. Its log (JSON request
    lines included) is at `server.log_path`."""
    from tests.live import LiveServer

    servers = []

    def factory(workers: int = 1, threads: int = 8, **env) -> LiveServer:
        server = LiveServer(
            {**server_env, **env},
            workers=workers,
            threads=threads,
            log_path=tmp_path / "gunicorn.log",
        )
        servers.append(server.start())
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def receiver():
    """A webhook receiver on loopback that records every delivery (tests.webhook_support)."""
    from tests.webhook_support import Receiver

    server = Receiver().start()
    yield server
    server.stop()


def _pass_database() -> str:
    return "postgresql" if os.environ.get("DNC_TEST_DATABASE_URL") else "sqlite"


def pytest_report_header(config):
    return f"database: {'PostgreSQL' if _pass_database() == 'postgresql' else 'SQLite'}"


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.database("postgresql")`: the test belongs to that database's pass and
    is deselected in the other (the suite runs once per database), never skipped."""
    mine, others = [], []
    for item in items:
        marker = item.get_closest_marker("database")
        (others if marker and marker.args[0] != _pass_database() else mine).append(item)
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = mine
