"""A real server on loopback for end-to-end tests: gunicorn in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """gunicorn serving `app:app` with the given environment."""

    def __init__(self, env: dict[str, str], *, workers: int = 1, threads: int = 8,
                 log_path: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.workers = workers
        self.threads = threads
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 20.0) -> LiveServer:
        if self.log_path and self._log is None:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
        log = self._log or subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [GUNICORN, "app:app", "-c", str(ROOT / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--threads", str(self.threads)],
            cwd=ROOT, env=self.env, stdout=log, stderr=log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not become ready")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()

    def kill(self) -> None:
        """A hard kill of the master and its workers: nothing gets to clean up."""
        if self.proc and self.proc.poll() is None:
            subprocess.run(["pkill", "-KILL", "-P", str(self.proc.pid)], check=False)
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def request_pids(log_path: Path, path: str, method: str | None = None) -> set[int]:
    """The worker processes that answered `path` (from the JSON request log)."""
    import json

    pids = set()
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if (record.get("event") == "request" and record.get("path") == path
                    and method in (None, record.get("method"))):
                pids.add(record["pid"])
    return pids


def wait_for_all_workers(server: LiveServer, count: int, timeout: float = 30) -> None:
    """Until every worker has booted and answered (the server is up after the first)."""
    from concurrent.futures import ThreadPoolExecutor

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
