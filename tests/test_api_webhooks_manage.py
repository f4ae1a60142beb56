"""The integrator's webhook API: read, change, re-enable (with the reason it was
disabled), rotate the secret (two signatures during the overlap), the delivery log,
redeliver, recover from the change log; the endpoint cap (also under concurrency),
hostile strings, IPv6 forms that embed a private IPv4 address; isolation between teams."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dnc_app.domain.timeutil import isoformat, utcnow
from dnc_app.events.webhooks import destinations, endpoints
from dnc_app.extensions import db
from dnc_app.storage.models import WebhookEndpoint, WebhookMessage
from tests.test_webhooks import attempts, deliver, register
from tests.webhook_support import Answer

SCHEDULE = [0, 0.2]


@pytest.fixture
def app(make_app):
    return make_app(
        WEBHOOK_ALLOW_PRIVATE=True,
        WEBHOOK_RETRY_SCHEDULE=SCHEDULE,
        WEBHOOK_TIMEOUT=1.0,
        WEBHOOK_MAX_ENDPOINTS=3,
    )


def call(client, method, path, team, **kwargs):
    response = client.open(path, method=method, headers=team.headers, **kwargs)
    return response.status_code, response.get_json()


def add(client, team, name):
    assert (
        client.post("/v1/dnc", json={"url": f"in/{name}"}, headers=team.headers).status_code == 201
    )


def entry_id(client, team, name):
    return client.get(
        "/v1/dnc/check", query_string={"url": f"in/{name}"}, headers=team.headers
    ).get_json()["data"]["entry"]["$id"]


# --------------------------------------------------------------------------- read, change


def test_get_and_every_endpoint_object_carry_the_disabled_reason(client, team, receiver):
    status, body = call(client, "POST", "/v1/webhooks", team, json={"url": receiver.url})
    assert status == 201 and body["data"]["disabledReason"] is None
    webhook_id = body["data"]["id"]
    status, body = call(client, "GET", f"/v1/webhooks/{webhook_id}", team)
    assert status == 200 and body["error"] is None
    assert body["data"]["id"] == webhook_id and "secret" not in body["data"]
    assert body["data"]["disabledReason"] is None and body["data"]["enabled"] is True
    listed = call(client, "GET", "/v1/webhooks", team)[1]["data"]["webhooks"]
    assert listed[0]["disabledReason"] is None


def test_a_410_is_the_reason_and_patch_enabled_clears_it(app, client, team, receiver):
    webhook_id, _secret = register(client, team, receiver.url)
    receiver.script = [Answer(410)]
    add(client, team, "gone")
    deliver(app)
    data = call(client, "GET", f"/v1/webhooks/{webhook_id}", team)[1]["data"]
    assert data["enabled"] is False and "410" in data["disabledReason"]

    status, body = call(client, "PATCH", f"/v1/webhooks/{webhook_id}", team, json={"enabled": True})
    assert status == 200 and body["data"]["enabled"] is True
    assert body["data"]["disabledReason"] is None
    with app.app_context():
        row = db.session.get(WebhookEndpoint, webhook_id)
        assert row.disabled_reason is None and row.failing_since is None


def test_patch_changes_fields_with_the_create_rules(client, team, receiver):
    webhook_id, _ = register(client, team, receiver.url)
    status, body = call(
        client,
        "PATCH",
        f"/v1/webhooks/{webhook_id}",
        team,
        json={
            "url": receiver.url + "/v2",
            "events": ["dnc.entry.removed"],
            "description": "CRM v2",
        },
    )
    assert status == 200
    data = body["data"]
    assert (data["url"], data["events"], data["description"]) == (
        receiver.url + "/v2",
        ["dnc.entry.removed"],
        "CRM v2",
    )
    status, body = call(
        client, "PATCH", f"/v1/webhooks/{webhook_id}", team, json={"enabled": False}
    )
    assert body["data"]["enabled"] is False
    assert body["data"]["disabledReason"] == endpoints.DISABLED_BY_TEAM

    for patch, code in [
        ({"url": "ftp://x.example/"}, "invalid_url"),
        ({"url": ""}, "missing_url"),
        ({"events": ["nope"]}, "invalid_parameter"),
        ({"events": []}, "invalid_parameter"),
        ({"description": 5}, "invalid_parameter"),
        ({"enabled": "yes"}, "invalid_parameter"),
        ({"secret": "whsec_x"}, "invalid_parameter"),
        ({}, "invalid_parameter"),
    ]:
        status, body = call(
            client,
            "PATCH",
            f"/v1/webhooks/{webhook_id}",
            team,
            json={**patch, "description": "changed?"}
            if patch and "description" not in patch
            else patch,
        )
        assert (status, body["error"]) == (400, code), patch
    # Nothing of a refused request was stored.
    data = call(client, "GET", f"/v1/webhooks/{webhook_id}", team)[1]["data"]
    assert data["description"] == "CRM v2" and data["url"] == receiver.url + "/v2"


# --------------------------------------------------------------------------- secrets


def test_rotate_secret_signs_with_both_new_first_during_the_overlap(app, client, team, receiver):
    webhook_id, old = register(client, team, receiver.url)
    status, body = call(client, "POST", f"/v1/webhooks/{webhook_id}/rotate-secret", team)
    assert status == 200 and body["data"]["secret"].startswith("whsec_")
    new = body["data"]["secret"]
    assert new != old
    add(client, team, "rotated")
    deliver(app)
    (received,) = receiver.wait_for(1)
    first, second = received.headers["webhook-signature"].split(" ")
    from standardwebhooks import Webhook

    assert (
        Webhook(new).sign(received.headers["webhook-id"], _ts(received), received.body.decode())
        == first
    )
    received.verified(old)


def _ts(received):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(received.headers["webhook-timestamp"]), UTC)


def test_the_overlap_is_the_setting(make_app, team, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_SECRET_OVERLAP=5)
    client = app.test_client()
    webhook_id, _ = register(client, team, receiver.url)
    before = utcnow()
    call(client, "POST", f"/v1/webhooks/{webhook_id}/rotate-secret", team)
    with app.app_context():
        until = db.session.get(WebhookEndpoint, webhook_id).previous_secret_until
    assert timedelta(seconds=4) < until - before < timedelta(seconds=6)


# --------------------------------------------------------------------------- log, redeliver


def test_attempts_newest_first_with_seq_keyset_paging(app, client, team, receiver):
    webhook_id, _ = register(client, team, receiver.url)
    receiver.script = [Answer(500)]
    for name in ("a", "b", "c"):
        add(client, team, name)
    deliver(app)
    status, body = call(client, "GET", f"/v1/webhooks/{webhook_id}/attempts?limit=2", team)
    assert status == 200
    data = body["data"]
    assert data["hasMore"] is True and len(data["attempts"]) == 2
    first = data["attempts"][0]
    assert list(first) == [
        "id",
        "msgId",
        "eventType",
        "seq",
        "at",
        "result",
        "statusCode",
        "durationMs",
        "error",
    ]
    rest = call(
        client,
        "GET",
        f"/v1/webhooks/{webhook_id}/attempts",
        team,
        query_string={"cursor": data["nextCursor"], "limit": 10},
    )[1]["data"]
    assert rest["hasMore"] is False and rest["nextCursor"] is None
    every = data["attempts"] + rest["attempts"]
    assert len(every) == 4  # three events, one retried
    ids = [int(a["id"]) for a in every]
    assert ids == sorted(ids, reverse=True)
    assert [a["result"] for a in every].count("failed") == 1
    failed = next(a for a in every if a["result"] == "failed")
    assert failed["statusCode"] == 500 and failed["eventType"] == "dnc.entry.added"
    assert {a["eventType"] for a in every} == {"dnc.entry.added"}
    assert all(isinstance(a["durationMs"], int) for a in every)


@pytest.mark.parametrize("cursor", ["nope", "YTE6MQ", "a" * 300, "é", "YTE6MTow"])
def test_a_cursor_the_server_never_issued_is_a_400(client, team, receiver, cursor):
    webhook_id, _ = register(client, team, receiver.url)
    status, body = call(
        client, "GET", f"/v1/webhooks/{webhook_id}/attempts", team, query_string={"cursor": cursor}
    )
    assert (status, body["error"]) == (400, "invalid_parameter")


def test_another_endpoints_cursor_is_a_400(app, client, team, receiver):
    first, _ = register(client, team, receiver.url)
    second, _ = register(client, team, receiver.url)
    for name in ("a", "b"):
        add(client, team, name)
    deliver(app)
    cursor = call(client, "GET", f"/v1/webhooks/{first}/attempts?limit=1", team)[1]["data"][
        "nextCursor"
    ]
    status, body = call(
        client, "GET", f"/v1/webhooks/{second}/attempts", team, query_string={"cursor": cursor}
    )
    assert (status, body["error"]) == (400, "invalid_parameter")


def test_redeliver_sends_the_same_event_with_the_same_webhook_id(app, client, team, receiver):
    webhook_id, secret = register(client, team, receiver.url)
    add(client, team, "again")
    deliver(app)
    msg_id = call(client, "GET", f"/v1/webhooks/{webhook_id}/attempts", team)[1]["data"][
        "attempts"
    ][0]["msgId"]
    status, body = call(
        client, "POST", f"/v1/webhooks/{webhook_id}/messages/{msg_id}/redeliver", team
    )
    assert status == 202 and body["error"] is None
    deliver(app)
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == msg_id
    assert first.verified(secret)["data"] == second.verified(secret)["data"]
    assert len(attempts(app, webhook_id)) == 2

    for unknown in ("msg_unknown", "not-a-msg", "msg_" + "x" * 300):
        status, body = call(
            client, "POST", f"/v1/webhooks/{webhook_id}/messages/{unknown}/redeliver", team
        )
        assert (status, body["error"]) == (404, "not_found")


# --------------------------------------------------------------------------- recover


def test_recover_queues_the_changes_made_while_disabled(app, client, team, receiver):
    webhook_id, secret = register(
        client, team, receiver.url, events=["dnc.entry.added", "dnc.entry.removed"]
    )
    add(client, team, "before")
    deliver(app)
    since = isoformat(utcnow())
    call(client, "PATCH", f"/v1/webhooks/{webhook_id}", team, json={"enabled": False})
    add(client, team, "while1")
    add(client, team, "while2")
    gone = entry_id(client, team, "while1")
    assert client.delete(f"/v1/dnc/{gone}", headers=team.headers).status_code == 200
    assert (
        call(client, "POST", f"/v1/webhooks/{webhook_id}/recover", team, json={"since": since})[1][
            "error"
        ]
        == "endpoint_disabled"
    )
    call(client, "PATCH", f"/v1/webhooks/{webhook_id}", team, json={"enabled": True})
    status, body = call(
        client, "POST", f"/v1/webhooks/{webhook_id}/recover", team, json={"since": since}
    )
    assert status == 202 and body["data"] == {"count": 3}
    deliver(app)
    # Sorted by seq: the order of attempts is the delivery engine's concern.
    events = sorted(
        (r.verified(secret) for r in receiver.wait_for(4)[1:]), key=lambda e: e["data"]["seq"]
    )
    assert [(e["type"], e["data"]["url"].rsplit("/", 1)[1]) for e in events] == [
        ("dnc.entry.added", "while1"),
        ("dnc.entry.added", "while2"),
        ("dnc.entry.removed", "while1"),
    ]
    feed = client.get("/v1/dnc/changes", headers=team.headers).get_json()["data"]["changes"]
    assert [e["data"]["seq"] for e in events] == [c["seq"] for c in feed[1:]]
    assert events[2]["data"]["$id"] == gone
    with app.app_context():
        seqs = db.session.scalars(
            select(WebhookMessage.seq)
            .where(WebhookMessage.endpoint_id == webhook_id, WebhookMessage.seq.is_not(None))
            .order_by(WebhookMessage.id)
        ).all()
    assert seqs[-3:] == [c["seq"] for c in feed[1:]]


def test_recover_follows_the_event_types_and_a_future_since_queues_none(client, team, receiver):
    webhook_id, _ = register(client, team, receiver.url, events=["dnc.entry.removed"])
    since = isoformat(utcnow() - timedelta(minutes=1))
    add(client, team, "kept")
    add(client, team, "dropped")
    client.delete(f"/v1/dnc/{entry_id(client, team, 'dropped')}", headers=team.headers)
    assert call(client, "POST", f"/v1/webhooks/{webhook_id}/recover", team, json={"since": since})[
        1
    ]["data"] == {"count": 1}
    later = isoformat(utcnow() + timedelta(days=1))
    assert call(client, "POST", f"/v1/webhooks/{webhook_id}/recover", team, json={"since": later})[
        1
    ]["data"] == {"count": 0}


def test_recover_is_bounded(make_app, team, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RECOVER_MAX=2)
    client = app.test_client()
    webhook_id, _ = register(client, team, receiver.url)
    since = isoformat(utcnow() - timedelta(minutes=1))
    with app.app_context():
        queued = db.session.scalar(select(func.count()).select_from(WebhookMessage))
    for name in ("a", "b", "c"):
        add(client, team, name)
    status, body = call(
        client, "POST", f"/v1/webhooks/{webhook_id}/recover", team, json={"since": since}
    )
    assert (status, body["error"]) == (400, "too_many_changes")
    assert "changes feed" in body["message"]
    with app.app_context():  # nothing was queued by the refused call
        assert db.session.scalar(select(func.count()).select_from(WebhookMessage)) == queued + 3


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"since": "yesterday"},
        {"since": 5},
        {"since": "2026-13-01T00:00:00Z"},
        {"since": "\ud800"},
        {"since": "2026-01-01T00:00:00Z" + "0" * 100},
    ],
)
def test_recover_needs_an_iso_time(client, team, receiver, body):
    webhook_id, _ = register(client, team, receiver.url)
    status, answer = call(client, "POST", f"/v1/webhooks/{webhook_id}/recover", team, json=body)
    assert (status, answer["error"]) == (400, "invalid_parameter")


# --------------------------------------------------------------------------- isolation


def test_another_teams_endpoint_and_event_are_not_found(app, client, team, make_team, receiver):
    webhook_id, _ = register(client, team, receiver.url)
    add(client, team, "mine")
    deliver(app)
    msg_id = call(client, "GET", f"/v1/webhooks/{webhook_id}/attempts", team)[1]["data"][
        "attempts"
    ][0]["msgId"]
    other = make_team("Other")
    other_id, _ = register(client, other, receiver.url)
    since = {"since": isoformat(utcnow())}
    for method, path, kwargs in [
        ("GET", f"/v1/webhooks/{webhook_id}", {}),
        ("PATCH", f"/v1/webhooks/{webhook_id}", {"json": {"enabled": False}}),
        ("POST", f"/v1/webhooks/{webhook_id}/rotate-secret", {}),
        ("GET", f"/v1/webhooks/{webhook_id}/attempts", {}),
        ("POST", f"/v1/webhooks/{webhook_id}/messages/{msg_id}/redeliver", {}),
        ("POST", f"/v1/webhooks/{other_id}/messages/{msg_id}/redeliver", {}),
        ("POST", f"/v1/webhooks/{webhook_id}/recover", {"json": since}),
        ("GET", "/v1/webhooks/whk_%00", {}),
    ]:
        status, body = call(client, method, path, other, **kwargs)
        assert (status, body["error"]) == (404, "not_found"), (method, path)
    assert call(client, "GET", f"/v1/webhooks/{webhook_id}", team)[1]["data"]["enabled"]


# --------------------------------------------------------------------------- bounds


def test_the_endpoint_cap_for_api_pages_and_cli(app, client, team, make_team, receiver):
    for _ in range(3):
        register(client, team, receiver.url)
    status, body = call(client, "POST", "/v1/webhooks", team, json={"url": receiver.url})
    assert (status, body["error"]) == (400, "too_many_endpoints")
    result = app.test_cli_runner().invoke(
        args=["webhooks", "create", receiver.url, "--team", team.slug]
    )
    assert result.exit_code != 0 and "at most 3" in result.output
    other = make_team("Other")  # per team
    register(client, other, receiver.url)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(WebhookEndpoint)
                .where(WebhookEndpoint.team_id == team.id)
            )
            == 3
        )


def test_the_cap_holds_under_concurrency(app, team, receiver):
    clients = [app.test_client() for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    statuses = []

    def create(c):
        barrier.wait()
        statuses.append(
            c.post("/v1/webhooks", json={"url": receiver.url}, headers=team.headers).status_code
        )

    threads = [threading.Thread(target=create, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] * 3 + [400] * 5
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 3


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("url", "http://127.0.0.1:9/\ud800", "invalid_url"),
        ("url", "http://127.0.0.1:9/a\x00b", "invalid_url"),
        ("url", "http://exa\udfffmple.com/", "invalid_url"),
        ("url", "http://127.0.0.1:9/\x7f", "invalid_url"),
        ("description", "CRM \ud800", "invalid_parameter"),
        ("description", "CRM\x00", "invalid_parameter"),
        ("description", "CRM\x1b[31m", "invalid_parameter"),
    ],
)
def test_hostile_strings_are_a_400_and_nothing_is_stored(
    app, client, team, receiver, field, value, code
):
    body = {"url": receiver.url, field: value}
    status, answer = call(client, "POST", "/v1/webhooks", team, json=body)
    assert (status, answer["error"]) == (400, code)
    webhook_id, _ = register(client, team, receiver.url, description="kept")
    status, answer = call(client, "PATCH", f"/v1/webhooks/{webhook_id}", team, json={field: value})
    assert (status, answer["error"]) == (400, code)
    with app.app_context():
        rows = db.session.scalars(select(WebhookEndpoint)).all()
        assert [(r.url, r.description) for r in rows] == [(receiver.url, "kept")]


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::7f00:1",
        "::a00:1",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::c0a8:1",
        "2002:7f00:1::1",
        "2002:c0a8:101::1",
        "2002:a00:1::",
        "::1",
    ],
)
def test_ipv6_forms_of_private_ipv4_are_not_public(address):
    assert destinations.is_public(address) is False


@pytest.mark.parametrize(
    "address", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_ipv6_forms_of_public_addresses_stay_public(address):
    assert destinations.is_public(address) is True


@pytest.mark.parametrize(
    "host", ["[::7f00:1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]", "[::ffff:7f00:1]"]
)
def test_ipv6_destinations_embedding_loopback_are_refused(make_app, team, host):
    client = make_app().test_client()  # WEBHOOK_ALLOW_PRIVATE off
    status, body = call(
        client, "POST", "/v1/webhooks", team, json={"url": f"http://{host}:8080/hook"}
    )
    assert (status, body["error"]) == (400, "invalid_url")


def test_the_document_links_a_webhooks_id_to_its_routes(client):
    document = client.get("/v1/openapi.json").get_json()
    operations = {
        op["operationId"]: (path, method)
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    created = document["paths"]["/v1/webhooks"]["post"]["responses"]["201"]["links"]
    read = document["paths"]["/v1/webhooks/{webhookId}"]["get"]["responses"]["200"]["links"]
    assert created == read
    for name in (
        "getWebhook",
        "updateWebhook",
        "deleteWebhook",
        "rotateWebhookSecret",
        "listWebhookAttempts",
        "recoverWebhook",
        "testWebhook",
    ):
        link = created[name]
        assert link["operationId"] in operations
        assert link["parameters"] == {"webhookId": "$response.body#/data/id"}
        assert "{webhookId}" in operations[link["operationId"]][0]
    update = document["paths"]["/v1/webhooks/{webhookId}"]["patch"]
    assert set(
        update["responses"]["400"]["content"]["application/json"]["schema"]["properties"]["error"][
            "enum"
        ]
    ) >= {"invalid_url", "invalid_parameter"}
    create = document["paths"]["/v1/webhooks"]["post"]
    assert (
        "too_many_endpoints"
        in (
            create["responses"]["400"]["content"]["application/json"]["schema"]["properties"][
                "error"
            ]["enum"]
        )
    )


def test_an_endpoint_deleted_during_a_patch_is_not_found(app, client, team, receiver, monkeypatch):
    webhook_id, _ = register(client, team, receiver.url)
    check_url = endpoints._clean_url

    def deleted_meanwhile(url):  # another request deletes it while this one checks
        assert (
            app.test_client().delete(f"/v1/webhooks/{webhook_id}", headers=team.headers).status_code
            == 200
        )
        return check_url(url)

    monkeypatch.setattr(endpoints, "_clean_url", deleted_meanwhile)
    status, body = call(
        client, "PATCH", f"/v1/webhooks/{webhook_id}", team, json={"url": receiver.url + "/v2"}
    )
    assert (status, body["error"]) == (404, "not_found")


def test_recovered_events_carry_what_the_live_ones_did(app, client, team, receiver):
    """A recovered event is built as the live one was: the same `data` (protected, erased,
    sha256 and the dates included) for adds and removals, own opt-outs and erased people."""
    import json

    from dnc_app.domain import entries
    from dnc_app.domain.changelog import Source
    from tests.support import TEST_ACTOR

    webhook_id, _ = register(
        client, team, receiver.url, events=["dnc.entry.added", "dnc.entry.removed"]
    )
    since = isoformat(utcnow() - timedelta(minutes=1))
    with app.app_context():

        def add(name, source=Source.API, reason="asked"):
            return entries.add_entry(
                team.id, f"in/{name}", reason=reason, source=source, actor=TEST_ACTOR
            )

        add("plain")
        add("own", source=Source.PUBLIC_FORM, reason=None)
        later = add("asked-later")
        # The person asks on the public form: their own opt-out from then on.
        with pytest.raises(entries.AlreadyListed):
            entries.add_entry(
                team.id, "in/asked-later", source=Source.PUBLIC_FORM, actor=TEST_ACTOR
            )
        erased = add("erased")
        gone = add("gone")
        entries.remove_entry(team.id, gone.id, reason="left", source=Source.API, actor=TEST_ACTOR)
        entries.remove_entry(
            team.id,
            later.id,
            reason="owner says",
            source=Source.WEB,
            actor=TEST_ACTOR,
            may_remove_optouts=True,
        )
        entries.erase_entry(team.id, erased.id, source=Source.API, actor=TEST_ACTOR)

        def payloads() -> dict[int, list[dict]]:
            by_seq: dict[int, list[dict]] = {}
            for seq, payload in db.session.execute(
                select(WebhookMessage.seq, WebhookMessage.payload)
                .where(WebhookMessage.endpoint_id == webhook_id, WebhookMessage.seq.is_not(None))
                .order_by(WebhookMessage.id)
            ):
                by_seq.setdefault(seq, []).append(json.loads(payload))
            return by_seq

        live = payloads()
        db.session.remove()
    status, body = call(
        client, "POST", f"/v1/webhooks/{webhook_id}/recover", team, json={"since": since}
    )
    assert status == 202 and body["data"] == {"count": len(live)} and len(live) == 7
    with app.app_context():
        both = payloads()
    for seq, (first, recovered) in both.items():
        assert recovered == first, seq
    events = {(e["type"], e["data"]["$id"]): e["data"] for e, _ in both.values()}
    assert events[("dnc.entry.added", erased.id)]["sha256"] == erased.url_sha256
    assert events[("dnc.entry.added", erased.id)]["erased"] is True
    assert events[("dnc.entry.removed", later.id)]["protected"] is True
    assert [e["data"]["protected"] for e, _ in both.values() if e["type"].endswith("added")] == [
        False,
        True,
        False,
        False,
        False,
    ]
