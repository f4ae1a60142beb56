"""Benchmark POST /v1/dnc/batch-delete: 1,000 entries removed in one request from a list
of a million.

Usage (from the repo root):
    python bench/bench_batch_delete.py [--db sqlite|postgresql] [--db-url URL]
                                       [--sqlite-path PATH] [--entries 1000000]
                                       [--requests 20] [--json]

1. Loads the list (bench/load_entries.py; reused when already loaded) and creates a key.
2. Each round picks 1,000 loaded entries spread over the whole list, removes them with one
   POST /v1/dnc/batch-delete through the whole Flask stack in-process (test client:
   routing, key check, rate limiter, JSON, the service's one transaction: the read, the
   DELETE, the change-log operation), by `ids`, then (next rounds) by `urls` in client
   forms; then puts them back through the service (not measured), so that the list keeps
   its size. p50/p95/max of the wall time in ms and the p50 of the process's CPU time.
   Target: < 200 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.load_entries import (  # noqa: E402
    database_url,
    ensure_team,
    listed_url,
    make_app,
    new_api_key,
)

HIGH = "1000000/second"
BATCH = 1000
WARM_UP = 2


def _percentiles(samples: list[float], cpu: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
        "max_ms": round(ordered[-1], 2),
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "requests": len(ordered),
    }


def bench(app, team_id: str, key: str, entries: int, requests: int) -> dict:
    from sqlalchemy import select

    from dnc_app.domain import entries as service
    from dnc_app.domain.changelog import Actor, ActorType
    from dnc_app.extensions import db
    from dnc_app.storage.models import DncEntry

    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    actor = Actor(ActorType.CLI, None, "bench")
    rng = random.Random(7)
    results = {}
    for kind in ("ids", "urls"):
        samples, cpu = [], []
        for i in range(requests + WARM_UP):
            urls = [listed_url(n) for n in rng.sample(range(entries), BATCH)]
            if kind == "ids":
                with app.app_context():
                    items = list(
                        db.session.execute(
                            select(DncEntry.id).where(
                                DncEntry.team_id == team_id, DncEntry.url.in_(urls)
                            )
                        ).scalars()
                    )
                    db.session.remove()
            else:  # as a client holds them
                items = [url.replace("https://", "https://www.") + "/" for url in urls]
            started, started_cpu = time.perf_counter(), time.process_time()
            resp = client.post(
                "/v1/dnc/batch-delete", json={kind: items, "reason": "bench"}, headers=headers
            )
            if i >= WARM_UP:
                samples.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            data = resp.get_json()["data"]
            assert resp.status_code == 200 and data["removed"] == BATCH, data["removed"]
            with app.app_context():
                service.add_entries(team_id, urls, source="cli", actor=actor)
                db.session.remove()
        results[kind] = _percentiles(samples, cpu)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--db-url",
        "--pg-url",
        dest="db_url",
        default=None,
        help="a database URL (sqlite:///… or postgresql://…); sets --db",
    )
    parser.add_argument("--sqlite-path", type=Path, default=None)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.db_url:
        args.db = "sqlite" if args.db_url.startswith("sqlite") else "postgresql"
    url = (
        args.db_url
        if args.db_url and args.db == "postgresql"
        else database_url(
            args.db,
            args.sqlite_path
            or (Path(args.db_url.removeprefix("sqlite:///")) if args.db_url else None),
        )
    )
    loader = make_app(url)
    team = ensure_team(loader, args.entries)
    from dnc_app import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": loader.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": loader.config["SECRET_KEY"],
            "LOG_LEVEL": "WARNING",
            "DNC_WRITE_LIMIT": HIGH,
            "DNC_BATCH_LIMIT": HIGH,
            "API_AUTH_FAILURE_LIMIT": HIGH,
        }
    )
    key = new_api_key(app, team["team_id"])
    report = {
        "db": args.db,
        "entries": args.entries,
        "batch_delete_1000": bench(app, team["team_id"], key, args.entries, args.requests),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"batch-delete against {args.entries:,} entries ({args.db}):")
    for kind, f in report["batch_delete_1000"].items():
        print(
            f"  POST /v1/dnc/batch-delete, 1,000 {kind:<4}  p50 {f['p50_ms']:6.1f} ms  "
            f"p95 {f['p95_ms']:6.1f} ms  max {f['max_ms']:6.1f} ms  (CPU p50 "
            f"{f['cpu_p50_ms']:.1f} ms; {f['requests']} requests; target < 200 ms)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
