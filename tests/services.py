"""Throwaway PostgreSQL and Redis servers on loopback, for tests that stop or restart them.

The shared development servers must never be stopped; a fault test starts its own here
(the Python counterpart of scripts/services.sh). Each server keeps its port and data
directory across stop()/start(), so a restart looks the same to the service.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .live import ROOT, free_port


def _is_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str) -> None:
    """Skip locally, fail in CI (where every service must be installed)."""
    if _is_ci():
        pytest.fail(f"{what} is required in CI but is not installed")
    pytest.skip(f"{what} is not installed")


def postgres_bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for bindir in reversed(candidates):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PostgresServer:
    """A PostgreSQL cluster of its own: start(), stop(), restart(), destroy()."""

    def __init__(self, dbname: str = "dnc_test"):
        bindir = postgres_bindir()
        if bindir is None:
            missing("PostgreSQL (initdb, pg_ctl)")
        self.bindir = bindir
        self.dbname = dbname
        self.port = free_port()
        # Not under pytest's tmp_path: that is private to root and postgres must enter it.
        self.dir = Path(tempfile.mkdtemp(prefix="dnc-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._initialized = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.dbname}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            as_postgres([str(self.bindir / args[0]), *args[1:]]),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stderr}{result.stdout}\n{log}")

    def start(self) -> PostgresServer:
        if not self._initialized:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        )
        if not self._initialized:
            self._run(
                "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.dbname
            )
            self._initialized = True
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def is_running(self) -> bool:
        result = subprocess.run(
            as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"]),
            capture_output=True,
        )
        return result.returncode == 0

    def destroy(self) -> None:
        if self._initialized and self.is_running():
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class _OwnServer:
    """A server process of a test's own, in its own directory."""

    proc: subprocess.Popen | None
    dir: Path

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (str(p) for p in (Path("/usr/sbin/pgbouncer"), Path("/usr/bin/pgbouncer")) if p.exists()),
        None,
    )


def documented_pgbouncer_ini() -> str:
    """The pgbouncer.ini that docs/production.md shows, as an operator would copy it."""
    text = (ROOT / "docs" / "production.md").read_text()
    return text.split("```ini\n", 1)[1].split("```", 1)[0]


def documented_pgbouncer_settings() -> dict[str, str]:
    """The [pgbouncer] section of that file (PgBouncer's comments: whole lines only)."""
    section, settings = "", {}
    for line in documented_pgbouncer_ini().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[pgbouncer]" and line and not line.startswith((";", "#")):
            name, _, value = line.partition("=")
            settings[name.strip()] = value.strip()
    return settings


class PgBouncer(_OwnServer):
    """Debian's pgbouncer in transaction mode in front of `postgres` (a PostgresServer):
    start(), stop(), destroy(). Clients see one database of the same name."""

    # The settings docs/production.md shows for the service behind PgBouncer (among
    # them query_wait_timeout: while PostgreSQL is down a query fails after 5 s instead of
    # 120 s, beyond gunicorn's worker timeout, so the app answers 503 and /readyz says so).
    SETTINGS = {
        name: value
        for name, value in documented_pgbouncer_settings().items()
        if name not in ("listen_addr", "listen_port", "auth_type", "auth_file")
    }

    def __init__(self, postgres: PostgresServer):
        self.binary = pgbouncer_binary()
        if self.binary is None:
            missing("PgBouncer (pgbouncer)")
        self.postgres = postgres
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="dnc-pgbouncer-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.postgres.dbname}"

    def _write_config(self) -> Path:
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        settings = {
            "listen_addr": "127.0.0.1",
            "listen_port": str(self.port),
            "unix_socket_dir": "",
            "auth_type": "trust",
            "auth_file": str(self.dir / "userlist.txt"),
            "logfile": str(self.dir / "pgbouncer.log"),
            **self.SETTINGS,
        }
        if "max_prepared_statements" in settings and not self._knows_prepared_statements():
            del settings["max_prepared_statements"]  # before 1.21: not a setting (none kept)
        lines = [
            "[databases]",
            f"{self.postgres.dbname} = host=127.0.0.1 port={self.postgres.port} "
            f"dbname={self.postgres.dbname}",
            "[pgbouncer]",
            *(f"{k} = {v}" for k, v in settings.items()),
        ]
        path = self.dir / "pgbouncer.ini"
        path.write_text("\n".join(lines) + "\n")
        if os.geteuid() == 0:
            for item in (self.dir, *self.dir.iterdir()):
                shutil.chown(item, "postgres")
        return path

    def _knows_prepared_statements(self) -> bool:
        version = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        numbers = version.stdout.split()[1].split(".") if version.stdout else ["0", "0"]
        return (int(numbers[0]), int(numbers[1])) >= (1, 21)

    def start(self, timeout: float = 10) -> PgBouncer:
        config = self._write_config()
        # pgbouncer refuses to run as root, like postgres.
        self.proc = subprocess.Popen(
            as_postgres([self.binary, str(config)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                import psycopg

                with psycopg.connect(self.url, connect_timeout=2, prepare_threshold=None) as c:
                    c.execute("SELECT 1")
                return self
            except psycopg.OperationalError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        log = self.dir / "pgbouncer.log"
        raise RuntimeError(f"pgbouncer did not start: {log.read_text() if log.exists() else ''}")


class RedisServer(_OwnServer):
    """A redis-server of its own (no persistence): start(), stop(), start() again."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            missing("Redis (redis-server)")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="dnc-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> RedisServer:
        with open(self.dir / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ping():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start: {(self.dir / 'redis.log').read_text()}")

    def ping(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


# --------------------------------------------------------------------------- HTTP client


class Reply:
    """One HTTP answer: status, lower-cased headers, the JSON body (or None) and the text."""

    def __init__(self, status: int, headers: dict[str, str], text: str):
        self.status = status
        self.headers = headers
        self.text = text
        try:
            self.json = json.loads(text) if text else None
        except ValueError:
            self.json = None

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.text[:200]!r}>"


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    key: str | None = None,
    body=None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One request on a fresh connection (Connection: close); raises OSError and
    http.client exceptions when the connection fails, e.g. to a killed worker."""
    parsed = urlsplit(base_url)
    send = {"Connection": "close", **(headers or {})}
    if key:
        send["Authorization"] = f"Bearer {key}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        send["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=send)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
    finally:
        conn.close()
