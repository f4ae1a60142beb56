"""Webhooks against real processes: a gunicorn killed between the commit and the delivery,
the latency from a 201 to the receiver, two `flask webhooks worker` processes claiming
the same outbox, and a graceful SIGTERM (of a worker process, and of gunicorn)."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from dnc_app.domain import entries
from dnc_app.events.webhooks import endpoints
from dnc_app.extensions import db
from dnc_app.storage.models import WebhookAttempt, WebhookMessage
from tests.live import ROOT
from tests.support import TEST_ACTOR
from tests.test_live_concurrency import post_json
from tests.webhook_support import Answer, Receiver

pytestmark = pytest.mark.live


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


@pytest.fixture
def workers(server_env):
    """start(): a `flask --app app webhooks worker` process on the test database."""
    procs = []

    def start(**env) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "webhooks", "worker"],
            cwd=ROOT,
            env={
                **server_env,
                "WEBHOOK_ALLOW_PRIVATE": "1",
                "PYTHONPATH": str(ROOT),
                "PATH": "/usr/bin:/bin",
                **env,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


def test_an_event_committed_before_a_kill_is_delivered_after_restart(
    app, team, receiver, live_server_factory
):
    secret = register(app, team, receiver.url)
    live = live_server_factory(WEBHOOK_DELIVERY="off", WEBHOOK_ALLOW_PRIVATE="1")
    status, body = post_json(live.url, "/v1/dnc", {"url": "in/durable"}, team.api_key)
    assert status == 201
    live.kill()  # SIGKILL: nothing was delivered, nothing gets to clean up
    assert receiver.received == []
    live_server_factory(WEBHOOK_ALLOW_PRIVATE="1")  # delivers from its start
    (received,) = receiver.wait_for(1, timeout=20)
    payload = received.verified(secret)
    assert payload["type"] == "dnc.entry.added"
    assert payload["data"]["$id"] == body["data"]["$id"]


def test_a_server_delivers_within_a_second_of_its_201(app, team, receiver, live_server_factory):
    secret = register(app, team, receiver.url)
    live = live_server_factory(WEBHOOK_ALLOW_PRIVATE="1")
    latencies = []
    for n in range(5):
        started = time.monotonic()
        status, _body = post_json(live.url, "/v1/dnc", {"url": f"in/fast-{n}"}, team.api_key)
        answered = time.monotonic()
        assert status == 201
        received = receiver.wait_for(n + 1, timeout=10)[n]
        received.verified(secret)
        latencies.append(received.at - answered)
        assert received.at >= started
    assert sorted(latencies)[2] < 1.0, latencies


def test_two_workers_deliver_each_event_exactly_once(app, team, receiver, workers):
    secret = register(app, team, receiver.url)
    with app.app_context():
        entries.add_entries(
            team.id, [f"in/many-{n}" for n in range(300)], source="cli", actor=TEST_ACTOR
        )
    first, second = workers(), workers()
    received = receiver.wait_for(300, timeout=60)
    time.sleep(1.5)  # room for a duplicate to show up
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 300
    assert {r.verified(secret)["data"]["url"] for r in received} == {
        f"https://linkedin.com/in/many-{n}" for n in range(300)
    }
    assert statuses(app) == {"delivered": 300}
    for proc in (first, second):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_sigterm_finishes_the_attempt_in_flight(app, team, receiver, workers):
    register(app, team, receiver.url)
    receiver.script = [Answer(200, delay=1.5)]
    worker = workers()
    time.sleep(1.0)  # the worker is up and polling
    with app.app_context():
        entries.add_entry(team.id, "in/slow", source="cli", actor=TEST_ACTOR)
    receiver.wait_for(1, timeout=10)
    worker.send_signal(signal.SIGTERM)  # while the receiver is still answering
    assert worker.wait(timeout=15) == 0
    assert statuses(app) == {"delivered": 1}


def test_sigterm_to_gunicorn_finishes_the_attempt_in_flight_and_claims_no_more(
    app, team, make_team, receiver, live_server_factory
):
    """SIGTERM mid-attempt: the attempt completes and is recorded once, the worker claims
    nothing more while it drains (an event written after the signal waits for the next
    server), the master exits well within its graceful timeout, and the next server
    sends only what was left: nothing twice."""
    register(app, team, receiver.url)
    other = make_team("Other")
    later = Receiver().start()
    try:
        register(app, other, later.url)
        receiver.script = [Answer(200, delay=2.0)]
        server = live_server_factory(
            WEBHOOK_ALLOW_PRIVATE="1", GUNICORN_GRACEFUL_TIMEOUT="15", WEBHOOK_POLL_INTERVAL="0.1"
        )
        status, _body = post_json(server.url, "/v1/dnc", {"url": "in/slow-receiver"}, team.api_key)
        assert status == 201
        receiver.wait_for(1, timeout=10)  # the attempt is in flight: answered in 2 s
        # An idle kept-alive connection: the stopping worker lingers on it for a while,
        # a window in which a loop that still claimed would pick up the next event.
        parts = urlsplit(server.url)
        idle = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        idle.request("GET", "/healthz")
        idle.getresponse().read()
        stopped_at = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        with app.app_context():
            entries.add_entry(other.id, "in/after-sigterm", source="cli", actor=TEST_ACTOR)
        assert server.proc.wait(timeout=15) == 0
        assert time.monotonic() - stopped_at < 10
        idle.close()
        assert len(receiver.received) == 1 and later.received == []
        with app.app_context():
            rows = db.session.execute(
                select(WebhookMessage.endpoint_id, WebhookMessage.status, WebhookMessage.attempts)
            ).all()
            attempts = db.session.execute(select(WebhookAttempt.status_code)).scalars().all()
            db.session.remove()
        assert sorted((status, n) for _endpoint, status, n in rows) == [
            ("delivered", 1),
            ("pending", 0),
        ]
        assert attempts == [200]
        # The next server delivers the one left, and only it.
        live_server_factory(WEBHOOK_ALLOW_PRIVATE="1", WEBHOOK_POLL_INTERVAL="0.1")
        later.wait_for(1, timeout=10)
        time.sleep(1.0)  # room for a duplicate to show up
        assert len(receiver.received) == 1 and len(later.received) == 1
        assert statuses(app) == {"delivered": 2}
    finally:
        later.stop()
