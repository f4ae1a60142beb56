"""Benchmark the changes feed: read a team's feed of 100,000 changes page by page.

Usage (from the repo root):
    python bench/bench_changes.py [--db sqlite|postgresql] [--pg-url URL]
                                  [--entries 100000] [--limits 100,1000] [--polls 200]
                                  [--threads 4] [--json]

1. Loads the team (bench/load_entries.py, reused when already loaded): each of its
   entries is one `added` change in the change log.
2. Starts the service under gunicorn with the limits raised out of the way.
3. For each page size in --limits: one client follows the feed from the start to the end,
   as a connector catching up does (each request needs the previous page's nextCursor, so
   the pages are sequential); pages/s, changes/s, p50/p99 per page.
4. A caught-up poll (the end cursor, nothing new), --polls times: p50/p99, what a
   connector that polls every few seconds costs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.common import start_gunicorn, summarize  # noqa: E402
from bench.load_entries import database_url, ensure_team, make_app, new_api_key  # noqa: E402

HIGH = "1000000/second"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def get_page(conn: http.client.HTTPConnection, key: str, cursor: str, limit: int) -> dict:
    conn.request(
        "GET",
        "/v1/dnc/changes?" + urlencode({"cursor": cursor, "limit": limit}),
        headers={"Authorization": f"Bearer {key}"},
    )
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"changes answered {resp.status}: {body[:200]!r}")
    return json.loads(body)["data"]


def follow_feed(url: str, key: str, limit: int) -> dict:
    """Read the whole feed from the start; per-page latencies and the end cursor."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    latencies, changes, cursor = [], 0, ""
    started = time.perf_counter()
    try:
        while True:
            began = time.perf_counter()
            page = get_page(conn, key, cursor, limit)
            latencies.append(time.perf_counter() - began)
            changes += len(page["changes"])
            cursor = page["nextCursor"]
            if not page["hasMore"]:
                break
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    return {
        "limit": limit,
        "pages": len(latencies),
        "changes": changes,
        "seconds": seconds,
        "pages_per_s": len(latencies) / seconds,
        "changes_per_s": changes / seconds,
        **summarize(latencies),
        "end": cursor,
    }


def caught_up_polls(url: str, key: str, cursor: str, polls: int) -> dict:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    latencies = []
    try:
        for _ in range(polls):
            began = time.perf_counter()
            page = get_page(conn, key, cursor, 100)
            latencies.append(time.perf_counter() - began)
            if page["changes"]:
                raise RuntimeError("the feed changed during the benchmark")
    finally:
        conn.close()
    return summarize(latencies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sqlite-path", type=Path, default=None)
    parser.add_argument("--pg-url", default=os.environ.get("DNC_BENCH_PG_URL"))
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--limits", default="100,1000")
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    url = database_url(args.db, args.sqlite_path, args.pg_url)
    app = make_app(url)
    loaded = ensure_team(app, args.entries, log=log)
    key = new_api_key(app, loaded["team_id"])
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key",
        "LOG_LEVEL": "WARNING",
        "RATELIMIT_STORAGE_URI": "memory://",
        "DNC_CHANGES_LIMIT": HIGH,
    }
    results = {"db": args.db, "entries": args.entries, "walks": []}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_gunicorn(
            env, workers=1, threads=args.threads, log_path=Path(tmp) / "gunicorn.log"
        )
        try:
            for limit in (int(n) for n in args.limits.split(",")):
                walk = follow_feed(server.url, key, limit)
                log(
                    f"  limit {limit:>5}: {walk['pages']:,} pages in {walk['seconds']:.1f} s, "
                    f"{walk['pages_per_s']:,.0f} pages/s, {walk['changes_per_s']:,.0f} "
                    f"changes/s, p50 {walk['p50_ms']:.1f} ms, p99 {walk['p99_ms']:.1f} ms"
                )
                results["walks"].append(walk)
            results["caught_up_poll"] = caught_up_polls(
                server.url, key, results["walks"][-1]["end"], args.polls
            )
            poll = results["caught_up_poll"]
            log(f"  caught-up poll: p50 {poll['p50_ms']:.1f} ms, p99 {poll['p99_ms']:.1f} ms")
        finally:
            server.stop()
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
