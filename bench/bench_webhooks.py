"""Benchmark webhook delivery: events/s to a local receiver, and the time from a 201 to
the receiver's first delivery (p50, p95).

Usage (from the repo root):
    python bench/bench_webhooks.py [--db sqlite|postgresql] [--pg-url URL]
                                   [--adds 100] [--events 2000] [--json]

Starts the service under gunicorn (gunicorn.conf.py, one worker: its delivery loop) on a
fresh SQLite file or the given PostgreSQL database, with a threaded http.server receiver
on loopback (WEBHOOK_ALLOW_PRIVATE=1) that verifies every signature. Latency: --adds
single adds one after another, each timed from its 201 to the arrival of its event.
Throughput: --events entries added in batches of 1,000, timed from the first batch's 201
to the last event's arrival.

Target: p50 < 1 s from a 201 to the first delivery.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.bench_api import server_env  # noqa: E402
from bench.common import start_gunicorn  # noqa: E402
from bench.load_entries import make_app, new_api_key  # noqa: E402
from tests.test_live_concurrency import post_json  # noqa: E402
from tests.webhook_support import Receiver  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def set_up(app, receiver_url: str) -> tuple[str, str]:
    from dnc_app import accounts
    from dnc_app.webhooks import endpoints

    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver is on loopback
    with app.app_context():
        team = accounts.create_team("Bench webhooks")
        team_id = team.id
        _endpoint, secret = endpoints.create_endpoint(team_id, receiver_url)
    return new_api_key(app, team_id), secret


def latency(base: str, key: str, receiver: Receiver, adds: int) -> list[float]:
    seconds = []
    for n in range(adds):
        before = len(receiver.received)
        status, _body = post_json(base, "/v1/dnc", {"url": f"in/latency-{n}"}, key)
        answered = time.monotonic()
        assert status == 201, status
        # May be negative by a little: the event can arrive before the 201 is read.
        seconds.append(receiver.wait_for(before + 1)[before].at - answered)
        time.sleep(0.05)  # one add at a time, as a person or a sync would
    return seconds


def throughput(base: str, key: str, receiver: Receiver, events: int) -> float:
    before = len(receiver.received)
    started = None
    for start in range(0, events, 1000):
        batch = [{"url": f"in/many-{n}"} for n in range(start, min(events, start + 1000))]
        status, _body = post_json(base, "/v1/dnc/batch", {"entries": batch}, key)
        assert status == 201, status
        started = started or time.monotonic()
    receiver.wait_for(before + events, timeout=600)
    return events / (receiver.received[-1].at - started)


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default="")
    parser.add_argument("--adds", type=int, default=100)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg_url if args.db == "postgresql" else f"sqlite:///{tmp}/bench.sqlite3"
        app = make_app(url)
        receiver = Receiver().start()
        try:
            key, secret = set_up(app, receiver.url)
            env = {**server_env(url, None), "WEBHOOK_ALLOW_PRIVATE": "1",
                   "LOG_LEVEL": "WARNING"}
            with start_gunicorn(env, workers=1, threads=8) as server:
                log(f"latency: {args.adds} single adds …")
                seconds = latency(server.url, key, receiver, args.adds)
                log(f"throughput: {args.events} events …")
                rate = throughput(server.url, key, receiver, args.events)
            for received in receiver.received:
                received.verified(secret)
        finally:
            receiver.stop()
    result = {"db": args.db, "adds": args.adds, "events": args.events,
              "p50_ms": round(percentile(seconds, 50) * 1000, 1),
              "p95_ms": round(percentile(seconds, 95) * 1000, 1),
              "events_per_s": round(rate)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"201 -> first delivery ({args.db}): p50 {result['p50_ms']} ms, "
              f"p95 {result['p95_ms']} ms over {args.adds} adds")
        print(f"delivered: {result['events_per_s']} events/s ({args.events} events, "
              "signatures verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
