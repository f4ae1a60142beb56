"""Against a real server (gunicorn on loopback) and a file database: concurrency and
durability as a client meets them."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.live


def post_json(base_url: str, path: str, body: dict, key: str) -> tuple[int, dict]:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(
            "POST",
            path,
            json.dumps(body),
            {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def simultaneously(n: int, fn):
    """Run fn(i) for i in range(n) in n threads released at the same instant."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_20_simultaneous_adds_of_one_url_give_one_201_and_nineteen_409s(
    live_server_factory, team, app
):
    live = live_server_factory()
    results = simultaneously(
        20,
        lambda i: post_json(
            live.url, "/v1/dnc", {"url": "https://www.linkedin.com/in/same-person/"}, team.api_key
        ),
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19, statuses
    created = next(body["data"] for status, body in results if status == 201)
    for status, body in results:
        if status == 409:
            assert body["error"] == "already_exists"
            assert body["data"]["$id"] == created["$id"]
    from sqlalchemy import func, select

    from dnc_app.extensions import db
    from dnc_app.storage.models import AuditEvent, DncEntry

    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(DncEntry)).scalar() == 1
        adds = db.session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "add")
        ).scalar()
        assert adds == 1


def test_concurrent_writes_of_different_urls_never_fail(live_server_factory, make_team):
    live = live_server_factory(DNC_WRITE_LIMIT="1000/minute")
    teams = [make_team("A"), make_team("B")]
    results = simultaneously(
        40,
        lambda i: post_json(live.url, "/v1/dnc", {"url": f"in/person-{i}"}, teams[i % 2].api_key),
    )
    assert [status for status, _ in results] == [201] * 40, [b for _, b in results][:3]


def test_an_acknowledged_entry_survives_a_hard_kill_and_restart(live_server_factory, team):
    live = live_server_factory()
    status, body = post_json(live.url, "/v1/dnc", {"url": "in/durable"}, team.api_key)
    assert status == 201
    live.kill()  # SIGKILL: no shutdown hooks, no flushing by the application
    restarted = live_server_factory()
    status, again = post_json(restarted.url, "/v1/dnc", {"url": "in/durable"}, team.api_key)
    assert status == 409
    assert again["data"]["$id"] == body["data"]["$id"]
