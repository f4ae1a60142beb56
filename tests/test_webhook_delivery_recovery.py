"""Crash recovery with real processes: a `flask webhooks worker` or a gunicorn server
killed with SIGKILL while it holds an attempt; another process delivers the event within
one lease (short settings here; the default lease keeps it within 30 s), and the events
whose result was recorded before the kill are not sent again."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from dnc_app.domain import entries
from dnc_app.events.webhooks import endpoints
from dnc_app.extensions import db
from dnc_app.storage.models import WebhookMessage
from tests.live import ROOT
from tests.support import TEST_ACTOR
from tests.test_live_concurrency import post_json
from tests.webhook_support import Answer

pytestmark = pytest.mark.live

LEASE = 3
# The killed process's attempt never ends by itself within the test.
SHORT = {
    "WEBHOOK_ALLOW_PRIVATE": "1",
    "WEBHOOK_LEASE_SECONDS": str(LEASE),
    "WEBHOOK_TIMEOUT": "60",
    "WEBHOOK_POLL_INTERVAL": "0.2",
}


@pytest.fixture
def app(make_app):
    return make_app(WEBHOOK_ALLOW_PRIVATE=True)


def register(app, team, url: str) -> str:
    with app.app_context():
        _endpoint, secret = endpoints.create_endpoint(team.id, url)
    return secret


def statuses(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(WebhookMessage.status, func.count()).group_by(WebhookMessage.status)
        ).all()
        db.session.remove()
        return dict(rows)


def wait_until(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def worker(server_env):
    """worker(): a `flask --app app webhooks worker` process with short leases."""
    procs = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "webhooks", "worker"],
            cwd=ROOT,
            env={**server_env, **SHORT, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_worker_killed_mid_attempt_is_taken_over_and_nothing_recorded_is_resent(
    app, team, receiver, worker
):
    secret = register(app, team, receiver.url)
    receiver.script = [Answer()] * 5 + [Answer(200, delay=120)]  # the sixth is held
    with app.app_context():
        entries.add_entries(
            team.id, [f"in/before-{n}" for n in range(5)], source="cli", actor=TEST_ACTOR
        )
    first = worker()
    receiver.wait_for(5, timeout=30)
    wait_until(lambda: statuses(app) == {"delivered": 5})  # recorded
    with app.app_context():
        entries.add_entry(team.id, "in/held", source="cli", actor=TEST_ACTOR)
    held = receiver.wait_for(6, timeout=20)[5]
    first.kill()  # SIGKILL while its attempt is in flight
    first.wait()
    killed = time.monotonic()
    worker()
    again = receiver.wait_for(7, timeout=30)[6]
    assert again.at - killed < LEASE + 5  # one lease, the poll, a process start
    assert again.headers["webhook-id"] == held.headers["webhook-id"]
    assert again.verified(secret)["data"]["url"].endswith("/held")
    wait_until(lambda: statuses(app) == {"delivered": 6})
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 7 and len(set(ids)) == 6  # only the one in flight came twice


def test_a_server_killed_mid_attempt_is_taken_over_by_another_server(
    app, team, receiver, live_server_factory
):
    secret = register(app, team, receiver.url)
    receiver.script = [Answer(200, delay=120)]
    first = live_server_factory(**SHORT)
    status, body = post_json(first.url, "/v1/dnc", {"url": "in/in-flight"}, team.api_key)
    assert status == 201
    held = receiver.wait_for(1, timeout=20)[0]
    second = live_server_factory(**SHORT)  # its loop runs; the first one's lease holds
    time.sleep(LEASE * 1.5)  # renewed meanwhile: not taken from a live process
    assert len(receiver.received) == 1
    first.kill()  # SIGKILL, master and worker
    killed = time.monotonic()
    again = receiver.wait_for(2, timeout=30)[1]
    assert again.at - killed < LEASE + 3
    assert again.headers["webhook-id"] == held.headers["webhook-id"]
    assert again.verified(secret)["data"]["$id"] == body["data"]["$id"]
    wait_until(lambda: statuses(app) == {"delivered": 1})
    second.stop()
