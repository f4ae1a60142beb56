"""Production mode under load and faults: 4 gunicorn workers on PostgreSQL + Redis.

Started with the one command (scripts/serve-production) against a PostgreSQL cluster and
a Redis server of this module (throwaway: a test restarts PostgreSQL). Three phases on
one server, checked against the database after each:
1. a mixed load (adds, batches, checks, lists, deletes; several teams) for 60 seconds:
   no 5xx, every acknowledged write stored, no duplicates, counts consistent;
2. a worker killed with SIGKILL mid-load: gunicorn replaces it, no acknowledged write lost
   (requests on the killed worker's connections fail on the client: counted apart);
3. PostgreSQL restarted mid-load: a 503 envelope during the outage (no 500, no hang),
   and the service recovers by itself.

Bounded (about 2 minutes) and loopback only. scripts/test runs them in its PostgreSQL
pass; `pytest -m load` runs them alone; DNC_LOAD_SECONDS shortens phase 1 while
developing.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.live import free_port
from tests.services import PostgresServer, RedisServer, call

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))

# They bring their own PostgreSQL and Redis, so scripts/test runs them once, in the
# PostgreSQL pass (the SQLite pass deselects the `load` marker).
pytestmark = [pytest.mark.load, pytest.mark.live]

LOAD_SECONDS = float(os.environ.get("DNC_LOAD_SECONDS", "60"))
TEAMS = 3
CLIENTS_PER_TEAM = 2
# High enough that the load stays under the limits (the exact limit is tested on its own).
GENEROUS_LIMITS = {
    "DNC_WRITE_LIMIT": "100000/minute",
    "DNC_BATCH_LIMIT": "100000/minute",
    "DNC_CHECK_LIMIT": "100000/minute",
    "DNC_LIST_LIMIT": "100000/minute",
}
EXPECTED = {"add": 201, "batch": 201, "check": 200, "list": 200, "delete": 200}
WEIGHTS = {"add": 30, "batch": 5, "check": 35, "list": 20, "delete": 10}


# --------------------------------------------------------------------------- the service


@dataclass
class Team:
    id: str
    key: str


@dataclass
class Production:
    url: str
    proc: subprocess.Popen
    pg: PostgresServer
    redis: RedisServer
    teams: list[Team]
    log: Path

    def workers(self) -> set[int]:
        """The gunicorn master's child processes (the script exec'd the master)."""
        children = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process has gone
            if int(fields[1]) == self.proc.pid:  # fields: state, ppid, …
                children.add(int(stat.parent.name))
        return children


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve-production exited:\n{log.read_text()}")
        try:
            if call(url, "GET", "/readyz", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"serve-production did not become ready:\n{log.read_text()}")


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    pg = PostgresServer().start()
    redis = RedisServer().start()
    port = free_port()
    log = tmp_path_factory.mktemp("production") / "serve.log"
    env = {
        **os.environ,
        **GENEROUS_LIMITS,
        "SECRET_KEY": "load-test-secret-key-0123456789-abcdefghij",
        "DATABASE_URL": pg.url,
        "RATELIMIT_STORAGE_URI": redis.url,
        "BIND": f"127.0.0.1:{port}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("WEB_CONCURRENCY", None)
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / "scripts" / "serve-production"), "--workers", "4"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(url, proc, log)
        teams = []
        for n in range(TEAMS):
            created = subprocess.run(
                [FLASK, "--app", "app", "team", "create", f"Load {n}", "--json"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            data = json.loads(created.stdout)
            teams.append(Team(data["teamId"], data["apiKey"]))
        yield Production(url, proc, pg, redis, teams, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        pg.destroy()
        redis.destroy()


# --------------------------------------------------------------------------- the load


@dataclass
class Ledger:
    """What one client was told, to be checked against the database afterwards."""

    added: dict[str, str] = field(default_factory=dict)  # id -> url, single adds (201)
    batch_added: set[str] = field(default_factory=set)  # urls a batch reported "added"
    deleted: set[str] = field(default_factory=set)  # ids whose delete was acknowledged
    delete_unknown: set[str] = field(default_factory=set)  # delete sent, no answer


@dataclass
class Outcome:
    started: float
    ended: float
    op: str
    status: int | None  # None: the connection failed
    body: dict | None = None
    error: str | None = None


class LoadClient(threading.Thread):
    """One API client of a team: a random mix of every operation, own URLs only."""

    def __init__(self, base_url: str, team: Team, name: str, stop: threading.Event, seed: int):
        super().__init__(name=name)
        self.base_url = base_url
        self.team = team
        self.stop_event = stop
        self.rng = random.Random(seed)
        self.ledger = Ledger()
        self.outcomes: list[Outcome] = []
        self.problems: list[str] = []  # answers that contradict earlier answers
        self.n = 0

    def new_url(self) -> str:
        self.n += 1
        return f"https://linkedin.com/in/{self.name}-{self.n}"

    def live_ids(self) -> list[str]:
        gone = self.ledger.deleted | self.ledger.delete_unknown
        return [i for i in self.ledger.added if i not in gone]

    def run(self) -> None:
        ops, weights = list(WEIGHTS), list(WEIGHTS.values())
        while not self.stop_event.is_set():
            self.one(self.rng.choices(ops, weights)[0])
            time.sleep(0.005)

    def one(self, op: str) -> None:
        key = self.team.key
        target = None
        if op == "add":
            url = self.new_url()
            method, path, body = "POST", "/v1/dnc", {"url": url}
        elif op == "batch":
            urls = [self.new_url() for _ in range(18)]
            known = [self.ledger.added[i] for i in self.live_ids()[:2]]  # still listed
            method, path = "POST", "/v1/dnc/batch"
            body = {"entries": [{"url": u} for u in urls + known]}
        elif op == "check":
            live = self.live_ids()
            target = self.rng.choice(live) if live and self.rng.random() < 0.7 else None
            url = self.ledger.added[target] if target else self.new_url()
            method, path, body = "GET", f"/v1/dnc/check?url={url}", None
        elif op == "list":
            method, path, body = "GET", "/v1/dnc?limit=20", None
        else:
            live = self.live_ids()
            if not live:
                return
            target = self.rng.choice(live)
            method, path, body = "DELETE", f"/v1/dnc/{target}", None
        started = time.monotonic()
        try:
            reply = call(self.base_url, method, path, key=key, body=body, timeout=30)
        except (OSError, http.client.HTTPException) as exc:
            if op == "delete":
                self.ledger.delete_unknown.add(target)
            self.outcomes.append(
                Outcome(started, time.monotonic(), op, None, error=type(exc).__name__)
            )
            return
        self.outcomes.append(Outcome(started, time.monotonic(), op, reply.status, reply.json))
        self.record(op, reply, target, body)

    def record(self, op: str, reply, target: str | None, body) -> None:
        if reply.status != EXPECTED[op]:
            if op == "delete":
                self.ledger.delete_unknown.add(target)  # e.g. a 503: it may have happened
            return
        data = reply.json["data"]
        if op == "add":
            self.ledger.added[data["$id"]] = data["url"]
        elif op == "batch":
            for item in data["details"]:
                if item["status"] == "added":
                    self.ledger.batch_added.add(item["url"])
            duplicates = len(body["entries"]) - 18
            if (data["added"], data["duplicates"]) != (18, duplicates):
                self.problems.append(
                    f"batch: {data['added']} added, {data['duplicates']} "
                    f"duplicates; expected 18 and {duplicates}"
                )
        elif op == "check" and target is not None and not data["onList"]:
            self.problems.append(f"check: acknowledged entry {target} not on the list")
        elif op == "delete":
            self.ledger.deleted.add(target)


class MixedLoad:
    def __init__(self, production: Production, phase: str):
        self.stop = threading.Event()
        self.clients = [
            LoadClient(production.url, team, f"{phase}-t{t}-c{c}", self.stop, seed=t * 10 + c)
            for t, team in enumerate(production.teams)
            for c in range(CLIENTS_PER_TEAM)
        ]

    def __enter__(self) -> MixedLoad:
        for client in self.clients:
            client.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        for client in self.clients:
            client.join(60)

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for client in self.clients for o in client.outcomes]

    def ok_between(self, start: float, end: float) -> int:
        return sum(
            1
            for o in self.outcomes
            if start < o.started and o.ended < end and o.status == EXPECTED[o.op]
        )

    def summary(self) -> Counter:
        return Counter((o.op, o.status if o.status is not None else o.error) for o in self.outcomes)


def assert_durable(production: Production, load: MixedLoad) -> None:
    """Every acknowledged write is in the database, every acknowledged delete is not,
    no URL is listed twice for a team, and each team's entry count is exact."""
    with psycopg.connect(production.pg.url) as conn:
        for client in load.clients:
            ledger = client.ledger
            kept = [i for i in ledger.added if i not in ledger.deleted | ledger.delete_unknown]
            found = {
                row[0]
                for row in conn.execute("SELECT id FROM dnc_entry WHERE id = ANY(%s)", (kept,))
            }
            assert found == set(kept), f"{client.name}: lost {set(kept) - found}"
            gone = {
                row[0]
                for row in conn.execute(
                    "SELECT id FROM dnc_entry WHERE id = ANY(%s)", (list(ledger.deleted),)
                )
            }
            assert not gone, f"{client.name}: deleted entries still listed: {gone}"
            urls = list(ledger.batch_added)
            found_urls = {
                row[0]
                for row in conn.execute(
                    "SELECT url FROM dnc_entry WHERE team_id = %s AND url = ANY(%s)",
                    (client.team.id, urls),
                )
            }
            assert found_urls == set(urls), f"{client.name}: lost batch URLs"
            assert not client.problems, client.problems[:5]
        duplicates = conn.execute(
            "SELECT team_id, url, count(*) FROM dnc_entry GROUP BY team_id, url HAVING count(*) > 1"
        ).fetchall()
        assert duplicates == []
        counts = conn.execute(
            "SELECT t.id, t.entry_count, count(e.seq) FROM team t "
            "LEFT JOIN dnc_entry e ON e.team_id = t.id GROUP BY t.id, t.entry_count"
        ).fetchall()
        assert all(stored == actual for _id, stored, actual in counts), counts


def server_errors(load: MixedLoad) -> list[Outcome]:
    return [o for o in load.outcomes if o.status is not None and o.status >= 500]


def logged_errors(production: Production) -> str:
    """The app's error records and gunicorn's errors (with tracebacks), for the message
    of a failed assertion."""
    lines = production.log.read_text().splitlines()
    records = [
        json.loads(line) for line in lines if line.startswith('{"') and '"level": "error"' in line
    ]
    app_errors = [f"{r['message']}\n{r.get('exception', '')}" for r in records[:3]]
    server_errors = [line for line in lines if not line.startswith("{") and "[INFO]" not in line]
    return "\n".join(app_errors + server_errors[:60])


# --------------------------------------------------------------------------- the phases


def test_mixed_load_for_a_minute_has_no_server_error_and_loses_nothing(production):
    with MixedLoad(production, "steady") as load:
        time.sleep(LOAD_SECONDS)
    summary = load.summary()
    print(f"\nsteady load, {LOAD_SECONDS:.0f} s: {sum(summary.values())} requests {summary}")
    assert server_errors(load) == [], logged_errors(production)
    unexpected = {k: v for k, v in summary.items() if k[1] != EXPECTED[k[0]]}
    assert unexpected == {}  # no 4xx either: the load stays under the (raised) limits
    assert sum(summary.values()) >= 10 * LOAD_SECONDS  # it was a load, even on a busy box
    assert all(summary[(op, EXPECTED[op])] > 0 for op in EXPECTED)
    assert_durable(production, load)


def test_a_worker_killed_mid_load_loses_no_acknowledged_write(production):
    before = production.workers()
    assert len(before) == 4
    with MixedLoad(production, "kill") as load:
        time.sleep(4)
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # gunicorn forks a replacement
            now = production.workers()
            if len(now) == 4 and victim not in now:
                break
            time.sleep(0.2)
        time.sleep(4)
        ended = time.monotonic()
    summary = load.summary()
    print(f"\nSIGKILL of worker {victim}: {sum(summary.values())} requests {summary}")
    after = production.workers()
    assert len(after) == 4 and victim not in after
    assert server_errors(load) == [], logged_errors(production)
    # Requests on the killed worker's connections fail on the client side; nothing else.
    failures = [o for o in load.outcomes if o.status is None]
    assert {o.error for o in failures} <= {
        "RemoteDisconnected",
        "ConnectionResetError",
        "BrokenPipeError",
        "IncompleteRead",
    }
    assert load.ok_between(killed_at + 1, ended) > 0  # served on after the kill
    served_by_victim = [
        line
        for line in production.log.read_text().splitlines()
        if line.startswith("{") and f'"pid": {victim}}}' in line
    ]
    assert served_by_victim  # the killed worker was taking part in the load
    assert_durable(production, load)


def test_postgres_restart_mid_load_answers_503_and_recovers_by_itself(production):
    with MixedLoad(production, "pgrestart") as load:
        time.sleep(4)
        stopping = time.monotonic()
        production.pg.stop("fast")
        time.sleep(3)
        during = call(production.url, "GET", "/readyz", timeout=10)
        restarting = time.monotonic()
        production.pg.start()
        restarted = time.monotonic()
        time.sleep(6)
        ended = time.monotonic()
    after = call(production.url, "GET", "/readyz", timeout=10)
    summary = load.summary()
    print(f"\nPostgreSQL restart: {sum(summary.values())} requests {summary}")

    outcomes = load.outcomes
    assert all(o.status is not None for o in outcomes)  # no dropped connection
    assert all(o.status in (EXPECTED[o.op], 503) for o in outcomes), (  # never a 500
        f"{summary}\n{logged_errors(production)}"
    )
    unavailable = [o for o in outcomes if o.status == 503]
    assert unavailable, "the outage was not seen"
    for o in unavailable:
        assert o.body == {
            "error": "service_unavailable",
            "data": None,
            "message": "The database is unavailable. Try again in 5 seconds.",
        }
    # No hang: refused connections fail fast; even requests that met the shutdown
    # return within the connect timeout.
    assert max(o.ended - o.started for o in outcomes) < 10
    # During the outage (PostgreSQL stopped), requests were answered: with a 503.
    assert [o for o in outcomes if stopping + 0.5 < o.started and o.ended < restarting]
    assert all(
        o.status == 503 for o in outcomes if stopping + 0.5 < o.started and o.ended < restarting
    )
    # Recovered by itself: everything after the restart succeeds again.
    settled = [o for o in outcomes if o.started > restarted + 1]
    assert len(settled) >= 10
    assert all(o.status == EXPECTED[o.op] for o in settled), Counter(o.status for o in settled)
    assert load.ok_between(restarted + 1, ended) >= 10
    assert during.status == 503 and during.json["checks"]["database"] == "unavailable"
    assert after.status == 200
    assert_durable(production, load)
