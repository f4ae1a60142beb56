"""Webhooks (issue 11 item 1): registered through the API, the CLI and the pages,
signed events for every path that adds or removes an entry, delivered by a real sender to
a real receiver on loopback, with retries, 410, Retry-After, SSRF refusals, no redirects,
secret rotation, and the delivery loop woken by a commit."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from standardwebhooks import Webhook

from dnc_app.config import ConfigError
from dnc_app.domain.timeutil import utcnow
from dnc_app.events.webhooks import delivery, endpoints
from dnc_app.extensions import db
from dnc_app.http.optout import links
from dnc_app.storage.models import Team, WebhookAttempt, WebhookEndpoint, WebhookMessage
from tests.test_optout import open_form, post_optout
from tests.test_web_bulk import confirm, pending_token, preview
from tests.web_support import HTMX, make_member, sign_in, token_for
from tests.webhook_support import Answer

SCHEDULE = [0, 0.2, 0.4]


@pytest.fixture
def app(make_app):
    return make_app(
        WEBHOOK_ALLOW_PRIVATE=True,
        WEBHOOK_RETRY_SCHEDULE=SCHEDULE,
        WEBHOOK_TIMEOUT=1.0,
        OPTOUT_MIN_SECONDS=0,
    )


def register(client, team, url: str, **body) -> tuple[str, str]:
    response = client.post("/v1/webhooks", json={"url": url, **body}, headers=team.headers)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    return data["id"], data["secret"]


def pending(app) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(WebhookMessage)
            .where(WebhookMessage.status == "pending")
        )
        db.session.remove()
        return count


def deliver(app, timeout: float = 10) -> None:
    """Run delivery rounds until no event waits (retries included)."""
    dispatcher = delivery.Dispatcher(app)
    deadline = time.monotonic() + timeout
    try:
        while pending(app):
            assert time.monotonic() < deadline, "events still pending"
            if not dispatcher.run_once():
                time.sleep(0.05)
    finally:
        dispatcher.close()


def attempts(app, endpoint_id: str) -> list[WebhookAttempt]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.endpoint_id == endpoint_id)
                .order_by(WebhookAttempt.id)
            )
        )
        db.session.expunge_all()
        return rows


def endpoint_row(app, endpoint_id: str) -> WebhookEndpoint:
    with app.app_context():
        row = db.session.get(WebhookEndpoint, endpoint_id)
        db.session.expunge_all()
        return row


# --------------------------------------------------------------------------- the API


def test_register_list_delete_through_the_api(client, team, make_team, receiver):
    response = client.post(
        "/v1/webhooks",
        headers=team.headers,
        json={"url": receiver.url, "events": ["dnc.entry.removed"], "description": "CRM"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["error"] is None
    data = body["data"]
    assert list(data) == [
        "id",
        "url",
        "events",
        "description",
        "enabled",
        "$createdAt",
        "disabledReason",
        "secret",
    ]
    assert data["id"].startswith("whk_") and data["secret"].startswith("whsec_")
    assert data["events"] == ["dnc.entry.removed"] and data["enabled"] is True
    Webhook(data["secret"])  # a usable Standard Webhooks secret

    listed = client.get("/v1/webhooks", headers=team.headers).get_json()["data"]["webhooks"]
    assert [e["id"] for e in listed] == [data["id"]]
    assert "secret" not in listed[0]  # shown once
    other = make_team("Other")
    assert client.get("/v1/webhooks", headers=other.headers).get_json()["data"]["webhooks"] == []
    assert client.delete(f"/v1/webhooks/{data['id']}", headers=other.headers).status_code == 404

    deleted = client.delete(f"/v1/webhooks/{data['id']}", headers=team.headers)
    assert deleted.status_code == 200 and deleted.get_json()["data"]["id"] == data["id"]
    assert client.get("/v1/webhooks", headers=team.headers).get_json()["data"]["webhooks"] == []
    assert (
        client.delete(f"/v1/webhooks/{data['id']}", headers=team.headers).get_json()["error"]
        == "not_found"
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_url"),
        ({"url": "ftp://example.com/hook"}, "invalid_url"),
        ({"url": "https://user:pw@example.com/"}, "invalid_url"),
        ({"url": "https://" + "a" * 3000 + ".com/"}, "invalid_url"),
        ({"url": "https://example.invalid/"}, "invalid_url"),
        ({"url": "http://127.0.0.1:9/", "events": ["dnc.entry.nope"]}, "invalid_parameter"),
        ({"url": "http://127.0.0.1:9/", "events": "dnc.entry.added"}, "invalid_parameter"),
        ({"url": "http://127.0.0.1:9/", "description": 5}, "invalid_parameter"),
        ({"url": ["x"]}, "invalid_url"),
    ],
)
def test_bad_registrations_get_the_envelope(client, team, body, code):
    response = client.post("/v1/webhooks", json=body, headers=team.headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == code


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
    ],
)
def test_private_destinations_are_refused_on_save(make_app, make_team, url):
    app = make_app()  # WEBHOOK_ALLOW_PRIVATE off, the default
    team = make_team()
    response = app.test_client().post("/v1/webhooks", json={"url": url}, headers=team.headers)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_url" and "private" in body["message"]


def test_the_test_event_is_signed_and_delivered(app, client, team, receiver):
    endpoint_id, secret = register(client, team, receiver.url)
    response = client.post(f"/v1/webhooks/{endpoint_id}/test", headers=team.headers)
    assert response.status_code == 202
    msg_id = response.get_json()["data"]["id"]
    deliver(app)
    (received,) = receiver.wait_for(1)
    payload = received.verified(secret)
    assert payload["type"] == "webhook.test"
    assert received.headers["webhook-id"] == msg_id
    assert received.path == "/hook"
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 30


# --------------------------------------------------------------------------- every path


def test_every_path_that_changes_the_list_sends_its_event(app, team, receiver):
    client = app.test_client()
    _id, secret = register(client, team, receiver.url)
    api = client.post(
        "/v1/dnc", json={"url": "in/api-one", "reason": "asked"}, headers=team.headers
    ).get_json()["data"]
    assert (
        client.post(
            "/v1/dnc/batch",
            headers=team.headers,
            json={"entries": [{"url": "in/batch-a"}, {"url": "in/batch-b"}]},
        ).status_code
        == 201
    )
    assert (
        client.delete(
            f"/v1/dnc/{api['$id']}", headers=team.headers, json={"reason": "mistake"}
        ).status_code
        == 200
    )

    make_member(app, team.id)
    pages = app.test_client()
    sign_in(pages)
    added = pages.post(
        "/entries", headers={**HTMX, "X-CSRFToken": token_for(pages)}, data={"url": "in/page-one"}
    )
    assert added.status_code in (200, 201)
    with app.app_context():
        from dnc_app.domain import entries

        page_entry = entries.find_by_url(team.id, "in/page-one")
    assert pages.post(
        f"/entries/{page_entry.id}/remove",
        data={"reason": "asked to", "csrf_token": token_for(pages)},
    ).status_code in (200, 303)
    html = preview(pages, urls="in/bulk-a\nin/bulk-b").get_data(as_text=True)
    assert confirm(pages, pending_token(html)).status_code == 200

    public = app.test_client()
    assert post_optout(public, team.slug, "in/public-one").status_code == 200
    with app.test_request_context():
        token = links.make_token(team.slug, "in/linked-one")
    _page, fields = open_form(public, f"/optout/{team.slug}/p/{token}")
    assert post_optout(public, team.slug, "in/linked-one", fields=fields).status_code == 200
    result = app.test_cli_runner().invoke(args=["entry", "add", "in/cli-one", "--team", team.id])
    assert result.exit_code == 0, result.output

    deliver(app)
    events = [r.verified(secret) for r in receiver.wait_for(11)]
    seen = {(e["type"], e["data"]["url"].rsplit("/", 1)[-1], e["data"]["source"]) for e in events}
    assert seen == {
        ("dnc.entry.added", "api-one", "api"),
        ("dnc.entry.added", "batch-a", "api"),
        ("dnc.entry.added", "batch-b", "api"),
        ("dnc.entry.removed", "api-one", "api"),
        ("dnc.entry.added", "page-one", "web"),
        ("dnc.entry.removed", "page-one", "web"),
        ("dnc.entry.added", "bulk-a", "web_bulk"),
        ("dnc.entry.added", "bulk-b", "web_bulk"),
        ("dnc.entry.added", "public-one", "public_form"),
        ("dnc.entry.added", "linked-one", "public_form"),
        ("dnc.entry.added", "cli-one", "cli"),
    }
    first = next(
        e for e in events if e["data"]["url"].endswith("api-one") and e["type"] == "dnc.entry.added"
    )
    # The entry as the API returns it, plus the change's source and reason.
    assert first["data"] == {**api, "source": "api", "reason": "asked", "seq": first["data"]["seq"]}
    removed = next(
        e
        for e in events
        if e["type"] == "dnc.entry.removed" and e["data"]["url"].endswith("api-one")
    )
    assert removed["data"]["$id"] == api["$id"] and removed["data"]["reason"] == "mistake"
    assert removed["data"]["$createdAt"] == api["$createdAt"]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 11


def test_an_added_event_carries_protected(app, client, team, receiver):
    _id, secret = register(client, team, receiver.url)
    added = client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers).get_json()
    client.delete(f"/v1/dnc/{added['data']['$id']}", headers=team.headers)
    deliver(app)
    events = [r.verified(secret) for r in receiver.wait_for(2)]
    assert events[1]["data"]["protected"] is False  # removed: the entry's to_dict
    assert events[0]["data"]["protected"] is False


def test_events_follow_the_endpoints_subscription(app, client, team, receiver):
    _id, secret = register(client, team, receiver.url, events=["dnc.entry.removed"])
    entry = client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers).get_json()
    client.delete(f"/v1/dnc/{entry['data']['$id']}", headers=team.headers)
    deliver(app)
    assert [r.verified(secret)["type"] for r in receiver.wait_for(1)] == ["dnc.entry.removed"]


def test_the_event_is_written_in_the_changes_transaction(app, client, team, receiver):
    register(client, team, receiver.url)
    assert client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers).status_code == 201
    # A refused change (already listed) writes no event; a committed one wrote exactly one.
    assert client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers).status_code == 409
    assert pending(app) == 1


# --------------------------------------------------------------------------- failures


def test_500s_and_timeouts_are_retried_with_the_same_webhook_id(app, client, team, receiver):
    endpoint_id, secret = register(client, team, receiver.url)
    receiver.script = [Answer(500), Answer(200, delay=1.5)]  # a 500, then a time-out
    client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers)
    deliver(app)
    received = receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in received}) == 1
    for r in received:
        r.verified(secret)
    assert received[1].at - received[0].at >= 0.2 - 0.05  # the schedule's second step
    log = attempts(app, endpoint_id)
    assert [(a.status_code, a.error) for a in log] == [(500, None), (None, "timeout"), (200, None)]
    assert endpoint_row(app, endpoint_id).failing_since is None  # healthy again


def test_an_event_fails_after_the_last_attempt_of_the_schedule(app, client, team, receiver):
    endpoint_id, _secret = register(client, team, receiver.url)
    receiver.script = [Answer(503)] * 3
    client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers)
    deliver(app)
    assert len(receiver.wait_for(3)) == 3
    with app.app_context():
        assert db.session.scalar(select(WebhookMessage.status)) == "failed"
    endpoint = endpoint_row(app, endpoint_id)
    assert endpoint.enabled and endpoint.failing_since is not None


def test_410_gone_disables_the_endpoint(app, client, team, receiver):
    endpoint_id, _secret = register(client, team, receiver.url)
    receiver.script = [Answer(410)]
    client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers)
    deliver(app)
    endpoint = endpoint_row(app, endpoint_id)
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    client.post("/v1/dnc", json={"url": "in/y"}, headers=team.headers)
    assert pending(app) == 0  # no events for a disabled endpoint
    assert len(receiver.received) == 1
    test = client.post(f"/v1/webhooks/{endpoint_id}/test", headers=team.headers)
    assert test.status_code == 409 and test.get_json()["error"] == "endpoint_disabled"


def has_webhooks(app, team_id: str) -> bool:
    with app.app_context():
        flag = db.session.get(Team, team_id).has_webhooks
        db.session.remove()
        return flag


def test_the_team_flag_follows_its_enabled_endpoints(app, client, team, receiver):
    """Changes read Team.has_webhooks instead of querying endpoints: it must be true
    exactly while an endpoint is enabled, whichever way endpoints come and go."""
    assert not has_webhooks(app, team.id)
    first, _ = register(client, team, receiver.url)
    second, _ = register(client, team, receiver.url)
    assert has_webhooks(app, team.id)
    with app.app_context():
        endpoints.set_enabled(team.id, first, False)
    assert has_webhooks(app, team.id)  # the second is still enabled
    assert client.delete(f"/v1/webhooks/{second}", headers=team.headers).status_code == 200
    assert not has_webhooks(app, team.id)
    client.post("/v1/dnc", json={"url": "in/nobody-listens"}, headers=team.headers)
    assert pending(app) == 0
    with app.app_context():
        endpoints.set_enabled(team.id, first, True)
    assert has_webhooks(app, team.id)
    receiver.script = [Answer(410)]
    client.post("/v1/dnc", json={"url": "in/heard"}, headers=team.headers)
    deliver(app)  # 410: the service disables the last endpoint
    assert not has_webhooks(app, team.id)
    assert [json.loads(r.body)["data"]["url"] for r in receiver.received] == [
        "https://linkedin.com/in/heard"
    ]


def test_an_endpoint_failing_too_long_is_disabled(make_app, team, receiver):
    app = make_app(
        WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_SCHEDULE=[0, 0.3, 0.3], WEBHOOK_DISABLE_AFTER=0.25
    )
    client = app.test_client()
    endpoint_id, _secret = register(client, team, receiver.url)
    receiver.script = [Answer(500)] * 3
    client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers)
    deliver(app)
    endpoint = endpoint_row(app, endpoint_id)
    assert not endpoint.enabled and "failed" in endpoint.disabled_reason
    assert len(receiver.received) == 2  # the third attempt was cancelled


def test_retry_after_is_honoured_and_bounded(make_app, team, receiver):
    app = make_app(
        WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_SCHEDULE=SCHEDULE, WEBHOOK_RETRY_AFTER_MAX=1.0
    )
    client = app.test_client()
    register(client, team, receiver.url)
    receiver.script = [Answer(429, {"Retry-After": "0.8"}), Answer(503, {"Retry-After": "60"})]
    client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers)
    deliver(app)
    first, second, third = receiver.wait_for(3)
    assert second.at - first.at >= 0.75  # not the schedule's 0.2 s
    assert 0.95 <= third.at - second.at < 5  # 60 s asked, bounded to 1 s


def test_private_addresses_are_refused_at_delivery_time(make_app, team, receiver):
    # Saved while allowed; a server that does not allow them refuses to deliver there
    # (what a name that resolves to a private address later, by DNS rebinding, meets).
    allowed = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    endpoint_id, _secret = register(allowed.test_client(), team, receiver.url)
    app = make_app(WEBHOOK_RETRY_SCHEDULE=[0])
    app.test_client().post("/v1/dnc", json={"url": "in/x"}, headers=team.headers)
    deliver(app)
    assert receiver.received == []
    assert [(a.status_code, a.error) for a in attempts(app, endpoint_id)] == [
        (None, "destination not allowed")
    ]


def test_redirects_are_not_followed(app, client, team, receiver):
    endpoint_id, _secret = register(client, team, receiver.url)
    receiver.script = [Answer(307, {"Location": receiver.url + "/elsewhere"})] * 3
    client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers)
    deliver(app)
    assert [r.path for r in receiver.received] == ["/hook"] * 3  # never /hook/elsewhere
    assert {a.status_code for a in attempts(app, endpoint_id)} == {307}


def test_connection_errors_are_a_generic_class(app, client, team):
    endpoint_id, _secret = register(client, team, "http://127.0.0.1:9/closed")
    client.post(f"/v1/webhooks/{endpoint_id}/test", headers=team.headers)
    deliver(app)
    assert {a.error for a in attempts(app, endpoint_id)} == {"connection failed"}


def test_a_large_answer_is_read_bounded_and_logged_short(app, client, team, receiver):
    endpoint_id, _secret = register(client, team, receiver.url)
    receiver.script = [Answer(200, body=b"x" * 500_000)]
    client.post(f"/v1/webhooks/{endpoint_id}/test", headers=team.headers)
    deliver(app)
    (attempt,) = attempts(app, endpoint_id)
    assert attempt.status_code == 200 and len(attempt.response_excerpt) == 1024


# --------------------------------------------------------------------------- secrets


def test_rotation_signs_with_both_secrets_during_the_overlap(app, client, team, receiver):
    endpoint_id, old = register(client, team, receiver.url)
    with app.app_context():
        new = endpoints.rotate_secret(team.id, endpoint_id)
    client.post(f"/v1/webhooks/{endpoint_id}/test", headers=team.headers)
    deliver(app)
    (received,) = receiver.wait_for(1)
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert received.verified(old)["type"] == received.verified(new)["type"] == "webhook.test"

    with app.app_context():  # 24 hours later only the new secret signs
        db.session.execute(
            update(WebhookEndpoint).values(previous_secret_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    client.post(f"/v1/webhooks/{endpoint_id}/test", headers=team.headers)
    deliver(app)
    later = receiver.wait_for(2)[1]
    later.verified(new)
    with pytest.raises(Exception, match="signature"):
        later.verified(old)


def test_secrets_are_encrypted_at_rest(app, client, team, receiver):
    endpoint_id, secret = register(client, team, receiver.url)
    stored = endpoint_row(app, endpoint_id).secret
    assert secret not in stored and secret[6:] not in stored


# --------------------------------------------------------------------------- the loop


def test_the_loop_is_woken_by_the_commit(make_app, team, receiver):
    app = make_app(
        WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_DELIVERY=True, WEBHOOK_POLL_INTERVAL=30
    )  # only the wake-up can be this fast
    client = app.test_client()
    register(client, team, receiver.url)  # the first request starts the loop
    try:
        started = time.monotonic()
        client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers)
        (received,) = receiver.wait_for(1, timeout=5)
        assert received.at - started < 1.0
    finally:
        delivery.stop_in_process()


def test_no_loop_in_tests_and_cli_unless_asked(app, client, team, receiver):
    register(client, team, receiver.url)
    client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers)
    time.sleep(0.3)
    assert receiver.received == [] and pending(app) == 1


def test_delivery_settings_from_the_environment(app_from_environment, monkeypatch):
    monkeypatch.setenv("WEBHOOK_DELIVERY", "off")
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "0, 1.5,60")
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "1")
    app = app_from_environment()
    assert app.config["WEBHOOK_DELIVERY"] is False
    assert app.config["WEBHOOK_RETRY_SCHEDULE"] == [0, 1.5, 60]
    assert app.config["WEBHOOK_ALLOW_PRIVATE"] is True
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "soon")
    with pytest.raises(ConfigError, match="WEBHOOK_RETRY_SCHEDULE"):
        app_from_environment()


def test_defaults(app_from_environment, monkeypatch):
    for name in ("WEBHOOK_DELIVERY", "WEBHOOK_RETRY_SCHEDULE", "WEBHOOK_ALLOW_PRIVATE"):
        monkeypatch.delenv(name, raising=False)
    app = app_from_environment()
    assert app.config["WEBHOOK_DELIVERY"] is True
    assert app.config["WEBHOOK_RETRY_SCHEDULE"] == [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    assert app.config["WEBHOOK_ALLOW_PRIVATE"] is False


# --------------------------------------------------------------------------- CLI


def test_cli_create_list_test_delete(app, team, receiver):
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["webhooks", "create", receiver.url, "--team", team.slug, "--event", "dnc.entry.added"]
    )
    assert created.exit_code == 0, created.output
    endpoint_id = created.output.split("Endpoint:")[1].split()[0]
    secret = created.output.split("Secret:")[1].split()[0]
    listed = runner.invoke(args=["webhooks", "list", "--team", team.slug])
    assert endpoint_id in listed.output and receiver.url in listed.output
    assert runner.invoke(args=["webhooks", "test", endpoint_id, "--team", team.slug]).exit_code == 0
    deliver(app)
    assert receiver.wait_for(1)[0].verified(secret)["type"] == "webhook.test"
    refused = runner.invoke(args=["webhooks", "create", "ftp://x", "--team", team.slug])
    assert refused.exit_code != 0 and "https://" in refused.output
    assert (
        runner.invoke(args=["webhooks", "delete", endpoint_id, "--team", team.slug]).exit_code == 0
    )
    assert endpoint_id not in runner.invoke(args=["webhooks", "list", "--team", team.slug]).output


def test_an_endpoint_deleted_during_an_attempt_is_no_error(app, client, team, receiver):
    endpoint_id, _secret = register(client, team, receiver.url)
    client.post(f"/v1/webhooks/{endpoint_id}/test", headers=team.headers)
    receiver.script = [Answer(200, delay=0.6)]
    settings = delivery.Settings.of(app)
    with app.app_context():
        (claimed,) = delivery.claim(settings, 10)
    results = []

    def attempt():
        with app.app_context():
            results.append(delivery.deliver(claimed, settings))

    thread = threading.Thread(target=attempt)
    thread.start()
    receiver.wait_for(1)  # the POST is in flight
    with app.app_context():
        endpoints.delete_endpoint(team.id, endpoint_id)
    thread.join()
    assert results == [1]  # delivered; nothing left to record it on, and no error
    assert attempts(app, endpoint_id) == []


def test_after_a_secret_key_change_deliveries_fail_until_the_secret_is_rotated(
    make_app, team, receiver
):
    before = make_app(WEBHOOK_ALLOW_PRIVATE=True, SECRET_KEY="the-old-key" * 4)
    endpoint_id, _old = register(before.test_client(), team, receiver.url)
    app = make_app(
        WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_SCHEDULE=[0], SECRET_KEY="the-new-key" * 4
    )
    client = app.test_client()
    client.post(f"/v1/webhooks/{endpoint_id}/test", headers=team.headers)
    deliver(app)
    assert receiver.received == []
    assert [a.error for a in attempts(app, endpoint_id)] == ["secret unreadable: rotate it"]
    with app.app_context():
        new = endpoints.rotate_secret(team.id, endpoint_id)  # the old one cannot co-sign
    client.post(f"/v1/webhooks/{endpoint_id}/test", headers=team.headers)
    deliver(app)
    (received,) = receiver.wait_for(1)
    assert received.verified(new)["type"] == "webhook.test"
    assert len(received.headers["webhook-signature"].split()) == 1


def test_a_delivery_writes_its_head_and_body_at_once():
    """One write per request (http.client's public send, not its private output buffer);
    a request without a body is written as http.client writes it."""
    from dnc_app.events.webhooks.destinations import parse as parse_destination
    from dnc_app.events.webhooks.sender import _Pinned

    class Recording:
        def __init__(self):
            self.writes: list[bytes] = []

        def sendall(self, data):
            self.writes.append(bytes(data))

    connection = _Pinned(parse_destination("http://hooks.example/in?x=1"), "127.0.0.1")
    connection.sock = Recording()
    body = b'{"type":"dnc.entry.added"}'
    connection.post_in_one_write(body, {"Content-Type": "application/json"})
    (write,) = connection.sock.writes
    assert write.startswith(b"POST /in?x=1 HTTP/1.1\r\nHost: hooks.example\r\n")
    assert write.endswith(b"\r\n\r\n" + body) and b"Content-Length: 26\r\n" in write

    connection = _Pinned(parse_destination("http://hooks.example/in"), "127.0.0.1")
    connection.sock = Recording()
    connection.post_in_one_write(b"", {})
    (write,) = connection.sock.writes
    assert write.endswith(b"Content-Length: 0\r\n\r\n")
