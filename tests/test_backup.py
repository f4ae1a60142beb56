"""`flask --app app db backup PATH`: a consistent SQLite copy while the service writes,
refused overwrites, the pg_dump pointer on PostgreSQL, and a restored copy that serves."""

from __future__ import annotations

import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.live import ROOT, LiveServer
from tests.services import call

FLASK = str(Path(sys.executable).with_name("flask"))


def flask(
    env: dict, *args: str, check: bool = True, max_file_bytes: int | None = None
) -> subprocess.CompletedProcess:
    def limit_file_size() -> None:
        # A full disk, as the process sees it: a write past this size fails (EFBIG).
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        [FLASK, "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
        preexec_fn=limit_file_size if max_file_bytes is not None else None,
    )


@pytest.fixture
def sqlite_env(tmp_path) -> dict:
    """The environment of an embedded-default service on a migrated SQLite file."""
    import os

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}",
        "DNC_INSTANCE_PATH": str(tmp_path / "instance"),
        "WEBHOOK_DELIVERY": "off",
        "RATELIMIT_ENABLED": "false",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    flask(env, "db", "upgrade")
    return env


def integrity(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def listed_urls(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT url FROM dnc_entry")}
    finally:
        conn.close()


@pytest.mark.database("sqlite")
def test_refuses_to_overwrite_without_force(sqlite_env, tmp_path):
    target = tmp_path / "copy.sqlite3"
    target.write_bytes(b"precious")
    refused = flask(sqlite_env, "db", "backup", str(target), check=False)
    assert refused.returncode != 0
    assert "--force" in refused.stderr
    assert target.read_bytes() == b"precious"
    forced = flask(sqlite_env, "db", "backup", "--force", str(target))
    assert "integrity check ok" in forced.stdout
    assert integrity(target) == ["ok"]
    # Nothing half-written is left beside it.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".copy")) == []


@pytest.mark.database("sqlite")
def test_a_path_that_cannot_be_written_is_one_clear_error(sqlite_env, tmp_path):
    (tmp_path / "plain-file").write_text("x")
    refused = flask(sqlite_env, "db", "backup", str(tmp_path / "plain-file" / "copy"), check=False)
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert f"Error: cannot write {tmp_path / 'plain-file' / 'copy'}" in refused.stderr


@pytest.mark.database("sqlite")
def test_a_full_disk_leaves_no_partial_copy_and_keeps_the_previous_one(sqlite_env, tmp_path):
    backups = tmp_path / "backups"
    previous = backups / "dnc.sqlite3"
    flask(sqlite_env, "db", "backup", str(previous))
    kept = previous.read_bytes()
    assert len(kept) > 100_000  # the migrated schema: more than the disk takes below
    for target, args in [(backups / "new.sqlite3", ()), (previous, ("--force",))]:
        full = flask(
            sqlite_env, "db", "backup", *args, str(target), check=False, max_file_bytes=50_000
        )
        assert full.returncode == 1, full
        assert "Traceback" not in full.stderr and "Error: " in full.stderr, full.stderr
        # Nothing that looks like a backup: no new file, the previous one untouched, and
        # no temporary file left beside them.
        assert sorted(p.name for p in backups.iterdir()) == ["dnc.sqlite3"]
        assert previous.read_bytes() == kept


def test_in_memory_database_has_nothing_to_back_up(make_app, tmp_path):
    runner = make_app(SQLALCHEMY_DATABASE_URI="sqlite://").test_cli_runner()
    result = runner.invoke(args=["db", "backup", str(tmp_path / "x.sqlite3")])
    assert result.exit_code != 0
    assert "in memory" in result.output
    assert not (tmp_path / "x.sqlite3").exists()


@pytest.mark.database("postgresql")
def test_postgresql_points_to_pg_dump(runner, tmp_path):
    result = runner.invoke(args=["db", "backup", str(tmp_path / "x.dump")])
    assert result.exit_code != 0
    assert "pg_dump" in result.output and "pg_restore" in result.output
    assert "postgres@" not in result.output  # never the URL (it may hold a password)
    assert not (tmp_path / "x.dump").exists()


class Writer(threading.Thread):
    """Adds entries through the API without pause; remembers what was acknowledged."""

    def __init__(self, url: str, key: str, name: str):
        super().__init__(name=name, daemon=True)
        self.url, self.key = url, key
        self.acknowledged: list[str] = []
        self.sent: list[str] = []
        self.stop = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            url = f"https://linkedin.com/in/{self.name}-{n}"
            self.sent.append(url)
            reply = call(self.url, "POST", "/v1/dnc", key=self.key, body={"url": url})
            if reply.status == 201:
                self.acknowledged.append(url)
            else:
                self.errors.append(repr(reply))


@pytest.mark.live
@pytest.mark.database("sqlite")
def test_backup_while_writing_is_consistent_and_a_restored_copy_serves(sqlite_env, tmp_path):
    team = json.loads(flask(sqlite_env, "team", "create", "Backup", "--json").stdout)
    server = LiveServer(sqlite_env, log_path=tmp_path / "live.log").start()
    writers = [Writer(server.url, team["apiKey"], f"writer{n}") for n in range(3)]
    try:
        for writer in writers:
            writer.start()
        while sum(len(w.acknowledged) for w in writers) < 60:
            assert all(w.is_alive() for w in writers)
            threading.Event().wait(0.05)
        before = {url for w in writers for url in w.acknowledged}
        backup = tmp_path / "backups" / "dnc.sqlite3"
        done = flask(sqlite_env, "db", "backup", str(backup))
        assert "integrity check ok" in done.stdout
        # Writes go on after the copy, so it is a copy taken while they happened.
        more = sum(len(w.acknowledged) for w in writers) + 30
        while sum(len(w.acknowledged) for w in writers) < more:
            threading.Event().wait(0.05)
    finally:
        for writer in writers:
            writer.stop.set()
        for writer in writers:
            writer.join(30)
        server.stop()
    assert not [e for w in writers for e in w.errors]
    acknowledged = {url for w in writers for url in w.acknowledged}
    sent = {url for w in writers for url in w.sent}

    assert integrity(backup) == ["ok"]
    copied = listed_urls(backup)
    # Everything acknowledged before the backup is in it; nothing in it was never sent;
    # and it is a moment's copy, not the end state.
    assert before <= copied <= sent
    assert len(copied) < len(acknowledged)

    # Restore: the copy in place of the database file (the service stopped), served.
    restored = tmp_path / "restored" / "dnc.sqlite3"
    restored.parent.mkdir()
    shutil.copyfile(backup, restored)
    env = {**sqlite_env, "DATABASE_URL": f"sqlite:///{restored}"}
    with LiveServer(env, log_path=tmp_path / "restored.log").start() as again:
        listing = call(again.url, "GET", "/v1/dnc?limit=1", key=team["apiKey"])
        assert listing.status == 200, listing
        assert listing.json["data"]["total"] == len(copied)
        for url in sorted(before)[:10]:
            reply = call(again.url, "GET", f"/v1/dnc/check?url={url}", key=team["apiKey"])
            assert reply.json["data"]["onList"] is True, url
        added = call(
            again.url,
            "POST",
            "/v1/dnc",
            key=team["apiKey"],
            body={"url": "https://linkedin.com/in/after-restore"},
        )
        assert added.status == 201, added
