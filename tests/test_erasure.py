"""Erasure without forgetting: POST /v1/dnc/<id>/erase and the owner's button.

The person's URL and reason leave every table, stored payload and index (and, on SQLite,
the database file and its WAL); the digest and the dates stay, so check, screen and add
still find the person; connected tools get `dnc.entry.erased`, the feed an `erased` change.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from sqlalchemy import String, Text, func, inspect, select, text

from dnc_app.domain import entries
from dnc_app.domain.accounts.apikeys import create_api_key
from dnc_app.domain.changelog import Source
from dnc_app.domain.entries import url_digest
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, WebhookAttempt, WebhookMessage
from dnc_app.storage.search import trigram_query
from tests.support import TEST_ACTOR
from tests.test_webhooks import deliver, register
from tests.web_support import make_member, sign_in, token_for
from tests.webhook_support import Answer


@pytest.fixture
def app(make_app):
    return make_app(
        WEBHOOK_ALLOW_PRIVATE=True,
        WEBHOOK_RETRY_SCHEDULE=[0, 0.2],
        WEBHOOK_TIMEOUT=1.0,
        OPTOUT_MIN_SECONDS=0,
    )


@pytest.fixture
def eraser(app, team) -> dict[str, str]:
    """Headers of a key of `team` that may remove opt-outs (and so erase)."""
    with app.app_context():
        _key, secret = create_api_key(
            team.id, name="compliance", actor=TEST_ACTOR, can_remove_optouts=True
        )
    return {"Authorization": f"Bearer {secret}"}


def person() -> tuple[str, str, str]:
    """A profile nobody else in the test database has: (input, normalized URL, reason)."""
    # Letters no filler entry holds (see the file test), so its trigrams are its own.
    tail = "".join(secrets.choice("ghjkmnopqsuvwxyz") for _ in range(12))
    username = f"erasable-{tail}"
    return (
        f"https://www.linkedin.com/in/{username}/",
        f"https://linkedin.com/in/{username}",
        f"Private note about {username}: met at a fair",
    )


def add(client, team, url, reason=None) -> dict:
    response = client.post("/v1/dnc", json={"url": url, "reason": reason}, headers=team.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def erase(client, headers, entry_id):
    return client.post(f"/v1/dnc/{entry_id}/erase", headers=headers)


def text_columns_holding(app, needles: list[str]) -> list[str]:
    """`table.column` of every text column of every table (search indexes and their
    shadow tables included) where a needle still appears."""
    found = []
    with app.app_context():
        connection = db.session.connection()
        inspector = inspect(connection)
        tables = inspector.get_table_names()
        if connection.dialect.name == "sqlite":  # FTS5 tables and their shadow tables too
            tables = [
                name
                for (name,) in connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'table'")
                )
            ]
        for table in tables:
            for column in inspector.get_columns(table):
                kind = column["type"]
                textual = isinstance(kind, String | Text) or str(kind) in ("", "BLOB")
                if not textual:
                    continue
                name = column["name"]
                value = f'CAST("{name}" AS TEXT)' if str(kind) in ("", "BLOB") else f'"{name}"'
                for needle in needles:
                    hit = connection.execute(
                        text(
                            f'SELECT 1 FROM "{table}" WHERE instr({value}, :n) > 0 LIMIT 1'
                            if connection.dialect.name == "sqlite"
                            else f'SELECT 1 FROM "{table}" WHERE strpos({value}, :n) > 0 LIMIT 1'
                        ),
                        {"n": needle},
                    ).first()
                    if hit:
                        found.append(f"{table}.{name}: {needle}")
        db.session.remove()
    return found


# --------------------------------------------------------------------------- the API


def test_erasure_removes_the_data_everywhere_and_keeps_the_person_listed(
    app, client, team, eraser, receiver
):
    raw, url, reason = person()
    username = url.rsplit("/", 1)[1]
    endpoint_id, secret = register(client, team, receiver.url)
    # The receiver echoes what it got (its answer is kept with the attempt).
    receiver.script = [Answer(200, body=f"got {url} {reason}".encode())] * 4
    # An earlier entry of the same person, removed with a reason, then the current one.
    first = add(client, team, raw, reason)
    assert (
        client.delete(
            f"/v1/dnc/{first['$id']}", json={"reason": f"{reason} (removed)"}, headers=team.headers
        ).status_code
        == 200
    )
    entry = add(client, team, raw, reason)
    other = add(client, team, "in/someone-else", "unrelated")
    deliver(app)
    assert text_columns_holding(app, [url, reason])  # the test sees them before

    response = erase(client, eraser, entry["$id"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["error"] is None
    data = body["data"]
    assert data["$id"] == entry["$id"] and data["url"] is None and data["reason"] is None
    assert data["erased"] is True and data["sha256"] == url_digest(url)
    assert data["$createdAt"] == entry["$createdAt"]

    assert text_columns_holding(app, [url, username, reason]) == []
    # Another person's data is untouched.
    assert text_columns_holding(app, ["https://linkedin.com/in/someone-else", "unrelated"])

    # Check by URL, screen by URL and by digest: still on the list, without the URL.
    check = client.get("/v1/dnc/check", query_string={"url": raw}, headers=team.headers)
    assert check.get_json()["data"]["onList"] is True
    assert check.get_json()["data"]["entry"] == data
    for key, items in (("urls", [raw, "in/nobody-here"]), ("sha256", [url_digest(url).upper()])):
        screened = client.post("/v1/dnc/screen", json={key: items}, headers=team.headers)
        result = screened.get_json()["data"]["results"][0]
        assert result["onList"] is True and result["entryId"] == entry["$id"]
    # Adding the person again: 409 with the erased entry, in every add path.
    again = client.post("/v1/dnc", json={"url": url}, headers=team.headers)
    assert again.status_code == 409 and again.get_json()["error"] == "already_exists"
    assert again.get_json()["data"] == data
    batch = client.post("/v1/dnc/batch", json={"entries": [{"url": raw}]}, headers=team.headers)
    assert batch.get_json()["data"]["details"][0]["status"] == "duplicate"
    with app.app_context():
        assert entries.preview_entries(team.id, [raw]).items[0].status == "duplicate"
    # List and search show it without a URL; a search by the username finds nothing.
    listed = client.get("/v1/dnc", headers=team.headers).get_json()["data"]["entries"]
    assert [e["$id"] for e in listed] == [other["$id"], entry["$id"]]
    assert listed[1]["url"] is None and listed[1]["erased"] is True
    found = client.get("/v1/dnc", query_string={"q": username}, headers=team.headers)
    assert found.get_json()["data"]["entries"] == []

    # Connected tools are told, with the id, the digest and the change's seq.
    deliver(app)
    events = [r.verified(secret) for r in receiver.received]
    erased = [e for e in events if e["type"] == "dnc.entry.erased"]
    assert len(erased) == 1
    assert set(erased[0]["data"]) == {"$id", "sha256", "seq"}
    assert erased[0]["data"]["$id"] == entry["$id"]
    assert erased[0]["data"]["sha256"] == url_digest(url)
    # The feed: an `erased` change with the same seq; the earlier changes lost the URL.
    changes = client.get("/v1/dnc/changes", headers=team.headers).get_json()["data"]["changes"]
    assert changes[-1]["type"] == "erased" and changes[-1]["entryId"] == entry["$id"]
    assert all(c["url"] is None for c in changes if c["entryId"] in (first["$id"], entry["$id"]))
    with app.app_context():
        log = (
            db.session.execute(
                select(AuditEvent)
                .where(AuditEvent.subject_id == entry["$id"])
                .order_by(AuditEvent.seq)
            )
            .scalars()
            .all()
        )
        assert [e.action for e in log] == ["add", "erase"]
        assert log[-1].seq == erased[0]["data"]["seq"]
        assert (log[-1].url, log[-1].reason, log[-1].actor_label) == (
            None,
            None,
            "API key " + log[-1].actor_label[8:],
        )
        # The stored payloads of this person are still there (delivered), without the data.
        payloads = [json.loads(p) for p in db.session.scalars(select(WebhookMessage.payload))]
        mine = [
            p
            for p in payloads
            if p["data"].get("$id") in (first["$id"], entry["$id"])
            and p["type"] != "dnc.entry.erased"
        ]
        assert len(mine) == 3 and all(p["data"]["url"] is None for p in mine)
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(WebhookAttempt)
                .where(
                    WebhookAttempt.endpoint_id == endpoint_id,
                    WebhookAttempt.response_excerpt.is_not(None),
                )
            )
            >= 1
        )  # the other person's answer


def test_a_second_erasure_changes_nothing(app, client, team, eraser, receiver):
    register(client, team, receiver.url)
    raw, _url, reason = person()
    entry = add(client, team, raw, reason)
    first = erase(client, eraser, entry["$id"]).get_json()["data"]
    second = erase(client, eraser, entry["$id"])
    assert second.status_code == 200 and second.get_json()["data"] == first
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(WebhookMessage)
                .where(WebhookMessage.event_type == "dnc.entry.erased")
            )
            == 1
        )
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "erase")
            )
            == 1
        )


def test_only_a_key_that_may_remove_opt_outs_erases(app, client, team, make_team, eraser):
    raw, _url, _reason = person()
    entry = add(client, team, raw)
    refused = erase(client, team.headers, entry["$id"])
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "erasure_not_allowed"
    assert refused.get_json()["data"] is None
    # Refused before any lookup: an ordinary key learns nothing about ids.
    assert erase(client, team.headers, "dnc_doesnotexist").status_code == 403
    other = make_team("Other")
    with app.app_context():
        _key, secret = create_api_key(other.id, name="x", actor=TEST_ACTOR, can_remove_optouts=True)
    foreign = erase(client, {"Authorization": f"Bearer {secret}"}, entry["$id"])
    assert foreign.status_code == 404 and foreign.get_json()["error"] == "not_found"
    assert erase(client, eraser, "not-an-id").get_json()["error"] == "not_found"
    assert erase(client, eraser, "dnc_unknown1").status_code == 404
    check = client.get("/v1/dnc/check", query_string={"url": raw}, headers=team.headers)
    assert check.get_json()["data"]["entry"]["url"] is not None  # nothing was erased


def test_an_erased_entry_is_removed_only_with_the_right_to_remove_opt_outs(client, team, eraser):
    raw, _url, _reason = person()
    entry = add(client, team, raw)
    erase(client, eraser, entry["$id"])
    refused = client.delete(f"/v1/dnc/{entry['$id']}", headers=team.headers)
    assert refused.status_code == 403 and refused.get_json()["error"] == "protected_entry"


def test_the_persons_own_request_after_erasure_records_no_data(app, client, team, eraser):
    raw, url, reason = person()
    entry = add(client, team, raw, reason)
    erase(client, eraser, entry["$id"])
    with app.app_context():
        with pytest.raises(entries.AlreadyListed):
            entries.add_entry(
                team.id,
                raw,
                reason="again: " + reason,
                source=Source.PUBLIC_FORM,
                actor=TEST_ACTOR,
                record_duplicate=True,
            )
        # Their own request makes the erased entry theirs (protected), without their data.
        row = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "opted_out")
        ).scalar_one()
        assert (row.subject_id, row.url, row.reason) == (entry["$id"], None, None)
        assert entries.get_entry(team.id, entry["$id"]).protected
        db.session.remove()
    assert text_columns_holding(app, [url, reason]) == []


def test_a_pending_event_is_sent_without_the_data(app, client, team, eraser, receiver):
    _id, secret = register(client, team, receiver.url)
    raw, url, reason = person()
    entry = add(client, team, raw, reason)  # its event not delivered yet
    erase(client, eraser, entry["$id"])
    deliver(app)
    events = [r.verified(secret) for r in receiver.wait_for(2)]
    assert [e["type"] for e in events] == ["dnc.entry.added", "dnc.entry.erased"]
    assert events[0]["data"]["url"] is None and events[0]["data"]["reason"] is None
    assert url not in b"".join(r.body for r in receiver.received).decode()


def test_a_notification_not_yet_sent_loses_the_erased_url(app, client, team, eraser, make_team):
    """A mail server that is down keeps notifications pending (encrypted): those naming
    the person are rewritten; another person's, and another team's, are left alone."""
    from dnc_app.domain.timeutil import utcnow
    from dnc_app.events.notifications import outbox as notifications
    from dnc_app.events.webhooks import signing
    from dnc_app.storage.models import NotificationMessage

    raw, url, reason = person()
    entry = add(client, team, raw, reason)
    other_team = make_team("Other erasure team")
    bodies = {
        team.id: f"Opted out: {url}\nAlso: https://linkedin.com/in/someone-else",
        other_team.id: f"Opted out: {url}",
    }
    with app.app_context():
        notifications.add_messages(
            [
                notifications.message(
                    team_id, "email", "optouts", "owner@example.com", "Opt-outs", body, utcnow()
                )
                for team_id, body in bodies.items()
            ]
        )
        db.session.commit()
    assert erase(client, eraser, entry["$id"]).status_code == 200
    with app.app_context():
        sent = {
            m.team_id: signing.decrypt(m.body)
            for m in db.session.scalars(select(NotificationMessage))
        }
    assert url not in sent[team.id] and "(erased)" in sent[team.id]
    assert "https://linkedin.com/in/someone-else" in sent[team.id]
    assert sent[other_team.id] == bodies[other_team.id]  # another team's person


def test_endpoints_subscribe_to_erasures_like_other_events(client, team, receiver):
    response = client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["dnc.entry.erased"]},
        headers=team.headers,
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["events"] == ["dnc.entry.erased"]


def test_the_openapi_document_describes_erasure(client):
    document = client.get("/v1/openapi.json").get_json()
    operation = document["paths"]["/v1/dnc/{entryId}/erase"]["post"]
    assert operation["operationId"] == "eraseEntry"
    assert {"200", "403", "404"} <= set(operation["responses"])
    entry = document["components"]["schemas"]["DncEntry"]["properties"]
    assert entry["erased"]["type"] == "boolean" and "null" in entry["url"]["type"]
    assert "erased" in document["components"]["schemas"]["Change"]["properties"]["type"]["enum"]


# --------------------------------------------------------------------------- SQLite's file


def _sqlite_files(app) -> list[Path]:
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    return [p for p in (path, Path(f"{path}-wal")) if p.exists()]


@pytest.mark.database("sqlite")
def test_the_erased_url_leaves_the_database_file_and_its_wal(app, client, team, eraser, receiver):
    register(client, team, receiver.url)
    raw, url, reason = person()
    username = url.rsplit("/", 1)[1]
    entry = add(client, team, raw, reason)
    # Enough entries after it that the search index takes it (it indexes in batches).
    with app.app_context():
        for start in range(0, 1200, 600):
            entries.add_entries(
                team.id,
                [f"in/filler-{secrets.token_hex(4)}-{n}" for n in range(start, start + 600)],
                source=Source.API,
                actor=TEST_ACTOR,
            )
        connection = db.session.connection()
        assert (
            connection.execute(
                text(
                    "SELECT count(*) FROM dnc_entry_fts_username WHERE dnc_entry_fts_username "
                    "MATCH :q"
                ),
                {"q": trigram_query(username[-8:])},
            ).scalar()
            == 1
        )
        db.session.remove()
    deliver(app)
    blob = b"".join(p.read_bytes() for p in _sqlite_files(app))
    assert url.encode() in blob and reason.encode() in blob  # the scan would see them

    assert erase(client, eraser, entry["$id"]).status_code == 200
    blob = b"".join(p.read_bytes() for p in _sqlite_files(app))
    for needle in (url, username, reason):
        assert needle.encode() not in blob, needle
    with app.app_context():
        connection = db.session.connection()
        # The index no longer holds its trigrams either (its old segments were merged).
        tail = username[-6:]
        assert (
            connection.execute(
                text("SELECT count(*) FROM dnc_entry_fts_username_terms WHERE term IN (:a, :b)"),
                {"a": tail[:3], "b": tail[3:]},
            ).scalar()
            == 0
        )
        assert connection.execute(text("PRAGMA secure_delete")).scalar() == 1
        db.session.remove()


@pytest.mark.database("sqlite")
def test_the_migration_kept_the_tables_triggers_and_partial_index(app):
    assert_sqlite_schema_kept(app)


def assert_sqlite_schema_kept(app) -> None:
    with app.app_context():
        names = {
            name: sql
            for name, sql in db.session.execute(
                text("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'dnc_entry'")
            )
        }
        db.session.remove()
    # The delete triggers went with migration 0029 (the entry service keeps the counts and
    # the index on removal); the others are still there after 0024's table rebuild.
    assert {
        "dnc_entry_count_insert",
        "dnc_entry_count_update",
        "dnc_entry_fts_username_insert_batch",
        "dnc_entry_fts_username_update",
        "dnc_entry_fts_username_insert_reused",
    } <= set(names)
    assert "needs_review" in names["ix_dnc_entry_team_review"].split("WHERE")[1]
    assert "UNIQUE" in names["uq_dnc_entry_team_sha256"]
    assert "ix_dnc_entry_team_sha256" not in names


# --------------------------------------------------------------------------- the pages


def test_an_owner_erases_from_the_pages_without_javascript(app, client, team):
    make_member(app, team.id, "owner@example.com")  # the first: an owner
    make_member(app, team.id, "member@example.com")
    raw, url, reason = person()
    entry = add(client, team, raw, reason)
    page = f"/entries/{entry['$id']}/erase"

    sign_in(client, "member@example.com")
    assert client.get(page).status_code == 403
    token = token_for(client)
    assert client.post(page, data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token_for(client)})

    sign_in(client, "owner@example.com")
    listing = client.get("/entries").get_data(as_text=True)
    assert page in listing  # the row's action
    confirm = client.get(page)
    assert confirm.status_code == 200 and url in confirm.get_data(as_text=True)
    assert client.post(page, data={}).status_code in (400, 422)  # no CSRF token
    assert (
        client.get(f"/v1/dnc/check?url={raw}", headers=team.headers).get_json()["data"]["entry"][
            "erased"
        ]
        is False
    )
    done = client.post(page, data={"csrf_token": token_for(client, page)})
    assert done.status_code == 200
    html = done.get_data(as_text=True)
    assert "Personal data erased" in html and url_digest(url) in html and url not in html
    listing = client.get("/entries").get_data(as_text=True)
    assert url not in listing and "Personal data erased" in listing
    assert f"/entries/{entry['$id']}/erase" not in listing  # nothing left to erase
    checked = client.post("/check", data={"url": raw, "csrf_token": token_for(client, "/check")})
    assert checked.status_code == 200
    assert "On the list since" in checked.get_data(as_text=True)
    assert "Personal data erased" in checked.get_data(as_text=True)
    removal = client.get(f"/entries/{entry['$id']}/remove").get_data(as_text=True)
    assert "None" not in removal and "erased" in removal
    assert text_columns_holding(app, [url, reason]) == []


def test_a_staged_bulk_upload_holding_the_person_is_dropped(app, client, team, eraser):
    from dnc_app.domain import pending_uploads
    from dnc_app.storage.models import PendingUpload

    raw, url, _reason = person()
    entry = add(client, team, raw)
    member = make_member(app, team.id, "owner@example.com")
    directory = Path(app.config["BULK_UPLOAD_DIR"])
    with app.app_context():
        # Another spelling of the same profile, among other lines.
        token = pending_uploads.stage(
            directory,
            [1, 2],
            ["in/keep-me", url.upper() + "/"],
            team_id=team.id,
            user_id=member,
            max_team_bytes=10**6,
            ttl=3600,
        )
        db.session.remove()
    assert (directory / f"{token}.json").exists()
    assert erase(client, eraser, entry["$id"]).status_code == 200
    assert not (directory / f"{token}.json").exists()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PendingUpload)) == 0
        db.session.remove()


# --------------------------------------------------------------------------- the migration


def test_migration_0024_goes_back_and_forth(app, client, team, eraser, receiver):
    from flask_migrate import upgrade

    from dnc_app.storage.models import WebhookEndpoint
    from tests.support import downgrade_before

    both = register(client, team, receiver.url, events=["dnc.entry.added", "dnc.entry.removed"])[0]
    one = register(client, team, receiver.url, events=["dnc.entry.added"])[0]
    kept = add(client, team, "in/kept-across")
    gone = add(client, team, "in/erased-before-downgrade")
    erase(client, eraser, gone["$id"])
    with app.app_context():
        downgrade_before(app, "0024")
        # An erased entry cannot exist without a nullable URL: the downgrade drops it.
        ids = set(db.session.execute(text("SELECT id FROM dnc_entry")).scalars())
        assert ids == {kept["$id"]}
        # A row written without its digest (by a tool of its own) gets one on the upgrade.
        db.session.execute(text("UPDATE dnc_entry SET url_sha256 = NULL"))
        db.session.commit()
        db.session.remove()
        upgrade()
        db.session.remove()
        assert db.session.execute(
            text("SELECT url_sha256 FROM dnc_entry")
        ).scalar_one() == url_digest("https://linkedin.com/in/kept-across")
        events = {e.id: e.events.split() for e in db.session.scalars(select(WebhookEndpoint))}
        db.session.remove()
    # Endpoints that took every type take erasures too; a narrower choice stays as it was.
    # (and, from 0027 on, alias updates: they took every type then too)
    assert events[both] == [
        "dnc.entry.added",
        "dnc.entry.removed",
        "dnc.entry.erased",
        "dnc.entry.updated",
    ]
    assert events[one] == ["dnc.entry.added"]
    again = client.post("/v1/dnc", json={"url": "in/kept-across"}, headers=team.headers)
    assert again.status_code == 409
    assert add(client, team, "in/erased-before-downgrade")["url"].endswith("downgrade")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert_sqlite_schema_kept(app)


def test_the_webhooks_page_offers_the_erased_event(app, client, team, receiver):
    make_member(app, team.id, "owner@example.com")
    sign_in(client, "owner@example.com")
    page = client.get("/webhooks").get_data(as_text=True)
    assert 'name="erased"' in page and "dnc.entry.erased" in page
    response = client.post(
        "/webhooks",
        data={"url": receiver.url, "erased": "y", "csrf_token": token_for(client, "/webhooks")},
    )
    assert response.status_code in (200, 303), response.status_code
    listed = client.get("/v1/webhooks", headers=team.headers).get_json()["data"]["webhooks"]
    assert [w["events"] for w in listed] == [["dnc.entry.erased"]]


@pytest.mark.database("sqlite")
def test_the_search_index_stays_consistent_through_erasure_and_removal(app, client, team, eraser):
    def fillers(n: int) -> None:
        with app.app_context():
            entries.add_entries(
                team.id,
                [f"in/filler-{secrets.token_hex(4)}-{i}" for i in range(n)],
                source=Source.API,
                actor=TEST_ACTOR,
            )

    def integrity_check() -> None:
        with app.app_context():
            db.session.execute(
                text(
                    "INSERT INTO dnc_entry_fts_username"
                    "(dnc_entry_fts_username) VALUES ('integrity-check')"
                )
            )
            db.session.remove()

    indexed = add(client, team, person()[0])
    fillers(1100)  # `indexed` is in the index now
    unindexed = add(client, team, person()[0])  # past the index's position
    for entry in (indexed, unindexed):
        assert erase(client, eraser, entry["$id"]).status_code == 200
    fillers(1100)  # the index takes `unindexed`, erased (no username to index)
    integrity_check()
    for entry in (indexed, unindexed):
        removed = client.delete(f"/v1/dnc/{entry['$id']}", json={"reason": "test"}, headers=eraser)
        assert removed.status_code == 200, removed.get_json()
    integrity_check()
    search = client.get("/v1/dnc", query_string={"q": "filler"}, headers=team.headers)
    assert search.get_json()["data"]["total"] == 1000 + 1  # capped count: more than 1,000


def test_staged_screening_and_not_added_files_naming_the_person_are_deleted(
    app, client, team, eraser
):
    from dnc_app.domain.pending_uploads import NOT_ADDED, SCREEN, team_dir

    raw, url, _reason = person()
    entry = add(client, team, raw)
    base = app.config["BULK_UPLOAD_DIR"]
    screening = team_dir(base, team.id, SCREEN) / "7"
    not_added = team_dir(base, team.id, NOT_ADDED) / "7"
    for directory in (screening, not_added):
        directory.mkdir(parents=True, exist_ok=True)
    mine = screening / "tokmine.csv"
    mine.write_text(f"name,profile\nX,{url.upper()}\n")
    progress = screening / "tokmine.1.json"
    progress.write_text("{}")
    refused = not_added / "tokrefused.csv"
    refused.write_text(f"line,input\n3,{raw}\n")
    other = screening / "tokother.csv"
    other.write_text("name,profile\nY,https://linkedin.com/in/someone-else\n")
    assert erase(client, eraser, entry["$id"]).status_code == 200
    assert not mine.exists() and not progress.exists() and not refused.exists()
    assert other.exists()
