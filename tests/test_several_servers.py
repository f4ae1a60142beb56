"""Several app servers on one PostgreSQL and one Redis: two separate gunicorn masters
(two workers each, every worker with its own webhook delivery loop), as two machines
would run them. Once on PostgreSQL directly, once behind PgBouncer in transaction mode.

- exact limits: a team's write budget is one budget, whichever server a request reaches;
- every webhook event delivered exactly once when nothing fails;
- a master killed (SIGKILL, with its workers) mid-load: every acknowledged entry is listed
  and its event delivered by the other server, within the takeover time of a dead loop.

They bring their own PostgreSQL, PgBouncer and Redis (tests/services.py), so scripts/test
runs them once, in its PostgreSQL pass (`pytest -m load` alone).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
import pytest

from dnc_app import create_app
from dnc_app.domain.accounts.apikeys import create_api_key
from dnc_app.domain.accounts.teams import create_team
from dnc_app.extensions import db
from tests.live import LiveServer
from tests.services import PgBouncer, PostgresServer, RedisServer, call
from tests.support import TEST_ACTOR
from tests.webhook_support import Answer, Receiver

pytestmark = [pytest.mark.load, pytest.mark.live]

# The longest a dead server's claimed events may wait before another loop takes them,
# plus room for the delivery itself on a busy test machine. DNC_TAKEOVER_SECONDS checks
# another takeover time (e.g. of an older delivery loop).
TAKEOVER_SECONDS = float(os.environ.get("DNC_TAKEOVER_SECONDS", "30"))
MARGIN_SECONDS = 15
# Short delivery settings: a loop polls often and an attempt gives up quickly.
WEBHOOK_ENV = {
    "WEBHOOK_ALLOW_PRIVATE": "1",
    "WEBHOOK_POLL_INTERVAL": "0.2",
    "WEBHOOK_TIMEOUT": "2",
    "WEBHOOK_RETRY_SCHEDULE": "0,1,1,1,1,1,1,1",
}


@dataclass
class Team:
    id: str
    key: str
    endpoint_path: str | None = None


@dataclass
class Stack:
    direct_url: str  # PostgreSQL itself: migrations, setup and checks
    servers: list[LiveServer]
    receiver: Receiver
    app: object  # an in-process app on direct_url, to create teams
    teams_made: int = 0

    def new_team(self) -> Team:
        self.teams_made += 1
        with self.app.app_context():
            team = create_team(f"Several {self.teams_made}", None)
            _key, secret = create_api_key(team.id, name="load", actor=TEST_ACTOR)
            db.session.remove()
        return Team(team.id, secret)

    def with_webhook(self, team: Team) -> Team:
        team.endpoint_path = f"/hook/{team.id}"
        url = self.receiver.url.rsplit("/hook", 1)[0] + team.endpoint_path
        reply = call(self.servers[0].url, "POST", "/v1/webhooks", key=team.key, body={"url": url})
        assert reply.status == 201, reply
        return team

    def delivered(self, team: Team) -> list[dict]:
        """What the receiver got for the team: [{"webhook-id", "entry"}] in order."""
        with self.receiver._lock:
            got = [r for r in self.receiver.received if r.path == team.endpoint_path]
        return [
            {"webhook-id": r.headers["webhook-id"], "entry": json.loads(r.body)["data"]["$id"]}
            for r in got
        ]

    def sql(self, query: str, *args) -> list[tuple]:
        with psycopg.connect(self.direct_url) as conn:
            return conn.execute(query, args).fetchall()


@pytest.fixture(scope="module", params=["postgresql", "pgbouncer"])
def stack(request, tmp_path_factory):
    pg = PostgresServer().start()
    redis = RedisServer().start()
    bouncer = PgBouncer(pg).start() if request.param == "pgbouncer" else None
    receiver = Receiver().start()
    logs = tmp_path_factory.mktemp(f"several-{request.param}")
    direct = pg.url.replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app({"SQLALCHEMY_DATABASE_URI": direct})
    servers: list[LiveServer] = []
    try:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
            db.session.remove()
        env = {
            "DATABASE_URL": bouncer.url if bouncer else pg.url,
            "RATELIMIT_STORAGE_URI": redis.url,
            "DB_POOL_SIZE": "4",
            "DB_MAX_OVERFLOW": "4",
            "DNC_INSTANCE_PATH": str(logs / "instance"),
            **WEBHOOK_ENV,
        }
        if bouncer:
            env["DB_PREPARED_STATEMENTS"] = "off"  # PgBouncer < 1.21 in transaction mode
        for name in ("a", "b"):
            server = LiveServer(env, workers=2, threads=4, log_path=logs / f"{name}.log")
            servers.append(server.start())
        yield Stack(pg.url, servers, receiver, app)
    finally:
        for server in servers:
            server.stop()
        with app.app_context():
            db.engine.dispose()
        receiver.stop()
        if bouncer:
            bouncer.destroy()
        redis.destroy()
        pg.destroy()


def test_write_budget_is_shared_exactly_across_servers(stack):
    team = stack.new_team()
    a, b = stack.servers

    def add(n: int):
        server = (a, b)[n % 2]
        reply = call(
            server.url,
            "POST",
            "/v1/dnc",
            key=team.key,
            body={"url": f"https://linkedin.com/in/budget-{n}"},
        )
        return server.url, reply.status

    with ThreadPoolExecutor(14) as pool:
        answers = list(pool.map(add, range(70)))
    statuses = Counter(status for _url, status in answers)
    assert statuses == {201: 30, 429: 40}, statuses
    # Both servers took part in the one budget.
    assert {url for url, status in answers if status == 201} == {a.url, b.url}
    assert stack.sql("SELECT count(*) FROM dnc_entry WHERE team_id = %s", team.id) == [(30,)]


def _add_spread(stack: Stack, team: Team, count: int, prefix: str) -> list[str]:
    ids = []
    for n in range(count):
        server = stack.servers[n % 2]
        reply = call(
            server.url,
            "POST",
            "/v1/dnc",
            key=team.key,
            body={"url": f"https://linkedin.com/in/{prefix}-{n}"},
        )
        assert reply.status == 201, reply
        ids.append(reply.json["data"]["$id"])
    return ids


def test_each_event_delivered_exactly_once(stack):
    teams = [stack.with_webhook(stack.new_team()) for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        added = list(pool.map(lambda t: _add_spread(stack, t, 20, f"once-{t.id}"), teams))
    deadline = time.monotonic() + 30
    while any(len(stack.delivered(t)) < len(ids) for t, ids in zip(teams, added, strict=True)):
        assert time.monotonic() < deadline, [len(stack.delivered(t)) for t in teams]
        time.sleep(0.1)
    # Four loops poll every 0.2 s: a second event would have come by now.
    time.sleep(2)
    for team, ids in zip(teams, added, strict=True):
        got = stack.delivered(team)
        assert Counter(g["webhook-id"] for g in got).most_common(1)[0][1] == 1
        assert sorted(g["entry"] for g in got) == sorted(ids)
    rows = stack.sql(
        "SELECT m.status, m.attempts, count(*) FROM webhook_message m "
        "JOIN webhook_endpoint e ON e.id = m.endpoint_id "
        "WHERE e.team_id = ANY(%s) GROUP BY 1, 2",
        [t.id for t in teams],
    )
    assert rows == [("delivered", 1, 60)]


@dataclass
class Writer:
    """One team's client: adds entries through both servers in turn until stopped."""

    stack: Stack
    team: Team
    limit: int
    acknowledged: dict[str, str] = field(default_factory=dict)  # entry id -> url
    unanswered: list[str] = field(default_factory=list)  # sent to the dying server
    problems: list[str] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        for n in range(self.limit):
            if stop.is_set():
                return
            url = f"https://linkedin.com/in/kill-{self.team.id}-{n}"
            servers = [s for s in self.stack.servers if s.proc.poll() is None]
            server = servers[n % len(servers)]
            try:
                reply = call(
                    server.url, "POST", "/v1/dnc", key=self.team.key, body={"url": url}, timeout=30
                )
            except OSError:
                self.unanswered.append(url)
                continue
            if reply.status == 201:
                self.acknowledged[reply.json["data"]["$id"]] = url
            else:
                self.problems.append(repr(reply))
            time.sleep(0.02)


def test_a_master_killed_mid_load_loses_nothing(stack):
    """Last in the module: it kills the first server."""
    teams = [stack.with_webhook(stack.new_team()) for _ in range(4)]
    # Slow answers keep attempts in flight (claimed) when the server dies.
    with stack.receiver._lock:
        stack.receiver.script.extend(Answer(delay=0.3) for _ in range(400))
    writers = [Writer(stack, team, limit=28) for team in teams]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in writers]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 60
        while sum(len(w.acknowledged) for w in writers) < 40:
            assert time.monotonic() < deadline, "the load did not get going"
            time.sleep(0.05)
        stack.servers[0].kill()  # SIGKILL: the master and its workers, mid-load
        killed_at = time.monotonic()
    finally:
        for thread in threads:
            thread.join(120)
    assert not [p for w in writers for p in w.problems]

    survivor = stack.servers[1]
    for writer in writers:
        # Every acknowledged entry is listed (the other server answers for all).
        listing = call(survivor.url, "GET", "/v1/dnc?limit=1000", key=writer.team.key)
        assert listing.status == 200, listing
        listed = {e["$id"] for e in listing.json["data"]["entries"]}
        assert set(writer.acknowledged) <= listed
        # A request the dead server never answered may or may not have been stored.
        assert len(listed) <= len(writer.acknowledged) + len(writer.unanswered)

    # Every listed entry's event arrives, at least once (a delivery the dead server made
    # but could not record is made again: receivers deduplicate on webhook-id).
    deadline = killed_at + TAKEOVER_SECONDS + MARGIN_SECONDS
    missing: dict[str, set[str]] = {}
    while time.monotonic() < deadline:
        missing = {}
        for writer in writers:
            got = {g["entry"] for g in stack.delivered(writer.team)}
            expected = {
                row[0]
                for row in stack.sql("SELECT id FROM dnc_entry WHERE team_id = %s", writer.team.id)
            }
            if expected - got:
                missing[writer.team.id] = expected - got
        if not missing:
            break
        time.sleep(0.2)
    leases = stack.sql(
        "SELECT status, locked_until > now() AT TIME ZONE 'UTC', count(*) "
        "FROM webhook_message WHERE status = 'pending' GROUP BY 1, 2"
    )
    assert not missing, (
        f"{sum(map(len, missing.values()))} events not delivered "
        f"{time.monotonic() - killed_at:.0f} s after the kill; pending "
        f"(status, still leased, count): {leases}"
    )
    with stack.receiver._lock:
        stack.receiver.script.clear()
