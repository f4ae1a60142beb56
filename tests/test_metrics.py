"""GET /metrics: off by default, the token guard, the exposition, and counts that add up
across gunicorn workers (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import os
import runpy
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dnc_app.domain.accounts.apikeys import create_api_key
from dnc_app.domain.accounts.teams import create_team
from dnc_app.domain.timeutil import utcnow
from dnc_app.events.webhooks import endpoints
from dnc_app.extensions import db
from dnc_app.storage.models import WebhookMessage
from tests.live import (
    GUNICORN,
    ROOT,
    free_port,
    request_pids,
    stop_process,
    wait_for_all_workers,
)
from tests.services import call
from tests.support import TEST_ACTOR
from tests.test_optout import post_optout

TOKEN = "metrics-token-0123456789"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, parsed by prometheus_client's own parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.get_data(as_text=True))


@pytest.fixture
def app(make_app):
    return make_app(METRICS_ENABLED=True, OPTOUT_MIN_SECONDS=0, WEBHOOK_ALLOW_PRIVATE=True)


def test_off_by_default(make_app):
    client = make_app().test_client()
    assert client.get("/metrics").status_code == 404


def test_token_guard(make_app):
    client = make_app(METRICS_ENABLED=True, METRICS_TOKEN=TOKEN).test_client()
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert b"dnc_" not in response.data
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_requests_by_rule_and_status_on_both_request_paths(app, client, team):
    before = scrape(client)
    h = {"Authorization": f"Bearer {team.api_key}"}
    # The hot path (check, add) and Flask's (delete, by its rule).
    for n in range(3):
        assert client.get(f"/v1/dnc/check?url=linkedin.com/in/m{n}", headers=h).status_code == 200
    added = client.post("/v1/dnc", json={"url": "linkedin.com/in/metrics-1"}, headers=h)
    assert added.status_code == 201
    entry_id = added.get_json()["data"]["$id"]
    assert client.delete(f"/v1/dnc/{entry_id}", headers=h).status_code == 200
    assert client.delete("/v1/dnc/dnc_doesnotexist", headers=h).status_code == 404
    assert client.get("/no/such/page/42").status_code == 404
    assert client.get("/v1/dnc/check?url=x").status_code == 401
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    total = "dnc_http_requests_total"
    assert delta(total, method="GET", route="/v1/dnc/check", status="200") == 3
    assert delta(total, method="GET", route="/v1/dnc/check", status="401") == 1
    assert delta(total, method="POST", route="/v1/dnc", status="201") == 1
    assert delta(total, method="DELETE", route="/v1/dnc/<entry_id>", status="200") == 1
    assert delta(total, method="DELETE", route="/v1/dnc/<entry_id>", status="404") == 1
    assert delta(total, method="GET", route="<unmatched>", status="404") == 1
    hist = "dnc_http_request_duration_seconds"
    assert delta(f"{hist}_count", method="GET", route="/v1/dnc/check") == 4
    assert delta(f"{hist}_bucket", method="GET", route="/v1/dnc/check", le="+Inf") == 4
    assert delta(f"{hist}_sum", method="GET", route="/v1/dnc/check") > 0
    # Low cardinality: no URL, id, team or key in any label.
    for _name, labels in after:
        for _label, label_value in labels:
            assert entry_id not in label_value and team.id not in label_value
            assert "m0" not in label_value and "42" not in label_value


def test_webhook_backlog_read_at_scrape(app, client, team):
    found = scrape(client)
    assert value(found, "dnc_webhook_backlog_events") == 0
    assert value(found, "dnc_webhook_backlog_oldest_age_seconds") == 0
    with app.app_context():
        endpoint, _secret = endpoints.create_endpoint(team.id, "http://127.0.0.1:9/x")
        now = utcnow()
        for n, (age, due_in) in enumerate([(600, -300), (60, 3600), (5, 0)]):
            db.session.add(
                WebhookMessage(
                    msg_id=f"msg_metrics{n}",
                    endpoint_id=endpoint.id,
                    event_type="dnc.entry.created",
                    payload="{}",
                    created_at=now - timedelta(seconds=age),
                    next_attempt_at=now + timedelta(seconds=due_in),
                )
            )
        db.session.add(
            WebhookMessage(
                msg_id="msg_metricsdone",
                endpoint_id=endpoint.id,
                event_type="dnc.entry.created",
                payload="{}",
                status="delivered",
                created_at=now - timedelta(days=1),
            )
        )
        db.session.commit()
    found = scrape(client)
    assert value(found, "dnc_webhook_backlog_events") == 3
    assert value(found, "dnc_webhook_backlog_due_events") == 2
    assert 600 <= value(found, "dnc_webhook_backlog_oldest_age_seconds") < 660
    assert 300 <= value(found, "dnc_webhook_backlog_overdue_seconds") < 360


def test_public_optouts_and_attempts(app, client, team):
    from dnc_app import metrics

    before = scrape(client)
    assert post_optout(client, team.slug, "linkedin.com/in/optout-metrics").status_code == 200
    assert post_optout(client, team.slug, "linkedin.com/in/optout-metrics").status_code == 200
    assert post_optout(client, team.slug, "not a url").status_code == 400  # not accepted
    for status, error in [(200, None), (204, None), (500, None), (None, "timeout")]:
        metrics.record_webhook_attempt(status, error)
    after = scrape(client)
    for name, labels, expected in [
        ("dnc_public_optouts_total", {"result": "listed"}, 1),
        ("dnc_public_optouts_total", {"result": "repeated"}, 1),
        ("dnc_webhook_attempts_total", {"result": "delivered"}, 2),
        ("dnc_webhook_attempts_total", {"result": "rejected"}, 1),
        ("dnc_webhook_attempts_total", {"result": "error"}, 1),
    ]:
        assert value(after, name, **labels) - value(before, name, **labels) == expected, labels


# --------------------------------------------------------------------------- gunicorn


def test_gunicorn_prepares_one_directory_per_master(tmp_path):
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    prepare = conf["prepare_metrics_dir"]
    env: dict[str, str] = {}
    prepare(env)
    assert env == {}  # off: nothing set, no multiprocess mode

    env = {"METRICS_ENABLED": "1"}
    prepare(env)
    own = Path(env["PROMETHEUS_MULTIPROC_DIR"])
    assert env == {"METRICS_ENABLED": "1", "PROMETHEUS_MULTIPROC_DIR": str(own)}
    assert own.is_dir() and not list(own.glob("*.db"))
    # A master re-executed (USR2) inherits the variable: it makes a directory of its own.
    inherited = dict(env)
    prepare(inherited)
    assert inherited["PROMETHEUS_MULTIPROC_DIR"] != str(own)
    # A directory the operator chose is kept, emptied of an earlier run's files.
    chosen = tmp_path / "metrics"
    chosen.mkdir()
    (chosen / "counter_123.db").write_bytes(b"stale")
    (chosen / "keep.txt").write_text("not ours")
    prepare({"METRICS_ENABLED": "1", "PROMETHEUS_MULTIPROC_DIR": str(chosen)})
    assert sorted(p.name for p in chosen.iterdir()) == ["keep.txt"]
    conf["on_exit"](None)
    assert not own.exists() and not Path(inherited["PROMETHEUS_MULTIPROC_DIR"]).exists()
    assert chosen.exists()


@pytest.mark.live
def test_counts_add_up_across_gunicorn_workers(app, live_server_factory):
    with app.app_context():
        team = create_team("Metrics live", None)
        _key, api_key = create_api_key(team.id, name="t", actor=TEST_ACTOR)
    server = live_server_factory(
        workers=2,
        METRICS_ENABLED="1",
        METRICS_TOKEN=TOKEN,
        RATELIMIT_ENABLED="false",
        WEBHOOK_DELIVERY="off",
    )
    wait_for_all_workers(server, 2)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def checks(count: int) -> None:
        def one(n):
            reply = call(
                server.url, "GET", f"/v1/dnc/check?url=linkedin.com/in/live{n}", key=api_key
            )
            assert reply.status == 200, reply

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(count)))

    def scraped() -> dict:
        reply = call(server.url, "GET", "/metrics", headers=auth)
        assert reply.status == 200, reply
        return samples(reply.text)

    checks(120)
    # Both workers answered checks, so both wrote values that a scrape must add up.
    assert len(request_pids(server.log_path, "/v1/dnc/check")) == 2
    name, labels = (
        "dnc_http_requests_total",
        {"method": "GET", "route": "/v1/dnc/check", "status": "200"},
    )
    # Whichever worker answers the scrape, the sum is the same.
    for _ in range(6):
        assert value(scraped(), name, **labels) == 120
    assert call(server.url, "GET", "/metrics").status == 401

    # A worker killed outright: its counts stay, the replacement adds its own.
    victim = max(request_pids(server.log_path, "/v1/dnc/check"))
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while len(_children(server.proc.pid)) < 2 or victim in _children(server.proc.pid):
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.1)
    wait_for_all_workers(server, 3)  # the replacement answers too
    checks(30)
    for _ in range(4):
        assert value(scraped(), name, **labels) == 150


def _children(pid: int) -> set[int]:
    found = set()
    for stat in os.scandir("/proc"):
        if stat.name.isdigit():
            try:
                with open(f"/proc/{stat.name}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(stat.name))
    return found


@pytest.mark.live
def test_the_packaged_gunicorn_settings_add_up_the_workers(tmp_path):
    """An installed wheel has no gunicorn.conf.py: the settings it needs (the metrics
    directory, the delivery loops' start and drain) come with the package, as
    docs/production.md shows: `gunicorn 'dnc_app:create_app()' -c python:dnc_app.gunicorn_config`.
    Run from a directory without gunicorn.conf.py (gunicorn reads ./gunicorn.conf.py)."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DNC_INSTANCE_PATH": str(tmp_path / "instance"),
        "METRICS_ENABLED": "1",
        "RATELIMIT_ENABLED": "false",
        "WEBHOOK_DELIVERY": "off",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    server = subprocess.Popen(
        [
            GUNICORN,
            "dnc_app:create_app()",
            "-c",
            "python:dnc_app.gunicorn_config",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=run_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "gunicorn exited"
            try:
                if call(base, "GET", "/healthz", timeout=2).status == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not become ready"
                time.sleep(0.2)

        def healthz_count() -> float:
            reply = call(base, "GET", "/metrics")
            assert reply.status == 200, reply
            return value(
                samples(reply.text),
                "dnc_http_requests_total",
                method="GET",
                route="/healthz",
                status="200",
            )

        before = healthz_count()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: call(base, "GET", "/healthz"), range(100)))
        # Each worker answered some (8 at a time on 2 workers); every scrape, whichever
        # worker answers it, counts all of them.
        assert {healthz_count() for _ in range(8)} == {before + 100}
    finally:
        stop_process(server)
