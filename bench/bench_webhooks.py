"""Benchmark webhook delivery: the delay from a 201 to the receiver (quiet, and while five
endpoints of another team misbehave), the time for a batch of 1,000 events to reach a
healthy endpoint in full beside them, and events/s to one fast receiver.

Usage (from the repo root):
    python bench/bench_webhooks.py [--db sqlite|postgresql] [--pg-url URL]
                                   [--adds 100] [--events 5000] [--timeout 10] [--json]

Starts the service under gunicorn (gunicorn.conf.py, one worker: its delivery loop, the
defaults for concurrency and leases) on a fresh SQLite file or the given PostgreSQL
database, with receivers on loopback (WEBHOOK_ALLOW_PRIVATE=1); every signature the
healthy receivers got is verified at the end.

1. quiet: --adds single adds one after another, each timed from its 201 to the arrival
   of its event (the receiver closes each connection, like a plain HTTP/1.0 server).
2. isolation: a second team gets five endpoints that hang, trickle their answer a byte
   a second, answer 500, answer 410 and hang, with a backlog of 200 events each; the
   first team's endpoint is timed again (--adds single adds), then a batch of 1,000 from
   its 201 to the last event's arrival. WEBHOOK_TIMEOUT is --timeout.
3. throughput: --events entries added in batches of 1,000 for a third team whose
   receiver (asyncio, in a process of its own) keeps connections alive, timed from the
   first batch's 201 to the last event's arrival (one process delivers).

Targets: quiet p50 < 50 ms; with the five misbehaving, p95 < 2 s; throughput >= 1,000
events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from standardwebhooks import Webhook  # noqa: E402

from bench.bench_api import server_env  # noqa: E402
from bench.common import start_gunicorn  # noqa: E402
from bench.load_entries import make_app, new_api_key  # noqa: E402
from tests.test_live_concurrency import post_json  # noqa: E402
from tests.webhook_support import Misbehaving, Receiver  # noqa: E402

MISBEHAVING = ("hang", "trickle", 500, 410, "hang")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def new_team(app, name: str, urls: list[str]) -> tuple[str, str, list[str]]:
    """A team with an API key and one endpoint per URL: (team id, key, secrets)."""
    from dnc_app.domain.accounts.teams import create_team
    from dnc_app.events.webhooks import endpoints

    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the receivers are on loopback
    with app.app_context():
        team_id = create_team(name).id
        secrets = [endpoints.create_endpoint(team_id, url)[1] for url in urls]
    return team_id, new_api_key(app, team_id), secrets


def delays(base: str, key: str, receiver: Receiver, adds: int, prefix: str) -> list[float]:
    seconds = []
    for n in range(adds):
        before = len(receiver.received)
        status, _body = post_json(base, "/v1/dnc", {"url": f"in/{prefix}-{n}"}, key)
        answered = time.monotonic()
        assert status == 201, status
        # May be negative by a little: the event can arrive before the 201 is read.
        seconds.append(receiver.wait_for(before + 1, timeout=60)[before].at - answered)
        time.sleep(0.05)  # one add at a time, as a person or a sync would
    return seconds


def batches(base: str, key: str, receiver: Receiver, events: int, prefix: str) -> float:
    """Seconds from the first batch's 201 to the arrival of the last event."""
    before = len(receiver.received)
    started = None
    for start in range(0, events, 1000):
        batch = [{"url": f"in/{prefix}-{n}"} for n in range(start, min(events, start + 1000))]
        status, _body = post_json(base, "/v1/dnc/batch", {"entries": batch}, key)
        assert status == 201, status
        started = started or time.monotonic()
    receiver.wait_for(before + events, timeout=600)
    return receiver.received[-1].at - started


class FastReceiver:
    """A receiver in a process of its own (asyncio, kept-alive connections, one write per
    answer), so that it is not what limits the throughput measured. Every request is
    appended to a file and verified afterwards."""

    def __init__(self, path: Path):
        self.path = path
        self.count = multiprocessing.Value("q", 0)
        self.last = multiprocessing.Value("d", 0.0)  # time.time() of the latest arrival
        ready = multiprocessing.Event()
        self.port = multiprocessing.Value("i", 0)
        self.proc = multiprocessing.Process(
            target=_fast_receiver,
            daemon=True,
            args=(str(path), self.count, self.last, self.port, ready),
        )
        self.proc.start()
        ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port.value}/hook"

    def wait_for(self, count: int, timeout: float = 600) -> float:
        """The arrival (time.time()) of the count-th request."""
        deadline = time.monotonic() + timeout
        while self.count.value < count:
            assert time.monotonic() < deadline, f"{self.count.value} of {count} arrived"
            time.sleep(0.01)
        return self.last.value

    def requests(self) -> list[tuple[dict[str, str], bytes]]:
        data, found, at = self.path.read_bytes(), [], 0
        while at < len(data):
            (length,) = struct.unpack_from("!I", data, at)
            head, _sep, body = data[at + 4 : at + 4 + length].partition(b"\r\n\r\n")
            headers = dict(line.decode().split(": ", 1) for line in head.split(b"\r\n")[1:])
            found.append(({k.lower(): v for k, v in headers.items()}, body))
            at += 4 + length
        return found

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join()


def _fast_receiver(path, count, last, port, ready) -> None:
    out = open(path, "ab", buffering=1 << 20)  # noqa: SIM115 (open until terminated)
    length = re.compile(rb"(?i)content-length:\s*(\d+)")

    class Protocol(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport, self.buffer = transport, b""

        def data_received(self, data):
            self.buffer += data
            while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
                found = length.search(self.buffer, 0, end)
                size = end + 4 + (int(found.group(1)) if found else 0)
                if len(self.buffer) < size:
                    return
                request, self.buffer = self.buffer[:size], self.buffer[size:]
                out.write(struct.pack("!I", len(request)) + request)
                out.flush()
                last.value = time.time()
                count.value += 1
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    async def serve():
        server = await asyncio.get_running_loop().create_server(Protocol, "127.0.0.1", 0)
        port.value = server.sockets[0].getsockname()[1]
        ready.set()
        await server.serve_forever()

    asyncio.run(serve())


def throughput(base: str, key: str, receiver: FastReceiver, events: int) -> float:
    """Seconds from the first batch's 201 to the arrival of the last event."""
    started = None
    for start in range(0, events, 1000):
        batch = [{"url": f"in/many-{n}"} for n in range(start, min(events, start + 1000))]
        status, _body = post_json(base, "/v1/dnc/batch", {"entries": batch}, key)
        assert status == 201, status
        started = started or time.time()
    return receiver.wait_for(events) - started


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default="")
    parser.add_argument("--adds", type=int, default=100)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result: dict = {
        "db": args.db,
        "adds": args.adds,
        "events": args.events,
        "webhook_timeout_s": args.timeout,
    }
    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg_url if args.db == "postgresql" else f"sqlite:///{tmp}/bench.sqlite3"
        app = make_app(url)
        healthy, fast = Receiver().start(), FastReceiver(Path(tmp) / "fast.log")
        bad = [Misbehaving(mode).start() for mode in MISBEHAVING]
        try:
            _team, key, (secret,) = new_team(app, "Healthy", [healthy.url])
            _noisy, noisy_key, _ = new_team(app, "Noisy", [b.url for b in bad])
            _busy, busy_key, (fast_secret,) = new_team(app, "Busy", [fast.url])
            env = {
                **server_env(url, None),
                "WEBHOOK_ALLOW_PRIVATE": "1",
                "WEBHOOK_TIMEOUT": str(args.timeout),
                "LOG_LEVEL": "WARNING",
            }
            with start_gunicorn(env, workers=1, threads=8) as server:
                log(f"quiet: {args.adds} single adds …")
                quiet = delays(server.url, key, healthy, args.adds, "quiet")
                log("isolation: five misbehaving endpoints with a backlog …")
                status, _body = post_json(
                    server.url,
                    "/v1/dnc/batch",
                    {"entries": [{"url": f"in/noise-{n}"} for n in range(200)]},
                    noisy_key,
                )
                assert status == 201, status
                noisy = delays(server.url, key, healthy, args.adds, "noisy")
                batch_s = batches(server.url, key, healthy, 1000, "beside")
                log(f"throughput: {args.events} events to a kept-alive receiver …")
                rate = args.events / throughput(server.url, busy_key, fast, args.events)
            for received in healthy.received:
                received.verified(secret)
            fast_requests = fast.requests()
            assert len(fast_requests) == args.events
            verifier = Webhook(fast_secret)
            for headers, body in fast_requests:
                verifier.verify(body, headers)
            attempts_bad = [len(b.requests) for b in bad]
        finally:
            for receiver in (healthy, fast, *bad):
                receiver.stop()
    result.update(
        {
            "quiet_p50_ms": ms(percentile(quiet, 50)),
            "quiet_p95_ms": ms(percentile(quiet, 95)),
            "misbehaving_p50_ms": ms(percentile(noisy, 50)),
            "misbehaving_p95_ms": ms(percentile(noisy, 95)),
            "misbehaving_max_ms": ms(max(noisy)),
            "batch_1000_beside_misbehaving_s": round(batch_s, 2),
            "misbehaving_attempts": attempts_bad,
            "events_per_s": round(rate),
        }
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"201 -> delivery, quiet ({args.db}): p50 {result['quiet_p50_ms']} ms, "
        f"p95 {result['quiet_p95_ms']} ms over {args.adds} adds"
    )
    print(
        f"201 -> delivery beside 5 misbehaving endpoints (timeout {args.timeout:g} s): "
        f"p50 {result['misbehaving_p50_ms']} ms, p95 {result['misbehaving_p95_ms']} ms, "
        f"max {result['misbehaving_max_ms']} ms"
    )
    print(
        f"a batch of 1,000 beside them: in full after {result['batch_1000_beside_misbehaving_s']}"
        f" s (attempts at the misbehaving: {attempts_bad})"
    )
    print(
        f"throughput to one kept-alive receiver: {result['events_per_s']} events/s "
        f"({args.events} events, signatures verified)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
