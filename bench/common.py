"""Shared benchmark helpers: gunicorn servers and an HTTP load generator (stdlib only).

    from bench.common import start_gunicorn, bare_server, run_load

    with start_gunicorn(env, workers=1, threads=8) as server:      # app:app
        result = run_load(server.url, lambda: ("GET", "/healthz", None, {}), clients=8,
                          seconds=5)
        print(result)  # {"rps", "p50_ms", "p99_ms", "errors", "requests", "statuses"}

`bare_server()` starts `bench/bare_app.py` (a Flask app with one JSON endpoint, `/ping`)
under the same gunicorn configuration, the yardstick the API's figures are divided by.

The load generator runs its clients as threads spread over a few processes (so that the
client side is not limited by one interpreter), each client with one keep-alive
connection and at most one request in flight (a closed loop: the request rate is what
the server sustains). It speaks just enough HTTP/1.1 for these servers: requests are
built by hand and responses are read by Content-Length.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))

# (method, path with query, body or None, extra headers)
Request = tuple[str, str, bytes | None, dict[str, str]]


# ----------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM (gunicorn: a graceful shutdown), then a kill if it has not exited in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Server:
    """A gunicorn process serving `app` with the repository's gunicorn.conf.py."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        app: str = "app:app",
        workers: int = 1,
        threads: int = 8,
        health_path: str = "/healthz",
        log_path: Path | None = None,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = app
        self.env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env}
        self.workers, self.threads = workers, threads
        self.health_path = health_path
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 60.0) -> Server:
        if self.log_path:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        out = self._log or subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [
                GUNICORN,
                self.app,
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=out,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._close_log()
                raise RuntimeError(
                    f"gunicorn ({self.app}) exited with {self.proc.returncode}"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            try:
                with urllib.request.urlopen(self.url + self.health_path, timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn ({self.app}) did not become ready")

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc:
            stop_process(self.proc, timeout)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_gunicorn(
    env: dict[str, str],
    workers: int = 1,
    threads: int = 8,
    *,
    app: str = "app:app",
    log_path: Path | None = None,
) -> Server:
    """Start gunicorn (the repository's config, given workers and threads); ready on return."""
    return Server(env, app=app, workers=workers, threads=threads, log_path=log_path).start()


def bare_server(
    workers: int = 1,
    threads: int = 8,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> Server:
    """The bare Flask JSON endpoint (`GET /ping`) under the same gunicorn configuration."""
    return Server(
        env or {},
        app="bench.bare_app:app",
        workers=workers,
        threads=threads,
        health_path="/ping",
        log_path=log_path,
    ).start()


# ----------------------------------------------------------------------------- load


def _encode(host: str, request: Request) -> bytes:
    method, path, body, headers = request
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return head + (body or b"")


class _Connection:
    """One keep-alive HTTP/1.1 connection with one request in flight."""

    def __init__(self, host: str, port: int):
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buffer = sock, b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def exchange(self, raw: bytes) -> int:
        """Send one request; return the status after reading the whole response."""
        sock = self.sock or self._connect()
        sock.sendall(raw)
        while b"\r\n\r\n" not in self.buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by the server")
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by the server")
            rest += chunk
        self.buffer = rest[length:]
        if close:
            self.close()
        return status


def _client(
    host: str,
    port: int,
    make_request: Callable[[], Request],
    start: float,
    measure_from: float,
    stop_at: float,
    out: list,
    statuses: Counter,
    lock: threading.Lock,
) -> None:
    conn = _Connection(host, port)
    latencies: list[float] = []
    local: Counter = Counter()
    wait = start - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    try:
        while True:
            raw = _encode(f"{host}:{port}", make_request())
            began = time.monotonic()
            if began >= stop_at:
                break
            try:
                status = conn.exchange(raw)
            except OSError:
                conn.close()
                status = 0
            ended = time.monotonic()
            if began >= measure_from and ended <= stop_at:
                latencies.append(ended - began)
                local[status] += 1
    finally:
        conn.close()
    with lock:
        out.extend(latencies)
        statuses.update(local)


def _process(
    host: str,
    port: int,
    make_request,
    clients: int,
    start: float,
    measure_from: float,
    stop_at: float,
    pipe,
) -> None:
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=_client,
            args=(
                host,
                port,
                make_request,
                start,
                measure_from,
                stop_at,
                latencies,
                statuses,
                lock,
            ),
        )
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pipe.send((latencies, dict(statuses)))
    pipe.close()


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (Linux /proc), e.g. a gunicorn master and its workers."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def run_load(
    url: str,
    make_request: Callable[[], Request],
    clients: int,
    seconds: float,
    *,
    warmup: float = 1.0,
    processes: int | None = None,
    server_pid: int | None = None,
) -> dict:
    """Closed-loop load: `clients` concurrent keep-alive clients for `seconds` (after
    `warmup` seconds that are not measured). `make_request()` returns
    (method, path, body, headers) and is called once per request in the clients.

    Returns {"rps", "p50_ms", "p99_ms", "requests", "errors", "statuses"}; errors are
    responses other than 2xx/3xx plus connection failures (status 0). With `server_pid`
    (e.g. `server.proc.pid`), also "server_cpu_us": the CPU time the server's processes
    used per request in the measured window, a figure that other load on a shared
    machine disturbs much less than requests/s.
    """
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    processes = max(1, min(processes or 2, clients))
    share = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    # fork: make_request may be a closure; it is inherited, not pickled.
    context = multiprocessing.get_context("fork")
    start = time.monotonic() + 0.3
    measure_from, stop_at = start + warmup, start + warmup + seconds
    workers = []
    for count in share:
        receiver, sender = context.Pipe(duplex=False)
        proc = context.Process(
            target=_process,
            args=(host, port, make_request, count, start, measure_from, stop_at, sender),
        )
        proc.start()
        sender.close()
        workers.append((proc, receiver))
    cpu_used = None
    if server_pid is not None:
        pids = process_tree(server_pid)
        time.sleep(max(0.0, measure_from - time.monotonic()))
        cpu_before = cpu_seconds(pids)
        time.sleep(max(0.0, stop_at - time.monotonic()))
        cpu_used = cpu_seconds(pids) - cpu_before
    latencies: list[float] = []
    statuses: Counter = Counter()
    for proc, receiver in workers:
        part, counts = receiver.recv()
        receiver.close()
        proc.join()
        latencies += part
        statuses.update(counts)
    latencies.sort()
    errors = sum(n for status, n in statuses.items() if not 200 <= status < 400)
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "requests": len(latencies),
        "errors": errors,
        "statuses": dict(sorted(statuses.items())),
        "server_cpu_us": (
            cpu_used / len(latencies) * 1e6 if cpu_used is not None and latencies else None
        ),
    }


def timed_requests(url: str, requests: list[Request]) -> list[float]:
    """Send requests one after another on one connection; return each latency (seconds)."""
    parts = urlsplit(url)
    conn = _Connection(parts.hostname, parts.port or 80)
    host = f"{parts.hostname}:{parts.port}"
    latencies = []
    try:
        for request in requests:
            raw = _encode(host, request)
            began = time.monotonic()
            status = conn.exchange(raw)
            latencies.append(time.monotonic() - began)
            if not 200 <= status < 300:
                raise RuntimeError(f"{request[0]} {request[1][:80]} answered {status}")
    finally:
        conn.close()
    return latencies


def summarize(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "n": len(ordered),
        "p50_ms": percentile(ordered, 0.5) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def target_line(what: str, rows: list[dict], clients: int, target: float) -> str:
    """'<what> at N clients: 41% of bare (target >= 35%): met' from rows with
    clients/ratio, or a note that N clients were not measured."""
    row = next((r for r in rows if r["clients"] == clients), None)
    if row is None:
        return f"target: {what} at {clients} clients was not measured (--clients)"
    verdict = "met" if row["ratio"] >= target else "NOT met"
    return (
        f"target: {what} at {clients} clients {row['ratio']:.0%} of bare in the same "
        f"run (target >= {target:.0%}): {verdict}"
    )
