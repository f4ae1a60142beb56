"""The changes feed against a real server under a concurrent mixed load: a client that
follows it keeps an exact copy of the list, seeing every change once, in commit order.

Two gunicorn workers with threads (so writes of one team really commit concurrently, on
PostgreSQL in parallel), several client threads adding, batch-adding and removing, a
second team writing at the same time, and a poller following the feed throughout.
Afterwards the poller's replay must equal the database, and the sequence of changes it
saw must be the change log's, with no gap and no repeat.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import select

from dnc_app.domain.changelog import FEED_ACTIONS
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, DncEntry, Team

pytestmark = pytest.mark.live

WRITERS = 6
OPS_PER_WRITER = 30
# A small pool of shared names: threads collide on the same URLs (duplicates, re-adds).
SHARED = [f"shared-{i}" for i in range(25)]


class Client:
    """One keep-alive HTTP connection speaking the API's JSON."""

    def __init__(self, base_url: str, key: str):
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        self.conn.request(
            method, path, json.dumps(body) if body is not None else None, self.headers
        )
        resp = self.conn.getresponse()
        return resp.status, json.loads(resp.read())

    def close(self) -> None:
        self.conn.close()


def writer(base_url: str, key: str, number: int, failures: list) -> None:
    """A mixed load: single adds, batches (with duplicates) and removals of this
    thread's own entries, some of them URLs other threads add too."""
    rng = random.Random(number)
    client = Client(base_url, key)
    mine: list[str] = []  # entry ids this thread added
    try:
        for op in range(OPS_PER_WRITER):
            kind = rng.choice(["add", "add", "batch", "remove", "remove"])
            if kind == "remove" and mine:
                entry_id = mine.pop(rng.randrange(len(mine)))
                status, body = client.call("DELETE", f"/v1/dnc/{entry_id}")
                # Another thread may not remove our entry; only we do.
                expected = {200}
            elif kind == "batch":
                names = [f"w{number}-b{op}-{i}" for i in range(rng.randint(2, 12))]
                names += rng.sample(SHARED, 3)
                status, body = client.call(
                    "POST", "/v1/dnc/batch", {"entries": [{"url": f"in/{n}"} for n in names]}
                )
                expected = {201}
            else:
                name = rng.choice(SHARED) if rng.random() < 0.4 else f"w{number}-{op}"
                status, body = client.call("POST", "/v1/dnc", {"url": f"in/{name}"})
                expected = {201, 409}
                if status == 201 and not name.startswith("shared"):
                    mine.append(body["data"]["$id"])
            if status not in expected:
                failures.append((kind, status, body))
    except Exception as exc:  # reported by the test, not lost in the thread
        failures.append(("exception", repr(exc)))
    finally:
        client.close()


class Poller(threading.Thread):
    """Follows the feed with small pages until told to stop and caught up."""

    def __init__(self, base_url: str, key: str):
        super().__init__(daemon=True)
        self.client = Client(base_url, key)
        self.changes: list[dict] = []
        self.polls_during_load = 0  # polls that brought changes while writes went on
        self.writers_done = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        cursor = ""
        try:
            while True:
                done = self.writers_done.is_set()  # read before the poll: then it is last
                status, body = self.client.call(
                    "GET", "/v1/dnc/changes?" + urlencode({"cursor": cursor, "limit": 7})
                )
                if status != 200:
                    self.error = f"{status} {body}"
                    return
                data = body["data"]
                self.changes += data["changes"]
                self.polls_during_load += bool(data["changes"]) and not done
                cursor = data["nextCursor"]
                if done and not data["hasMore"]:
                    return
                if not data["hasMore"]:
                    time.sleep(0.01)
        finally:
            self.client.close()


def replay(changes: list[dict]) -> dict[str, str]:
    """Apply the feed in order, as a client keeping a local copy does."""
    copy: dict[str, str] = {}
    for change in changes:
        if change["type"] == "added":
            assert change["entryId"] not in copy, f"added twice: {change}"
            copy[change["entryId"]] = change["url"]
        else:
            assert copy.get(change["entryId"]) == change["url"], f"removed unseen: {change}"
            del copy[change["entryId"]]
    return copy


def test_a_poller_keeps_an_exact_copy_under_concurrent_mixed_writes(
    live_server_factory, make_team, app
):
    unlimited = "1000000/minute"
    live = live_server_factory(
        workers=2,
        threads=6,
        RATELIMIT_ENABLED="false",
        DNC_WRITE_LIMIT=unlimited,
        DNC_BATCH_LIMIT=unlimited,
        DNC_CHANGES_LIMIT=unlimited,
    )
    team, other = make_team("Acme"), make_team("Other")
    poller = Poller(live.url, team.api_key)
    poller.start()
    failures: list = []
    threads = [
        threading.Thread(target=writer, args=(live.url, team.api_key, n, failures))
        for n in range(WRITERS)
    ]
    # The other team writes the same URLs at the same time: none of it may show up.
    threads.append(threading.Thread(target=writer, args=(live.url, other.api_key, 99, failures)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    poller.writers_done.set()
    poller.join(120)
    assert not poller.is_alive(), "the poller did not catch up"
    assert poller.error is None, poller.error
    assert failures == []
    # It followed the feed during the load, not just once at the end.
    assert poller.polls_during_load > 2

    with app.app_context():
        stored = dict(
            db.session.execute(
                select(DncEntry.id, DncEntry.url).where(DncEntry.team_id == team.id)
            ).all()
        )
        log = db.session.execute(
            select(AuditEvent.seq, AuditEvent.action, AuditEvent.subject_id)
            .where(AuditEvent.team_id == team.id)
            .order_by(AuditEvent.seq)
        ).all()
        change_seq = db.session.get(Team, team.id).change_seq

    assert replay(poller.changes) == stored
    assert len(stored) > 50  # the load really wrote
    # The change log itself has no gap: 1..change_seq, each once.
    assert [row.seq for row in log] == list(range(1, change_seq + 1))
    # The feed is exactly the log's list changes, in order: no gap, no repeat.
    expected = [
        ("added" if row.action == "add" else "removed", row.subject_id)
        for row in log
        if row.action in FEED_ACTIONS
    ]
    assert [(c["type"], c["entryId"]) for c in poller.changes] == expected
    assert any(c["type"] == "removed" for c in poller.changes)
