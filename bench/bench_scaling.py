"""Production mode scaling: requests/s with 1, 2 and 4 gunicorn workers on PostgreSQL + Redis.

Usage (from the repo root):
    python bench/bench_scaling.py [--seconds 10] [--workers 1,2,4] [--clients 16]
                                  [--database-url URL --redis-url URL] [--json]

For each worker count, three closed-loop loads of --seconds each (after a 1 s warm-up):
- bare:  the bare Flask JSON endpoint (bench/bare_app.py) under the same gunicorn
         configuration: the yardstick;
- check: GET /v1/dnc/check of a listed or an unknown profile, keys of 8 teams;
- mixed: the load test's mix (30% add, 5% batch of 20, 35% check, 20% list, 10% delete)
         over the 8 teams.
The API figures are also given as a share of the bare endpoint's requests/s at the same
worker count. Limits are raised for the run (this measures the work, not the 429s).

Without --database-url/--redis-url (or BENCH_DATABASE_URL / BENCH_REDIS_URL), a throwaway
PostgreSQL cluster and Redis server are started for the run (as the tests do) and removed
after. A given database is migrated, and the benchmark's teams (named "Bench …") stay in
it: entries are only ever removed through the service layer.

The load generator (bench/common.py) runs on the same machine as the server: on a 2-core
machine it takes a good part of the CPU the workers would use.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import secrets
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.common import bare_server, run_load, start_gunicorn  # noqa: E402

TEAMS = 8
SEEDED_PER_TEAM = 2_000
SECRET = "bench-scaling-secret-key-0123456789abcdef"
GENEROUS_LIMITS = {
    name: "1000000/minute"
    for name in ("DNC_WRITE_LIMIT", "DNC_BATCH_LIMIT", "DNC_CHECK_LIMIT", "DNC_LIST_LIMIT")
}
MIX = [("add", 30), ("batch", 5), ("check", 35), ("list", 20), ("delete", 10)]


@contextlib.contextmanager
def services(database_url: str | None, redis_url: str | None):
    """The given URLs, or a throwaway PostgreSQL and Redis for the run."""
    started = []
    try:
        if not database_url:
            from tests.services import PostgresServer

            pg = PostgresServer("dnc_bench").start()
            started.append(pg)
            database_url = pg.url
        if not redis_url:
            from tests.services import RedisServer

            redis = RedisServer().start()
            started.append(redis)
            redis_url = redis.url
        yield database_url, redis_url
    finally:
        for server in reversed(started):
            server.destroy()


def seed(database_url: str) -> list[dict]:
    """Migrate, create TEAMS teams with SEEDED_PER_TEAM entries each; their keys and ids."""
    os.environ["SECRET_KEY"] = SECRET
    from flask_migrate import upgrade

    from dnc_app import create_app
    from dnc_app.domain import entries as service
    from dnc_app.domain.accounts.apikeys import create_api_key
    from dnc_app.domain.accounts.teams import create_team
    from dnc_app.domain.changelog import Actor, ActorType
    from dnc_app.extensions import db

    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "RATELIMIT_STORAGE_URI": "memory://"}
    )
    actor = Actor(ActorType.CLI, None, "bench")
    teams = []
    with app.app_context():
        upgrade()
        run = secrets.token_hex(3)
        for t in range(TEAMS):
            team = create_team(f"Bench {run} {t}", f"bench-{run}-{t}")
            _key, secret = create_api_key(team.id, name="bench", actor=actor)
            urls = [f"https://linkedin.com/in/seed-{t}-{n}" for n in range(SEEDED_PER_TEAM)]
            service.add_entries(team.id, urls, source="api", actor=actor)
            ids = [e.id for e in service.list_entries(team.id, limit=SEEDED_PER_TEAM).entries]
            teams.append({"id": team.id, "key": secret, "urls": urls, "ids": ids})
        db.engine.dispose()
    return teams


def request_makers(teams: list[dict]):
    """make_request functions for bench/common.run_load (called in forked clients)."""
    headers = [{"Authorization": f"Bearer {t['key']}"} for t in teams]
    json_headers = [{**h, "Content-Type": "application/json"} for h in headers]
    # Each seeded id is deleted once: a counter shared by the forked load processes.
    next_delete = multiprocessing.get_context("fork").Value("l", 0)
    deletable = [(n, entry_id) for n, t in enumerate(teams) for entry_id in t["ids"]]
    random.Random(1).shuffle(deletable)
    ops, weights = [op for op, _ in MIX], [w for _, w in MIX]

    def check():
        n = random.randrange(len(teams))
        team = teams[n]
        url = (
            random.choice(team["urls"])
            if random.random() < 0.5
            else f"https://linkedin.com/in/unknown-{uuid.uuid4().hex[:12]}"
        )
        return "GET", f"/v1/dnc/check?url={url}", None, headers[n]

    def mixed():
        op = random.choices(ops, weights)[0]
        n = random.randrange(len(teams))
        if op == "check":
            return check()
        if op == "list":
            return "GET", "/v1/dnc?limit=50", None, headers[n]
        if op == "add":
            body = {"url": f"https://linkedin.com/in/bench-{uuid.uuid4().hex}"}
            return "POST", "/v1/dnc", json.dumps(body).encode(), json_headers[n]
        if op == "batch":
            body = {
                "entries": [
                    {"url": f"https://linkedin.com/in/bench-{uuid.uuid4().hex}"} for _ in range(20)
                ]
            }
            return "POST", "/v1/dnc/batch", json.dumps(body).encode(), json_headers[n]
        with next_delete.get_lock():
            i = next_delete.value
            next_delete.value += 1
        n, entry_id = deletable[i % len(deletable)]
        return "DELETE", f"/v1/dnc/{entry_id}", None, headers[n]

    return check, mixed


def measure(workers: int, env: dict, makers, clients: int, seconds: float) -> dict:
    check, mixed = makers
    row = {"workers": workers}
    with bare_server(workers=workers, threads=8, env=env) as server:
        row["bare"] = run_load(
            server.url, lambda: ("GET", "/ping", None, {}), clients=clients, seconds=seconds
        )
    with start_gunicorn(env, workers=workers, threads=8) as server:
        row["check"] = run_load(server.url, check, clients=clients, seconds=seconds)
        row["mixed"] = run_load(server.url, mixed, clients=clients, seconds=seconds)
    for name in ("check", "mixed"):
        row[name]["ratio_to_bare"] = row[name]["rps"] / row["bare"]["rps"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]

    started = time.monotonic()
    with services(args.database_url, args.redis_url) as (database_url, redis_url):
        teams = seed(database_url)
        env = {
            **GENEROUS_LIMITS,
            "SECRET_KEY": SECRET,
            "DATABASE_URL": database_url,
            "RATELIMIT_STORAGE_URI": redis_url,
        }
        makers = request_makers(teams)  # once: deletes never repeat an id across runs
        rows = [measure(w, env, makers, args.clients, args.seconds) for w in worker_counts]
    result = {
        "seconds": args.seconds,
        "clients": args.clients,
        "cpus": os.cpu_count(),
        "rows": rows,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"production mode scaling: PostgreSQL + Redis, gthread x 8 threads, "
        f"{args.clients} clients, {args.seconds:g} s per figure, {os.cpu_count()} CPUs "
        "(load generator on the same machine)"
    )
    print(
        f"{'workers':>7}  {'bare rps':>9}  {'check rps':>9} {'(share)':>8} {'p99 ms':>7}"
        f"  {'mixed rps':>9} {'(share)':>8} {'p99 ms':>7}  errors"
    )
    for row in rows:
        bare, check, mixed = row["bare"], row["check"], row["mixed"]
        errors = bare["errors"] + check["errors"] + mixed["errors"]
        print(
            f"{row['workers']:>7}  {bare['rps']:>9.0f}  {check['rps']:>9.0f} "
            f"{check['ratio_to_bare']:>8.0%} {check['p99_ms']:>7.1f}  {mixed['rps']:>9.0f} "
            f"{mixed['ratio_to_bare']:>8.0%} {mixed['p99_ms']:>7.1f}  {errors}"
        )
    first = rows[0]
    for row in rows[1:]:
        print(
            f"  {row['workers']} workers vs {first['workers']}: bare "
            f"x{row['bare']['rps'] / first['bare']['rps']:.2f}, check "
            f"x{row['check']['rps'] / first['check']['rps']:.2f}, mixed "
            f"x{row['mixed']['rps'] / first['mixed']['rps']:.2f}"
        )
    print(f"(wall time {result['wall_seconds']} s)")


if __name__ == "__main__":
    main()
