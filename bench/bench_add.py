"""Benchmark POST /v1/dnc under gunicorn, against a bare Flask endpoint in the same run.

Usage (from the repo root):
    python bench/bench_add.py [--db sqlite|postgresql] [--pg-url URL] [--seconds 5]
                              [--clients 1,8,32] [--teams 8] [--workers 1] [--threads 8]
                              [--json]

Starts the service (gunicorn.conf.py; a fresh SQLite file, or the given PostgreSQL
database) with the write limit raised out of the way — the limiter still runs on every
request — and the bare Flask app of bench/bare_app.py under the same configuration.
At each client count it runs both (alternating, best of --rounds) and prints requests/s,
p50/p99 latency and the ratio. Every request adds a new URL (a 201), spread over --teams
teams, as an integration sending its opt-outs would. Then the normalizer's URLs/s.

Target: at 8 clients, POST /v1/dnc >= 35% of the bare endpoint's requests/s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import bench_normalize  # noqa: E402
from bench.bench_api import server_env  # noqa: E402
from bench.common import bare_server, run_load, start_gunicorn, target_line  # noqa: E402
from bench.load_entries import make_app, new_api_key  # noqa: E402

# Issue 12: an add at 8 clients reaches at least this share of the bare endpoint.
ADD_TARGET = 0.35

FORMS = [
    "https://www.linkedin.com/in/{}/",
    "linkedin.com/in/{}",
    "LINKEDIN.COM/IN/{}",
    "https://uk.linkedin.com/in/{}?trk=public_profile",
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def create_teams(app, count: int) -> list[str]:
    from dnc_app.domain.accounts.teams import create_team

    keys = []
    with app.app_context():
        for i in range(count):
            team = create_team(f"Bench add {i}")
            keys.append(team.id)
    return [new_api_key(app, team_id) for team_id in keys]


def add_requests(keys: list[str]):
    """make_request for run_load: a new URL every time, in a random accepted form."""
    counter = itertools.count()
    rng = random.Random()

    def make_request():
        # The pid keeps the URLs of the load generator's processes apart.
        name = f"bench-{os.getpid()}-{next(counter)}-{rng.randrange(10**9)}"
        body = json.dumps({"url": rng.choice(FORMS).format(name)}).encode()
        headers = {
            "Authorization": f"Bearer {rng.choice(keys)}",
            "Content-Type": "application/json",
        }
        return "POST", "/v1/dnc", body, headers

    return make_request


def ping_request():
    return "GET", "/ping", None, {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", help="PostgreSQL URL (a database the bench may fill)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--teams", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dnc-bench-add-") as tmp:
        if args.db == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        elif args.pg_url:
            url = args.pg_url
        else:
            parser.error("--pg-url is required with --db postgresql")
        app = make_app(url)
        keys = create_teams(app, args.teams)
        env = server_env(url, None)
        results = []
        with (
            start_gunicorn(env, args.workers, args.threads) as api,
            bare_server(args.workers, args.threads) as bare,
        ):
            for clients in [int(c) for c in args.clients.split(",")]:
                best_api, best_bare = None, None
                for _ in range(args.rounds):
                    a = run_load(
                        api.url, add_requests(keys), clients, args.seconds, server_pid=api.proc.pid
                    )
                    b = run_load(
                        bare.url, ping_request, clients, args.seconds, server_pid=bare.proc.pid
                    )
                    if a["errors"]:
                        raise SystemExit(f"POST /v1/dnc errors: {a['statuses']}")
                    best_api = a if best_api is None or a["rps"] > best_api["rps"] else best_api
                    best_bare = b if best_bare is None or b["rps"] > best_bare["rps"] else best_bare
                row = {
                    "clients": clients,
                    "add": best_api,
                    "bare": best_bare,
                    "ratio": best_api["rps"] / best_bare["rps"],
                    "cpu_ratio": best_bare["server_cpu_us"] / best_api["server_cpu_us"],
                }
                results.append(row)
                log(
                    f"{clients:>3} clients  POST /v1/dnc {best_api['rps']:8.0f} req/s  "
                    f"p50 {best_api['p50_ms']:6.2f} ms  p99 {best_api['p99_ms']:7.2f} ms   "
                    f"bare {best_bare['rps']:8.0f} req/s   ratio {row['ratio']:.0%}"
                )
        normalizer = bench_normalize.run(2.0)

    if args.json:
        print(
            json.dumps(
                {
                    "db": args.db,
                    "workers": args.workers,
                    "threads": args.threads,
                    "add": results,
                    "normalizer": normalizer,
                },
                indent=2,
                default=str,
            )
        )
        return 0
    print(
        f"\nPOST /v1/dnc on {args.db}, gunicorn {args.workers} worker(s) x "
        f"{args.threads} threads, {args.teams} teams, best of {args.rounds} x "
        f"{args.seconds:g}s"
    )
    print(
        f"{'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'bare req/s':>11} {'ratio':>6}"
    )
    for row in results:
        a = row["add"]
        print(
            f"{row['clients']:>7} {a['rps']:>8.0f} {a['p50_ms']:>8.2f} {a['p99_ms']:>8.2f} "
            f"{row['bare']['rps']:>11.0f} {row['ratio']:>6.0%}"
        )
    print(target_line("POST /v1/dnc", results, 8, ADD_TARGET))
    print("server CPU per request (less disturbed by other load on the machine):")
    for row in results:
        print(
            f"{row['clients']:>7} clients: add {row['add']['server_cpu_us']:,.0f} µs, "
            f"bare {row['bare']['server_cpu_us']:,.0f} µs, ratio {row['cpu_ratio']:.0%}"
        )
    typical = normalizer.get("typical", normalizer)
    print(f"\nnormalizer: {typical.get('urls_per_sec', 0):,.0f} URLs/s (typical URL, one core)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
