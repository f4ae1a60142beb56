"""Production mode: the start-up rules, health endpoints, outages as 503, structured logs,
ProxyFix, graceful shutdown and the one command (scripts/serve-production)."""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from dnc_app.extensions import db, limiter
from dnc_app.http.errors import is_database_outage
from dnc_app.storage.models import AuditEvent, DncEntry
from tests.live import GUNICORN, LiveServer, free_port
from tests.services import call

ROOT = Path(__file__).resolve().parent.parent
SERVE = str(ROOT / "scripts" / "serve-production")
GOOD_SECRET = "s" * 48


def _entry_count(app, team_id: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(DncEntry).where(DncEntry.team_id == team_id)
        )


def _json_lines(text: str) -> list[dict]:
    """The app's log lines (gunicorn's own lines start with '[')."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# --------------------------------------------------------------- several workers, memory://

memory_rule = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["multi_process_memory_limits"]


@pytest.mark.parametrize(
    "workers, env, refused",
    [
        (1, {}, False),
        (1, {"RATELIMIT_STORAGE_URI": "memory://"}, False),
        (2, {}, True),  # memory:// is the default
        (4, {"RATELIMIT_STORAGE_URI": "memory://"}, True),
        (4, {"RATELIMIT_STORAGE_URI": "redis://cache.internal:6379/0"}, False),
        (4, {"RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": "false"}, False),
    ],
)
def test_several_workers_need_a_shared_limit_store(workers, env, refused):
    problem = memory_rule(workers, env)
    assert (problem is not None) == refused
    if refused:
        assert f"{workers} times" in problem and "RATELIMIT_STORAGE_URI=redis://" in problem


@pytest.mark.live
@pytest.mark.parametrize("how", ["--workers", "WEB_CONCURRENCY"])
def test_gunicorn_refuses_several_workers_on_memory_storage(server_env, how):
    env = {**os.environ, **server_env, "RATELIMIT_STORAGE_URI": "memory://"}
    env.pop("WEB_CONCURRENCY", None)
    args = [GUNICORN, "app:app", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{free_port()}"]
    if how == "--workers":
        args += ["--workers", "3"]
    else:
        env["WEB_CONCURRENCY"] = "3"
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "refusing to start 3 workers with RATELIMIT_STORAGE_URI=memory://" in result.stderr
    assert "own rate-limit counters" in result.stderr
    assert "Set RATELIMIT_STORAGE_URI=redis://" in result.stderr
    assert "Booting worker" not in result.stderr  # refused before any worker started


@pytest.mark.live
def test_workers_on_an_unreachable_redis_start_but_fail_closed(server_env, team, app, tmp_path):
    """The start-up rule is about memory:// only. With Redis down, the process is alive
    (/healthz), not ready (/readyz), and the limited API answers a 503 envelope."""
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    log = tmp_path / "gunicorn.log"
    server = LiveServer(
        {**server_env, "RATELIMIT_STORAGE_URI": dead_redis}, workers=2, log_path=log
    ).start()
    try:
        assert call(server.url, "GET", "/healthz").status == 200
        ready = call(server.url, "GET", "/readyz")
        add = call(
            server.url,
            "POST",
            "/v1/dnc",
            key=team.api_key,
            body={"url": "linkedin.com/in/no-redis"},
        )
        check = call(server.url, "GET", "/v1/dnc/check?url=in/no-redis", key=team.api_key)
    finally:
        server.stop()
    assert ready.status == 503
    assert ready.json == {
        "status": "unavailable",
        "checks": {"database": "ok", "rateLimitStorage": "unavailable"},
    }
    for reply in (add, check):
        assert reply.status == 503, reply
        assert reply.json["error"] == "service_unavailable"
        assert reply.json["data"] is None
        assert "rate-limit store is unavailable" in reply.json["message"]
        assert reply.headers["retry-after"] == "5"
    assert _entry_count(app, team.id) == 0  # nothing was written unmetered
    warnings = [r for r in _json_lines(log.read_text()) if r["level"] == "warning"]
    assert any("rate-limit storage unavailable on POST /v1/dnc" in r["message"] for r in warnings)


# --------------------------------------------------------------------------- health


@pytest.fixture
def default_limit_app(make_app):
    """An app with a default limit of 2/minute on every route that is not exempt."""
    try:
        yield make_app(RATELIMIT_DEFAULT="2/minute")
    finally:
        # The limiter is one object for every app of the process: take the default off.
        limiter.limit_manager.set_default_limits([])


def test_healthz_and_readyz_need_no_key_and_are_not_rate_limited(default_limit_app):
    client = default_limit_app.test_client()
    for _ in range(5):
        assert client.get("/healthz").json == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json == {
            "status": "ok",
            "checks": {"database": "ok", "rateLimitStorage": "ok"},
        }
    # The default limit is real: a route that is not exempt runs out.
    statuses = [client.get("/v1/verify").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


# --------------------------------------------------------------------------- outages


def test_readyz_is_ready_with_rate_limits_off(make_app):
    # RATELIMIT_ENABLED=false: there is no limit store to wait for (it was a 503 forever,
    # so a load balancer took every instance out).
    client = make_app(RATELIMIT_ENABLED=False).test_client()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "rateLimitStorage": "disabled"},
    }


def test_a_database_outage_is_a_503_envelope_and_a_503_page(make_app, team):
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/dnc"
    client = make_app(SQLALCHEMY_DATABASE_URI=dead).test_client()
    started = time.monotonic()
    replies = [
        client.get("/v1/verify", headers=team.headers),
        client.post("/v1/dnc", json={"url": "in/db-down"}, headers=team.headers),
        client.get("/v1/dnc/check?url=in/db-down", headers=team.headers),
    ]
    for reply in replies:
        assert reply.status_code == 503
        assert reply.json == {
            "error": "service_unavailable",
            "data": None,
            "message": "The database is unavailable. Try again in 5 seconds.",
        }
        assert reply.headers["Retry-After"] == "5"
    page = client.get(f"/optout/{team.slug}")
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    assert "temporarily unavailable" in page.text
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"] == {"database": "unavailable", "rateLimitStorage": "ok"}
    assert time.monotonic() - started < 5  # refused connections fail fast, no hanging


def test_a_connection_lost_after_the_view_does_not_turn_the_answer_into_a_500(
    make_app, database_url
):
    if not database_url.startswith("postgresql"):
        return  # SQLite pass: there is no server connection to lose
    app = make_app()

    @app.get("/v1/test-only-lost-connection")
    def answer_then_lose_the_connection():
        # The request's transaction is open (ended by a ROLLBACK after the response);
        # the server drops the connection now, as PostgreSQL does when it restarts.
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        plain_url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(plain_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        return {"answer": "made before the connection was lost"}

    client = app.test_client()
    reply = client.get("/v1/test-only-lost-connection")
    assert reply.status_code == 200
    assert reply.json == {"answer": "made before the connection was lost"}
    assert client.get("/readyz").status_code == 200  # the pool has recovered


@pytest.mark.parametrize(
    "exc, outage",
    [
        (OperationalError("SELECT 1", {}, Exception("connection refused")), True),
        (InterfaceError("SELECT 1", {}, Exception("connection already closed")), True),
        (PoolTimeoutError("QueuePool limit of size 10 overflow 10 reached"), True),
        (
            DBAPIError(
                "SELECT 1",
                {},
                Exception("server closed the connection"),
                connection_invalidated=True,
            ),
            True,
        ),
        # Errors in a statement are bugs, not outages: they stay 500s.
        (IntegrityError("INSERT", {}, Exception("duplicate key value")), False),
        (DBAPIError("SELECT", {}, Exception("syntax error")), False),
    ],
)
def test_only_connection_failures_count_as_database_outages(exc, outage):
    assert is_database_outage(exc) is outage


# --------------------------------------------------------------------------- logs


@pytest.mark.live
def test_request_logs_are_json_lines_without_keys_bodies_or_queries(server_env, team, tmp_path):
    log = tmp_path / "gunicorn.log"
    server = LiveServer(server_env, log_path=log).start()
    wrong_key = "dnc_sk_" + "Z" * 40
    try:
        add = call(
            server.url,
            "POST",
            "/v1/dnc",
            key=team.api_key,
            body={"url": "https://linkedin.com/in/body-person", "reason": "reason-xyz"},
            headers={"X-Request-ID": "lb-req-42"},
        )
        check = call(
            server.url,
            "GET",
            "/v1/dnc/check?url=linkedin.com/in/query-person",
            key=team.api_key,
            headers={"X-Request-ID": "not a sane id!"},
        )
        denied = call(server.url, "GET", "/v1/verify", key=wrong_key)
    finally:
        server.stop()
    assert (add.status, check.status, denied.status) == (201, 200, 401)
    text = log.read_text()
    for secret in (team.api_key, wrong_key, "body-person", "query-person", "reason-xyz"):
        assert secret not in text
    for line in text.splitlines():  # the app writes nothing but JSON lines
        assert line.startswith("[") or json.loads(line)
    lines = {r["path"]: r for r in _json_lines(text) if r.get("event") == "request"}
    logged_add = lines["/v1/dnc"]
    assert logged_add["method"] == "POST"
    assert logged_add["status"] == 201
    assert logged_add["team_id"] == team.id
    assert logged_add["request_id"] == "lb-req-42" == add.headers["x-request-id"]
    assert isinstance(logged_add["duration_ms"], float) and logged_add["duration_ms"] >= 0
    assert logged_add["pid"] > 0
    logged_check = lines["/v1/dnc/check"]  # the path alone: the query string is not logged
    assert (logged_check["status"], logged_check["team_id"]) == (200, team.id)
    assert re.fullmatch(r"[0-9a-f]{32}", logged_check["request_id"])  # an unsafe id is replaced
    assert logged_check["request_id"] == check.headers["x-request-id"]
    assert (lines["/v1/verify"]["status"], lines["/v1/verify"]["team_id"]) == (401, None)


def test_unexpected_errors_are_logged_as_json_with_the_traceback(make_app, capsys):
    app = make_app()

    @app.get("/v1/test-only-failure")
    def failing_view():
        raise RuntimeError("broken on purpose")

    reply = app.test_client().get("/v1/test-only-failure")
    assert reply.status_code == 500
    assert reply.json["error"] == "internal_error"
    assert "broken on purpose" not in reply.text
    records = _json_lines(capsys.readouterr().err)
    error = next(r for r in records if r["level"] == "error")
    assert error["logger"] == "dnc_app"
    assert "RuntimeError: broken on purpose" in error["exception"]
    request_line = next(r for r in records if r.get("event") == "request")
    assert (request_line["path"], request_line["status"]) == ("/v1/test-only-failure", 500)


# --------------------------------------------------------------------------- ProxyFix

PROXY = {"REMOTE_ADDR": "10.0.0.5"}  # what the app sees as the peer: the load balancer
SPOOFED = ["198.51.100.1, 203.0.113.9", "198.51.100.2, 203.0.113.9", "198.51.100.3, 203.0.113.9"]


@pytest.mark.parametrize(
    "x_for, forwarded_for, statuses",
    [
        # Off (default): X-Forwarded-For is ignored; every request comes from the proxy.
        (0, ["203.0.113.1", "203.0.113.2", "203.0.113.3"], [200, 200, 429]),
        # One trusted proxy: three clients, three budgets.
        (1, ["203.0.113.1", "203.0.113.2", "203.0.113.3"], [200, 200, 200]),
        # A client cannot pick its IP by sending its own X-Forwarded-For: the proxy
        # appends the real one and only the last (trusted) hop is used.
        (1, SPOOFED, [200, 200, 429]),
        # Two trusted proxies: the second value from the right is the client.
        (2, SPOOFED, [200, 200, 200]),
    ],
)
def test_the_per_ip_limit_sees_the_forwarded_ip_only_from_trusted_proxies(
    make_app, team, x_for, forwarded_for, statuses
):
    app = make_app(PROXY_FIX_X_FOR=x_for, OPTOUT_PAGE_LIMIT="2/minute")
    client = app.test_client()
    got = [
        client.get(
            f"/optout/{team.slug}", headers={"X-Forwarded-For": xff}, environ_base=PROXY
        ).status_code
        for xff in forwarded_for
    ]
    assert got == statuses


def _hidden_inputs(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[name.group(1)] = value.group(1) if value else ""
    return fields


@pytest.mark.parametrize(
    "x_for, same_client, other_client",
    [
        (0, True, False),  # off: all three are "the proxy"
        (1, True, True),
    ],
)
def test_the_audit_ip_is_the_forwarded_one_only_from_trusted_proxies(
    make_app, team, x_for, same_client, other_client
):
    app = make_app(PROXY_FIX_X_FOR=x_for, OPTOUT_MIN_SECONDS=0)
    client = app.test_client()
    for n, xff in enumerate(["203.0.113.1", "203.0.113.1", "203.0.113.2"]):
        headers = {"X-Forwarded-For": xff}
        page = client.get(f"/optout/{team.slug}", headers=headers, environ_base=PROXY)
        form = {**_hidden_inputs(page.text), "url": f"in/audit-ip-{n}", "website": ""}
        done = client.post(f"/optout/{team.slug}", data=form, headers=headers, environ_base=PROXY)
        assert done.status_code == 200, done.text
    with app.app_context():
        hashes = db.session.scalars(
            select(AuditEvent.ip_hash)
            .where(AuditEvent.team_id == team.id, AuditEvent.action == "add")
            .order_by(AuditEvent.id)
        ).all()
    assert len(hashes) == 3 and all(hashes)
    assert (hashes[0] == hashes[1]) is same_client
    assert (hashes[1] != hashes[2]) is other_client


@pytest.mark.parametrize("x_proto, hsts", [(0, False), (1, True)])
def test_the_scheme_is_taken_from_a_trusted_proxy(make_app, x_proto, hsts):
    client = make_app(PROXY_FIX_X_PROTO=x_proto).test_client()
    reply = client.get("/healthz", headers={"X-Forwarded-Proto": "https"}, environ_base=PROXY)
    assert ("Strict-Transport-Security" in reply.headers) is hsts


# --------------------------------------------------------------------------- SIGTERM


class TeamWriteLock:
    """Holds the write lock a write to the team needs (PostgreSQL: the team row;
    SQLite: the database write lock), so that a request stays in flight until release."""

    def __init__(self, database_url: str, team_id: str):
        self.database_url = database_url
        self.team_id = team_id

    def __enter__(self):
        if self.database_url.startswith("sqlite"):
            self.conn = sqlite3.connect(
                self.database_url.removeprefix("sqlite:///"), isolation_level=None
            )
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            url = self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
            self.conn = psycopg.connect(url)
            self.conn.execute("SELECT 1 FROM team WHERE id = %s FOR UPDATE", (self.team_id,))
        return self

    def someone_waits(self) -> bool:
        if self.database_url.startswith("sqlite"):
            return True  # not observable; the caller waits a moment instead
        with psycopg.connect(
            self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        ) as probe:
            return (
                probe.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0] > 0
            )

    def __exit__(self, *_exc):
        self.conn.rollback()
        self.conn.close()


@pytest.mark.live
def test_sigterm_lets_the_request_in_flight_finish(server_env, database_url, team, app):
    server = LiveServer(server_env, workers=1).start()
    result = {}

    def add():
        result["reply"] = call(
            server.url, "POST", "/v1/dnc", key=team.api_key, body={"url": "in/in-flight-at-sigterm"}
        )

    try:
        with TeamWriteLock(database_url, team.id) as lock:
            request = threading.Thread(target=add)
            request.start()
            deadline = time.monotonic() + 10
            while not lock.someone_waits() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # the request is now blocked on the lock inside the worker
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            # Shutting down: new requests are no longer served (refused, or left unanswered
            # in the closing socket's backlog), but the master waits for the one in flight.
            with pytest.raises(OSError):
                call(server.url, "GET", "/healthz", timeout=2)
            assert server.proc.poll() is None
            assert "reply" not in result
        request.join(15)
        assert server.proc.wait(15) == 0
    finally:
        server.stop()
    reply = result["reply"]
    assert reply.status == 201, reply
    assert _entry_count(app, team.id) == 1


# --------------------------------------------------------------------------- the command


def _serve_env(**env) -> dict[str, str]:
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return {**base, **env}


@pytest.mark.parametrize(
    "env, args, message",
    [
        ({}, [], "SECRET_KEY is not set"),
        ({"SECRET_KEY": "short"}, [], "SECRET_KEY is too short"),
        ({"SECRET_KEY": GOOD_SECRET}, [], "DATABASE_URL is not set"),
        (
            {"SECRET_KEY": GOOD_SECRET, "DATABASE_URL": "sqlite:///x"},
            ["--workers", "0"],
            "--workers must be a positive number",
        ),
    ],
)
def test_serve_production_refuses_an_incomplete_configuration(env, args, message):
    result = subprocess.run(
        [SERVE, *args], env=_serve_env(**env), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.live
def test_serve_production_migrates_an_empty_database_and_serves(tmp_path):
    port = free_port()
    env = _serve_env(
        SECRET_KEY=GOOD_SECRET,
        BIND=f"127.0.0.1:{port}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
    )
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [SERVE, "--workers", "1"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            ready = None
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    ready = call(f"http://127.0.0.1:{port}", "GET", "/readyz", timeout=2)
                    break
                except OSError:
                    time.sleep(0.2)
            assert ready is not None and ready.status == 200, (tmp_path / "serve.log").read_text()
            # The schema came from the migrations: an API request reaches the tables.
            denied = call(f"http://127.0.0.1:{port}", "GET", "/v1/verify", key="dnc_sk_" + "A" * 40)
            assert denied.status == 401 and denied.json["error"] == "invalid_api_key"
        finally:
            proc.send_signal(signal.SIGTERM)  # the script exec'd gunicorn: this is its master
            assert proc.wait(30) == 0
    assert "Running upgrade" in (tmp_path / "serve.log").read_text()
