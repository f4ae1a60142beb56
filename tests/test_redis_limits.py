"""Rate limits on Redis across 4 gunicorn workers: exact, per team, and failing closed
when Redis goes away, then recovering by themselves when it comes back.

Redis here is a throwaway server of this module (the tests stop it); the database is
the suite's (SQLite or PostgreSQL).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from dnc_app.extensions import db
from dnc_app.storage.models import DncEntry
from tests.live import LiveServer, request_pids, wait_for_all_workers
from tests.services import RedisServer, call

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer().start()
    yield server
    server.destroy()


@pytest.fixture
def start_server(live_server_factory, redis_server):
    def start(threads: int = 8, **env) -> LiveServer:
        if not redis_server.ping():
            redis_server.start()
        return live_server_factory(
            workers=4, threads=threads, RATELIMIT_STORAGE_URI=redis_server.url, **env
        )

    return start


def stored_ids(app, team_id: str) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(DncEntry.id).where(DncEntry.team_id == team_id)))


def test_the_write_budget_is_exact_across_four_workers(start_server, make_team, app, tmp_path):
    # At most 4 connections per worker: a burst of 50 concurrent clients cannot all be
    # taken by one process, so all four share the budget (gunicorn reads GUNICORN_CMD_ARGS).
    server = start_server(threads=4, GUNICORN_CMD_ARGS="--worker-connections 4 --keep-alive 0")
    burst_team, other_team = make_team("Burst"), make_team("Other")
    wait_for_all_workers(server, 4)

    def add(n: int):
        return call(
            server.url,
            "POST",
            "/v1/dnc",
            key=burst_team.api_key,
            body={"url": f"https://linkedin.com/in/burst-{n}"},
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(pool.map(add, range(100)))

    assert Counter(r.status for r in replies) == {201: 30, 429: 70}
    for reply in replies:
        if reply.status == 429:
            assert reply.json["error"] == "rate_limit_exceeded"
            assert reply.json["resetTime"].endswith("Z")
            assert int(reply.headers["retry-after"]) >= 1
    accepted = {r.json["data"]["$id"] for r in replies if r.status == 201}
    assert stored_ids(app, burst_team.id) == accepted
    # The burst was served by all four processes, which share the one budget.
    assert len(request_pids(tmp_path / "gunicorn.log", "/v1/dnc")) == 4

    # Another team's budget is untouched.
    other = call(
        server.url,
        "POST",
        "/v1/dnc",
        key=other_team.api_key,
        body={"url": "https://linkedin.com/in/burst-0"},
    )
    assert other.status == 201
    assert other.headers["x-ratelimit-limit"] == "30"
    assert other.headers["x-ratelimit-remaining"] == "29"
    # ...and so are the burst team's reads.
    check = call(server.url, "GET", "/v1/dnc/check?url=in/burst-0", key=burst_team.api_key)
    assert check.status == 200


class Stream:
    """Clients writing distinct URLs without pause, recording when each request ran."""

    def __init__(self, base_url: str, key: str, clients: int = 4):
        self.base_url = base_url
        self.key = key
        self.clients = clients
        self.results: list[tuple[float, float, str, object]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _run(self, client: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            started = time.monotonic()
            kind = "check" if n % 4 == 0 else "add"
            try:
                if kind == "check":
                    reply = call(
                        self.base_url,
                        "GET",
                        f"/v1/dnc/check?url=in/stream-{client}-1",
                        key=self.key,
                        timeout=15,
                    )
                else:
                    reply = call(
                        self.base_url,
                        "POST",
                        "/v1/dnc",
                        key=self.key,
                        body={"url": f"in/stream-{client}-{n}"},
                        timeout=15,
                    )
            except Exception as exc:  # recorded: the test fails on anything but a reply
                reply = exc
            with self._lock:
                self.results.append((started, time.monotonic(), kind, reply))
            time.sleep(0.02)

    def __enter__(self) -> Stream:
        self._threads = [threading.Thread(target=self._run, args=(c,)) for c in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def between(self, start: float, end: float):
        """Results of requests that started after `start` and ended before `end`."""
        with self._lock:
            return [r for r in self.results if r[0] > start and r[1] < end]


def test_redis_down_mid_run_fails_closed_with_503_and_recovers_by_itself(
    start_server, redis_server, team, app
):
    server = start_server(DNC_WRITE_LIMIT="100000/minute", DNC_CHECK_LIMIT="100000/minute")
    with Stream(server.url, team.api_key) as stream:
        time.sleep(1.5)
        stopping = time.monotonic()
        redis_server.stop()
        stopped = time.monotonic()
        time.sleep(2.0)
        ready_down = call(server.url, "GET", "/readyz")
        alive = call(server.url, "GET", "/healthz")
        restarting = time.monotonic()
        redis_server.start()
        restarted = time.monotonic()
        deadline = restarted + 15
        while time.monotonic() < deadline:
            recent = stream.between(restarted + 0.5, time.monotonic())
            if sum(1 for r in recent if r[2] == "add" and r[3].status == 201) >= 10:
                break
            time.sleep(0.2)
        ended = time.monotonic()
    ready_up = call(server.url, "GET", "/readyz")

    statuses = Counter(
        (kind, getattr(reply, "status", repr(reply))) for _s, _e, kind, reply in stream.results
    )
    # Only accepted or refused for unavailability: never a 500, never a hang.
    assert set(statuses) <= {("add", 201), ("add", 503), ("check", 200), ("check", 503)}, statuses

    before = stream.between(0, stopping)
    during = stream.between(stopped, restarting)
    after = stream.between(restarted + 0.5, ended)
    assert before and all(r[3].status in (200, 201) for r in before)
    assert len(during) >= 10
    for _s, _e, _kind, reply in during:
        assert reply.status == 503, reply
        assert reply.json["error"] == "service_unavailable"
        assert "rate-limit store is unavailable" in reply.json["message"]
        assert reply.headers["retry-after"] == "5"
    # Back by itself (no restart of the service): the writes are accepted again.
    assert sum(1 for r in after if r[2] == "add" and r[3].status == 201) >= 10
    assert all(r[3].status in (200, 201) for r in after[-8:])

    assert (
        ready_down.status == 503 and ready_down.json["checks"]["rateLimitStorage"] == "unavailable"
    )
    assert alive.status == 200
    assert ready_up.status == 200

    # Every 201 is stored, and nothing was stored without a 201: no unmetered write.
    acknowledged = {
        reply.json["data"]["$id"]
        for _s, _e, kind, reply in stream.results
        if kind == "add" and reply.status == 201
    }
    assert stored_ids(app, team.id) == acknowledged
