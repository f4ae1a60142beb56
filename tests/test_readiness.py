"""Readiness follows PostgreSQL and Redis (a real server on servers of its own, with
PostgreSQL reached directly or through PgBouncer): 503 while either is down, 200 again once
it is back, without restarting the service; liveness stays 200 throughout. (SIGTERM's
draining: tests/test_production.py for a request in flight, tests/test_webhooks_live.py for
a delivery attempt in flight, through gunicorn and through `flask webhooks worker`.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import psycopg
import pytest
from flask_migrate import upgrade

from dnc_app import create_app
from dnc_app.extensions import db
from tests.live import LiveServer, free_port
from tests.services import (
    PgBouncer,
    PostgresServer,
    RedisServer,
    as_postgres,
    call,
    documented_pgbouncer_ini,
)

pytestmark = [pytest.mark.load, pytest.mark.live]


@pytest.fixture(scope="module", params=["postgresql", "pgbouncer"])
def served(request, tmp_path_factory):
    pg = PostgresServer().start()
    redis = RedisServer().start()
    bouncer = PgBouncer(pg).start() if request.param == "pgbouncer" else None
    # The schema, for the scrape's webhook backlog.
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": pg.url.replace("postgresql://", "postgresql+psycopg://", 1)}
    )
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    env = {
        "DATABASE_URL": bouncer.url if bouncer else pg.url,
        "RATELIMIT_STORAGE_URI": redis.url,
        "WEBHOOK_DELIVERY": "off",
        "DB_CONNECT_TIMEOUT": "2",
        "DB_POOL_TIMEOUT": "2",
        "METRICS_ENABLED": "1",
    }
    if bouncer:
        env["DB_PREPARED_STATEMENTS"] = "off"
    log = tmp_path_factory.mktemp("readiness") / "server.log"
    server = LiveServer(env, workers=2, log_path=log)
    try:
        server.start()
        yield server, pg, redis, bouncer
    finally:
        server.stop()
        if bouncer:
            bouncer.destroy()
        redis.destroy()
        pg.destroy()


def ready(server) -> tuple[int, dict]:
    reply = call(server.url, "GET", "/readyz", timeout=15)
    return reply.status, reply.json["checks"]


def wait_ready(server, timeout: float = 20) -> tuple[int, dict]:
    deadline = time.monotonic() + timeout
    while True:
        answer = ready(server)
        if answer[0] == 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


@pytest.mark.parametrize("down", ["redis", "postgresql"])
def test_readiness_follows_the_shared_services(served, down):
    server, pg, redis, _bouncer = served
    assert ready(server) == (200, {"database": "ok", "rateLimitStorage": "ok"})
    service, check = (redis, "rateLimitStorage") if down == "redis" else (pg, "database")
    service.stop()
    try:
        # Both workers (the answers come from either) see it, each time.
        for _ in range(4):
            status, checks = ready(server)
            assert status == 503
            assert checks[check] == "unavailable"
            assert list(checks.values()).count("ok") == 1  # only the stopped one fails
            assert call(server.url, "GET", "/healthz").status == 200
            # The API says so too: a 503 envelope, never a 500 or a hang.
            api = call(
                server.url, "GET", "/v1/dnc/check?url=in/x", key="dnc_sk_" + "A" * 40, timeout=15
            )
            assert api.status == 503 and api.json["error"] == "service_unavailable", api
    finally:
        service.start()
    assert wait_ready(server) == (200, {"database": "ok", "rateLimitStorage": "ok"})


def test_ready_at_once_after_a_postgresql_restart(served):
    """The workers' pools hold connections from before the restart: readiness (and the
    backlog in a scrape) says whether the database answers now, not whether a pooled
    connection outlived it."""
    server, pg, _redis, bouncer = served
    for _ in range(8):  # both workers, each with a pooled connection
        assert ready(server)[0] == 200
    pg.restart()  # returns once PostgreSQL accepts connections
    if bouncer is not None:
        # PgBouncer itself answers errors until its next login (server_login_retry).
        assert wait_ready(server)[0] == 200
    for _ in range(6):
        assert ready(server) == (200, {"database": "ok", "rateLimitStorage": "ok"})
    pg.restart()
    if bouncer is not None:
        assert wait_ready(server)[0] == 200
    # The same for a scrape: the backlog, read from the database, is in every one.
    for _ in range(6):
        scraped = call(server.url, "GET", "/metrics")
        assert scraped.status == 200
        assert "\ndnc_webhook_backlog_events 0.0\n" in scraped.text


def test_the_documented_pgbouncer_ini_loads_as_written(tmp_path_factory):
    """docs/production.md's pgbouncer.ini, copied as shown (only the addresses and the
    password file are this machine's), starts Debian's pgbouncer and serves the database
    in transaction mode (PgBouncer reads no comment after a value, and 1.18 refuses
    settings it does not know)."""
    pg = PostgresServer().start()
    bouncer = PgBouncer(pg)
    port = free_port()
    ini = documented_pgbouncer_ini()
    for shown, here in [
        (
            "host=db.internal port=5432 dbname=dnc",
            f"host=127.0.0.1 port={pg.port} dbname={pg.dbname}",
        ),
        ("listen_addr = 0.0.0.0", "listen_addr = 127.0.0.1"),
        ("listen_port = 6432", f"listen_port = {port}"),
        ("/etc/pgbouncer/userlist.txt", str(bouncer.dir / "userlist.txt")),
    ]:
        assert shown in ini, shown
        ini = ini.replace(shown, here)
    # Added: a log, no Unix socket, and the console for reading the settings back.
    ini += f"logfile = {bouncer.dir / 'pgbouncer.log'}\nunix_socket_dir =\nadmin_users = postgres\n"
    (bouncer.dir / "userlist.txt").write_text('"postgres" "a password"\n')
    config = bouncer.dir / "pgbouncer.ini"
    config.write_text(ini)
    if os.geteuid() == 0:
        for item in (bouncer.dir, *bouncer.dir.iterdir()):
            shutil.chown(item, "postgres")
    stderr = bouncer.dir / "stderr.txt"
    with stderr.open("w") as err:  # pgbouncer's refusal of a file goes there
        bouncer.proc = subprocess.Popen(
            as_postgres([bouncer.binary, str(config)]), stdout=subprocess.DEVNULL, stderr=err
        )
    try:
        url = f"postgresql://postgres:a%20password@127.0.0.1:{port}/dnc"
        deadline = time.monotonic() + 10
        while True:
            assert bouncer.proc.poll() is None, stderr.read_text()
            try:
                with psycopg.connect(url, connect_timeout=2, prepare_threshold=None) as conn:
                    assert conn.execute("SELECT current_database()").fetchone() == (pg.dbname,)
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "pgbouncer did not serve"
                time.sleep(0.1)
        with psycopg.connect(
            f"postgresql://postgres:a%20password@127.0.0.1:{port}/pgbouncer", autocommit=True
        ) as admin:
            modes = {row[0]: row[1] for row in admin.execute("SHOW CONFIG").fetchall()}
        assert modes["pool_mode"] == "transaction"
        assert modes["auth_type"] == "scram-sha-256"
    finally:
        bouncer.destroy()
        pg.destroy()
