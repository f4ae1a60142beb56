"""Dependable delivery in one process: every attempt has one total deadline (a receiver
that hangs or trickles is cut at WEBHOOK_TIMEOUT, a name that does not resolve too), an
endpoint holds at most its own slots, a healthy endpoint of another team gets its events
within 2 s while five endpoints misbehave, and an endpoint's events come in `seq` order.
Real receivers on loopback; the delivery loop is the one servers run."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from dnc_app.domain import changelog, entries
from dnc_app.events.webhooks import delivery, endpoints, sender
from dnc_app.extensions import db
from dnc_app.storage.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from tests.support import TEST_ACTOR
from tests.webhook_support import Answer, Misbehaving

TIMEOUT = 1.0


@pytest.fixture
def app(make_app):
    return make_app(
        WEBHOOK_ALLOW_PRIVATE=True,
        WEBHOOK_TIMEOUT=TIMEOUT,
        WEBHOOK_RETRY_SCHEDULE=[0, 0.5, 1, 2, 4, 8, 8, 8],
        WEBHOOK_POLL_INTERVAL=0.2,
    )


@pytest.fixture
def misbehaving():
    started = []

    def start(mode, **kwargs) -> Misbehaving:
        started.append(Misbehaving(mode, **kwargs).start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def loop(app):
    dispatcher = delivery.Dispatcher(app).start()
    yield dispatcher
    dispatcher.stop(timeout=10)


def register(app, team_id: str, url: str) -> tuple[str, str]:
    with app.app_context():
        endpoint, secret = endpoints.create_endpoint(team_id, url)
        return endpoint.id, secret


def add(app, team_id: str, urls: list[str]) -> None:
    with app.app_context():
        entries.add_entries(team_id, urls, source="cli", actor=TEST_ACTOR)
        db.session.remove()


def log_of(app, endpoint_id: str) -> list[WebhookAttempt]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.endpoint_id == endpoint_id)
                .order_by(WebhookAttempt.id)
            )
        )
        db.session.expunge_all()
        db.session.remove()
        return rows


# --------------------------------------------------------------------------- the deadline


@pytest.mark.parametrize("mode", ["trickle", "trickle-body"])
def test_a_trickling_answer_is_cut_at_the_total_deadline(misbehaving, mode):
    trickle = misbehaving(mode, interval=0.2)  # far below a per-read time-out
    started = time.monotonic()
    outcome = sender.post(trickle.url, "{}", {}, timeout=TIMEOUT, allow_private=True)
    took = time.monotonic() - started
    assert outcome.error == sender.TIMEOUT and outcome.status is None
    assert TIMEOUT <= took < TIMEOUT + 0.5, took


def test_a_hanging_receiver_is_cut_at_the_total_deadline(misbehaving):
    hang = misbehaving("hang")
    started = time.monotonic()
    outcome = sender.post(hang.url, "{}", {}, timeout=TIMEOUT, allow_private=True)
    assert outcome.error == sender.TIMEOUT
    assert time.monotonic() - started < TIMEOUT + 0.5


def test_name_resolution_has_the_deadline_too(monkeypatch):
    # A resolver that never answers in time (a real one would after its own retries).
    monkeypatch.setattr(sender, "resolve", lambda destination, allow: time.sleep(3))
    started = time.monotonic()
    outcome = sender.post("http://slow-dns.example/hook", "{}", {}, timeout=0.5, allow_private=True)
    assert outcome.error == sender.TIMEOUT
    assert time.monotonic() - started < 1.0


def test_a_kept_alive_connection_is_reused_and_a_closed_one_reopened(receiver):
    from tests.webhook_support import Receiver

    kept = Receiver(keep_alive=True).start()
    try:
        connections = sender.Connections()
        for _n in range(3):
            assert sender.post(
                kept.url, "{}", {}, timeout=2, allow_private=True, connections=connections
            ).ok
        # One connection served all three (the client's port is the same).
        assert len({r.client_port for r in kept.received}) == 1
        assert len(connections._idle[kept.url]) == 1
        # HTTP/1.0: closed after each answer, opened again.
        for _n in range(2):
            assert sender.post(
                receiver.url, "{}", {}, timeout=2, allow_private=True, connections=connections
            ).ok
        assert receiver.url not in connections._idle
        assert len({r.client_port for r in receiver.received}) == 2
        connections.close()
    finally:
        kept.stop()


# --------------------------------------------------------------------------- isolation


def test_a_healthy_endpoint_is_served_within_2s_while_five_misbehave(
    app, make_team, receiver, misbehaving, loop
):
    noisy, quiet = make_team("Noisy"), make_team("Quiet")
    bad = {mode: misbehaving(mode) for mode in ("hang", "trickle", 500, 410)}
    bad["hang-2"] = misbehaving("hang")
    bad_ids = {mode: register(app, noisy.id, m.url)[0] for mode, m in bad.items()}
    healthy_id, secret = register(app, quiet.id, receiver.url)
    add(app, noisy.id, [f"in/noise-{n}" for n in range(50)])  # a backlog for each
    time.sleep(0.3)  # the misbehaving endpoints hold their slots now

    delays = []
    for n in range(8):
        before = len(receiver.received)
        committed = time.monotonic()
        add(app, quiet.id, [f"in/quiet-{n}"])
        arrived = receiver.wait_for(before + 1, timeout=10)[before]
        delays.append(arrived.at - committed)
        assert arrived.verified(secret)["data"]["url"].endswith(f"/quiet-{n}")
        time.sleep(0.2)  # one change at a time, across the misbehaving ones' deadlines
    assert max(delays) < 2.0, delays

    # A batch too reaches it in full while they go on misbehaving.
    committed = time.monotonic()
    add(app, quiet.id, [f"in/batch-{n}" for n in range(200)])
    receiver.wait_for(8 + 200, timeout=20)
    assert receiver.received[-1].at - committed < 5.0

    # Each misbehaving endpoint held at most its slots, and was attempted.
    per_endpoint = app.config["WEBHOOK_ENDPOINT_CONCURRENCY"]
    for mode, m in bad.items():
        assert 1 <= m.most_open <= per_endpoint, (mode, m.most_open)
    until = time.monotonic() + 5 * TIMEOUT
    while not all(log_of(app, bad_ids[m]) for m in ("hang", "trickle", "hang-2")):
        assert time.monotonic() < until, "the hanging attempts were not cut"
        time.sleep(0.1)
    trickled = log_of(app, bad_ids["trickle"])
    assert trickled and all(
        a.error == "timeout" and a.duration_ms < (TIMEOUT + 0.5) * 1000 for a in trickled
    )
    with app.app_context():
        gone = db.session.get(WebhookEndpoint, bad_ids[410])
        assert not gone.enabled and "410" in gone.disabled_reason
        db.session.remove()
    assert len(bad[410].requests) == 1
    assert {a.status_code for a in log_of(app, bad_ids[500])} == {500}
    assert {a.status_code for a in log_of(app, healthy_id)} == {200}


def test_a_failing_endpoint_backs_off_without_delaying_its_team(
    app, team, receiver, misbehaving, loop
):
    failing = misbehaving(500)
    register(app, team.id, failing.url)
    _healthy, _secret = register(app, team.id, receiver.url)
    add(app, team.id, [f"in/a-{n}" for n in range(40)])
    receiver.wait_for(40, timeout=10)
    time.sleep(1.5)
    # Its stream pauses after each failure (longer while it keeps failing), retries
    # follow the schedule: a handful of attempts, not forty at once.
    assert len(failing.requests) < 15, len(failing.requests)


def test_retry_after_holds_the_whole_stream(app, team, receiver, loop):
    register(app, team.id, receiver.url)
    receiver.script = [Answer(429, {"Retry-After": "2"})]
    add(app, team.id, [f"in/slow-down-{n}" for n in range(3)])
    first, second, *_rest = receiver.wait_for(4, timeout=10)
    assert second.at - first.at >= 1.9  # not the stream's shortest pause


# --------------------------------------------------------------------------- order and seq


def test_events_carry_the_changes_seq_and_arrive_in_its_order(app, team, receiver, loop):
    _id, secret = register(app, team.id, receiver.url)
    add(app, team.id, [f"in/o-{n}" for n in range(120)])
    with app.app_context():
        for n in range(5):
            entries.add_entry(team.id, f"in/one-{n}", source="cli", actor=TEST_ACTOR)
        db.session.remove()
    received = receiver.wait_for(125, timeout=20)
    seqs = [r.verified(secret)["data"]["seq"] for r in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == 125
    with app.app_context():
        feed = {row.subject_id: row.seq for row in changelog.read_entry_changes(team.id, 0, 1000)}
        stored = dict(db.session.execute(select(WebhookMessage.msg_id, WebhookMessage.seq)).all())
        db.session.remove()
    for r in received:
        data = json.loads(r.body)["data"]
        assert data["seq"] == feed[data["$id"]] == stored[r.headers["webhook-id"]]


def test_a_failed_event_is_retried_later_and_the_others_keep_their_order(app, team, receiver, loop):
    _id, secret = register(app, team.id, receiver.url)
    receiver.script = [Answer(500)]  # the first event fails once
    add(app, team.id, [f"in/r-{n}" for n in range(20)])
    received = receiver.wait_for(21, timeout=15)
    seqs = [r.verified(secret)["data"]["seq"] for r in received]
    first = seqs[0]
    assert seqs.count(first) == 2  # retried, with the same webhook-id
    assert len({r.headers["webhook-id"] for r in received}) == 20
    later = [s for s in seqs[1:] if s != first]
    assert later == sorted(later)  # first attempts never overtake each other


# --------------------------------------------------------------------------- several loops


def test_two_loops_keep_each_endpoints_order_and_slots(app, make_app, team, receiver, misbehaving):
    """Two loops on one database (as two processes would be): an endpoint's stream is
    taken by one of them at a time, and its slots are counted across both."""
    _id, secret = register(app, team.id, receiver.url)
    hang = misbehaving("hang")
    register(app, team.id, hang.url)
    loops = [
        delivery.Dispatcher(app).start(),
        delivery.Dispatcher(
            make_app(
                **{
                    k: app.config[k]
                    for k in (
                        "WEBHOOK_ALLOW_PRIVATE",
                        "WEBHOOK_TIMEOUT",
                        "WEBHOOK_RETRY_SCHEDULE",
                        "WEBHOOK_POLL_INTERVAL",
                    )
                }
            )
        ).start(),
    ]
    try:
        for n in range(6):
            add(app, team.id, [f"in/two-{n}-{k}" for k in range(50)])
        received = receiver.wait_for(300, timeout=30)
        seqs = [r.verified(secret)["data"]["seq"] for r in received]
        assert seqs == sorted(seqs) and len(set(seqs)) == 300
        time.sleep(2 * TIMEOUT)  # the hanging endpoint's stream and retries meanwhile
        assert hang.most_open <= app.config["WEBHOOK_ENDPOINT_CONCURRENCY"]
        assert len(hang.requests) >= 2
    finally:
        for dispatcher in loops:
            dispatcher.stop(timeout=10)


# --------------------------------------------------------------------------- TLS


def test_https_checks_the_certificate_of_the_urls_host(tmp_path, monkeypatch):
    """The connection goes to the checked address, the TLS server name and certificate
    check use the URL's host, under the same deadline."""
    import socket
    import ssl
    import subprocess
    import threading

    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = socket.create_server(("127.0.0.1", 0))
    heads = []

    def serve():
        while True:
            try:
                conn, _addr = server.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    head = b""
                    while b"\r\n\r\n" not in head:
                        head += tls.recv(4096)
                    heads.append(head)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            except (OSError, ssl.SSLError):
                pass  # the client refused the certificate

    threading.Thread(target=serve, daemon=True).start()
    url = f"https://localhost:{server.getsockname()[1]}/hook"
    try:
        refused = sender.post(url, "{}", {}, timeout=2, allow_private=True)
        assert refused.error == sender.CONNECTION_FAILED and heads == []
        monkeypatch.setattr(
            sender, "_tls_context", ssl.create_default_context(cafile=tmp_path / "cert.pem")
        )
        trusted = sender.post(url, "{}", {}, timeout=2, allow_private=True)
        assert trusted.ok
        assert f"Host: localhost:{server.getsockname()[1]}".encode() in heads[0]
    finally:
        server.close()
