"""A real server on loopback for end-to-end tests: gunicorn in a subprocess."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# One gunicorn runner for the tests and the benchmarks.
from bench.common import (  # noqa: F401  (re-exported)
    GUNICORN,
    ROOT,
    Server,
    free_port,
    stop_process,
)


class LiveServer(Server):
    """gunicorn serving `app:app` with the given environment (gunicorn.conf.py)."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        workers: int = 1,
        threads: int = 8,
        log_path: Path | None = None,
    ):
        super().__init__(env, workers=workers, threads=threads, log_path=log_path)

    def kill(self) -> None:
        """A hard kill of the master and its workers: nothing gets to clean up."""
        if self.proc and self.proc.poll() is None:
            subprocess.run(["pkill", "-KILL", "-P", str(self.proc.pid)], check=False)
            self.proc.kill()
            self.proc.wait()
        self._close_log()


def request_pids(log_path: Path, path: str, method: str | None = None) -> set[int]:
    """The worker processes that answered `path` (from the JSON request log)."""
    pids = set()
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if (
                record.get("event") == "request"
                and record.get("path") == path
                and method in (None, record.get("method"))
            ):
                pids.add(record["pid"])
    return pids


def wait_for_all_workers(server: LiveServer, count: int, timeout: float = 30) -> None:
    """Until every worker has booted and answered (the server is up after the first)."""

    def ping(_):
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=5) as resp:
                resp.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass

    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(max_workers=20) as pool:
        while len(request_pids(server.log_path, "/healthz")) < count:
            assert time.monotonic() < deadline, "not all workers started"
            list(pool.map(ping, range(20)))
