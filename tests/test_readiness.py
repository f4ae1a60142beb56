"""Readiness follows PostgreSQL and Redis (a real server on servers of its own, with
PostgreSQL reached directly or through PgBouncer): 503 while either is down, 200 again once
it is back, without restarting the service; liveness stays 200 throughout. (SIGTERM's
draining: tests/test_production.py for a request in flight, tests/test_webhooks_live.py for
a delivery attempt in flight, through gunicorn and through `flask webhooks worker`.)"""

from __future__ import annotations

import time

import pytest

from tests.live import LiveServer
from tests.services import PgBouncer, PostgresServer, RedisServer, call

pytestmark = [pytest.mark.load, pytest.mark.live]


@pytest.fixture(scope="module", params=["postgresql", "pgbouncer"])
def served(request, tmp_path_factory):
    pg = PostgresServer().start()
    redis = RedisServer().start()
    bouncer = PgBouncer(pg).start() if request.param == "pgbouncer" else None
    env = {
        "DATABASE_URL": bouncer.url if bouncer else pg.url,
        "RATELIMIT_STORAGE_URI": redis.url,
        "WEBHOOK_DELIVERY": "off",
        "DB_CONNECT_TIMEOUT": "2",
        "DB_POOL_TIMEOUT": "2",
    }
    if bouncer:
        env["DB_PREPARED_STATEMENTS"] = "off"
    log = tmp_path_factory.mktemp("readiness") / "server.log"
    server = LiveServer(env, workers=2, log_path=log)
    try:
        server.start()
        yield server, pg, redis
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
    server, pg, redis = served
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
