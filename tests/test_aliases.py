"""Aliases: one person, any identifier (the API, the service, concurrency, erasure, the
feed, webhook events, export). Runs on SQLite and, with DNC_TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select, text

from dnc_app.domain import entries
from dnc_app.domain.changelog import Source
from dnc_app.domain.entries import aliases
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, DncEntry, DncIdentifier, WebhookMessage
from tests.support import TEST_ACTOR
from tests.test_live_concurrency import simultaneously

TOKEN = "https://linkedin.com/in/ACoAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g"
LEAD = "https://linkedin.com/sales/lead/ACwAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g"
LEAD_RAW = "https://www.linkedin.com/sales/people/ACwAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g,NAME,x"


def sha(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


@pytest.fixture
def app(make_app):
    # Room for the concurrency tests' writes within one minute.
    return make_app(DNC_WRITE_LIMIT="1000/minute", WEBHOOK_ALLOW_PRIVATE=True)


def add(client, team, body):
    return client.post("/v1/dnc", json=body, headers=team.headers)


def add_aliases(client, team, entry_id, urls):
    return client.post(f"/v1/dnc/{entry_id}/aliases", json={"urls": urls}, headers=team.headers)


def check(client, team, url):
    return client.get("/v1/dnc/check", query_string={"url": url}, headers=team.headers)


def new_entry(client, team, url="linkedin.com/in/jane", **body) -> dict:
    response = add(client, team, {"url": url, **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


# --------------------------------------------------------------------------- the API


def test_every_entry_object_has_aliases(client, team):
    entry = new_entry(client, team)
    assert entry["aliases"] == []
    listed = client.get("/v1/dnc", headers=team.headers).get_json()["data"]["entries"]
    assert listed[0]["aliases"] == []
    assert check(client, team, "in/jane").get_json()["data"]["entry"]["aliases"] == []


def test_add_aliases_returns_the_entry_normalized_in_order_repeats_folded(client, team):
    entry = new_entry(client, team)
    response = add_aliases(
        client, team, entry["$id"], [TOKEN + "/", LEAD_RAW, TOKEN, "linkedin.com/in/JANE"]
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["error"] is None
    data = body["data"]
    assert data["$id"] == entry["$id"]
    assert data["url"] == "https://linkedin.com/in/jane"
    # The entry's own identifier is no alias; the token keeps its case.
    assert data["aliases"] == [TOKEN, LEAD]
    assert data["$updatedAt"] >= entry["$updatedAt"]
    # Again: nothing new, the same entry.
    again = add_aliases(client, team, entry["$id"], [LEAD])
    assert again.status_code == 200
    assert again.get_json()["data"]["aliases"] == [TOKEN, LEAD]


def test_check_and_screen_find_the_person_by_any_identifier(client, team):
    entry = new_entry(client, team)
    add_aliases(client, team, entry["$id"], [TOKEN, LEAD_RAW])
    for url in (TOKEN, LEAD_RAW, LEAD, "in/jane"):
        data = check(client, team, url).get_json()["data"]
        assert data["onList"] is True, url
        assert data["entry"]["$id"] == entry["$id"]
        assert data["entry"]["aliases"] == [TOKEN, LEAD]
    assert check(client, team, "in/someone-else").get_json()["data"]["onList"] is False
    by_url = client.post(
        "/v1/dnc/screen", json={"urls": [LEAD_RAW, "in/nobody", TOKEN]}, headers=team.headers
    ).get_json()["data"]["results"]
    assert [r["entryId"] for r in by_url] == [entry["$id"], None, entry["$id"]]
    by_digest = client.post(
        "/v1/dnc/screen", json={"sha256": [sha(LEAD), sha("x"), sha(TOKEN)]}, headers=team.headers
    ).get_json()["data"]["results"]
    assert [r["onList"] for r in by_digest] == [True, False, True]
    assert by_digest[0]["url"] == "https://linkedin.com/in/jane"


def test_adding_an_alias_or_a_url_of_a_listed_person_is_already_exists(client, team):
    entry = new_entry(client, team)
    add_aliases(client, team, entry["$id"], [TOKEN])
    response = add(client, team, {"url": TOKEN.lower().replace("acoaaa", "ACoAAA")})
    # (the token's case is kept: this is another token, a new person)
    assert response.status_code == 201
    response = add(client, team, {"url": TOKEN + "?trk=1"})
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "already_exists"
    assert body["data"]["$id"] == entry["$id"]
    assert body["data"]["aliases"] == [TOKEN]
    # A new person whose alias is someone's identifier: nothing is written.
    before = entries.count_entries  # noqa: F841 - read below through the API
    response = add(client, team, {"url": "in/new-person", "aliases": [LEAD, "in/jane"]})
    assert response.status_code == 409
    assert response.get_json()["error"] == "already_exists"
    assert response.get_json()["data"]["$id"] == entry["$id"]
    assert check(client, team, "in/new-person").get_json()["data"]["onList"] is False
    assert check(client, team, LEAD).get_json()["data"]["onList"] is False


def test_add_with_aliases_and_batch_items_with_aliases(client, team):
    created = new_entry(client, team, "in/ann", aliases=[TOKEN, "in/ann", TOKEN])
    assert created["aliases"] == [TOKEN]
    response = client.post(
        "/v1/dnc/batch",
        json={
            "entries": [
                {"url": "in/bob", "aliases": [LEAD]},
                {"url": "in/carl"},
                {"url": "in/dora", "aliases": [TOKEN]},  # Ann's token: a duplicate
                {"url": "in/eve", "aliases": ["https://evil.com/in/x"]},
                {"url": LEAD},  # Bob's lead: a duplicate
            ]
        },
        headers=team.headers,
    )
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert [d["status"] for d in data["details"]] == [
        "added",
        "added",
        "duplicate",
        "error",
        "duplicate",
    ]
    assert data["details"][3]["error"].startswith("aliases[0]: ")
    assert (data["added"], data["duplicates"], data["errors"]) == (2, 2, 1)
    bob = check(client, team, LEAD).get_json()["data"]["entry"]
    assert bob["url"] == "https://linkedin.com/in/bob"
    assert check(client, team, "in/dora").get_json()["data"]["onList"] is False


def test_alias_of_another_entry_is_alias_conflict_with_that_entry(client, team):
    jane = new_entry(client, team)
    john = new_entry(client, team, "in/john")
    add_aliases(client, team, jane["$id"], [TOKEN])
    for urls in ([TOKEN], [LEAD, "in/jane"]):
        response = add_aliases(client, team, john["$id"], urls)
        assert response.status_code == 409
        body = response.get_json()
        assert body["error"] == "alias_conflict"
        assert body["data"]["$id"] == jane["$id"]
    # Nothing half-written: the lead of the refused request is nobody's.
    assert check(client, team, LEAD).get_json()["data"]["onList"] is False
    john_now = check(client, team, "in/john").get_json()["data"]["entry"]
    assert john_now["aliases"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "missing_urls"),
        ({"urls": "in/x"}, 400, "invalid_parameter"),
        ({"urls": []}, 400, "invalid_parameter"),
        ({"urls": [5]}, 400, "invalid_parameter"),
        ({"urls": ["in/ok", "https://www.linkedin.com/company/acme"]}, 400, "invalid_url"),
        ({"urls": [f"in/person-{i}" for i in range(11)]}, 400, "too_many_aliases"),
        ({"urls": ["in/x"] * 100_000}, 400, "too_many_aliases"),
    ],
)
def test_refused_requests_say_why_and_write_nothing(app, client, team, body, status, code):
    entry = new_entry(client, team)
    response = client.post(f"/v1/dnc/{entry['$id']}/aliases", json=body, headers=team.headers)
    assert response.status_code == status
    answer = response.get_json()
    assert answer["error"] == code
    if code == "invalid_url":
        assert answer["message"].startswith("Invalid LinkedIn URL: urls[1]: ")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DncIdentifier)) == 1


def test_ten_aliases_at_most_in_total(client, team):
    entry = new_entry(client, team)
    first = add_aliases(client, team, entry["$id"], [f"in/p-{i}" for i in range(8)])
    assert first.status_code == 200
    response = add_aliases(client, team, entry["$id"], ["in/p-8", "in/p-9", "in/p-10"])
    assert response.get_json()["error"] == "too_many_aliases"
    assert add_aliases(client, team, entry["$id"], ["in/p-8", "in/p-9"]).status_code == 200


def test_another_teams_entry_is_not_found(client, team, make_team):
    other = make_team("Other")
    entry = new_entry(client, other)
    assert add_aliases(client, team, entry["$id"], [TOKEN]).status_code == 404
    assert add_aliases(client, team, "dnc_nope", [TOKEN]).status_code == 404
    assert add_aliases(client, team, "x%00y", [TOKEN]).status_code == 404
    # Identifiers are per team: another team may list the same alias.
    mine = new_entry(client, team)
    assert add_aliases(client, team, mine["$id"], [TOKEN]).status_code == 200
    assert add_aliases(client, other, entry["$id"], [TOKEN]).status_code == 200


def test_removing_an_entry_removes_its_identifiers(app, client, team):
    entry = new_entry(client, team)
    add_aliases(client, team, entry["$id"], [TOKEN, LEAD])
    client.delete(f"/v1/dnc/{entry['$id']}", headers=team.headers)
    assert check(client, team, TOKEN).get_json()["data"]["onList"] is False
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DncIdentifier)) == 0
    # The alias is free again.
    assert add(client, team, {"url": TOKEN}).status_code == 201


# --------------------------------------------------------------------------- concurrency


def test_simultaneous_adds_of_one_alias_to_different_entries_one_wins(app, team):
    client = app.test_client()
    ids = [new_entry(client, team, f"in/person-{i}")["$id"] for i in range(8)]

    def attempt(i):
        with app.test_client() as own:
            response = add_aliases(own, team, ids[i], [TOKEN])
            return response.status_code, response.get_json()

    results = simultaneously(len(ids), attempt)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (len(ids) - 1), results
    winner = next(body["data"]["$id"] for status, body in results if status == 200)
    for status, body in results:
        if status == 409:
            assert body["error"] == "alias_conflict"
            assert body["data"]["$id"] == winner
    with app.app_context():
        rows = db.session.execute(
            select(DncIdentifier.entry_seq).where(DncIdentifier.sha256 == sha(TOKEN))
        ).all()
        assert len(rows) == 1


def test_simultaneous_add_of_a_person_and_alias_of_their_url_one_wins(app, team):
    client = app.test_client()
    ids = [new_entry(client, team, f"in/person-{i}")["$id"] for i in range(4)]

    def attempt(i):
        with app.test_client() as own:
            if i < 4:
                response = add_aliases(own, team, ids[i], [LEAD])
            else:
                response = add(own, team, {"url": LEAD_RAW})
            return response.status_code

    statuses = simultaneously(8, attempt)
    assert sum(1 for s in statuses if s in (200, 201)) == 1, statuses
    assert all(s in (200, 201, 409) for s in statuses), statuses


def test_the_unique_key_refuses_a_second_holder_whatever_the_caller(app, team):
    """The database itself, not the service's probe, keeps an identifier to one person."""
    client = app.test_client()
    jane = new_entry(client, team)
    with app.app_context():
        seq = db.session.scalar(select(DncEntry.seq).where(DncEntry.id == jane["$id"]))
        statement = text(
            "INSERT INTO dnc_identifier (team_id, sha256, entry_seq, created_at) "
            "VALUES (:t, :s, :q, CURRENT_TIMESTAMP)"
        )
        with pytest.raises(Exception, match="(?i)unique|duplicate"):
            db.session.execute(statement, {"t": team.id, "s": sha(jane["url"]), "q": seq})
        db.session.rollback()


# --------------------------------------------------------------------------- the change


def test_adding_aliases_is_a_change_in_the_feed_and_the_audit(app, client, team):
    entry = new_entry(client, team)
    add_aliases(client, team, entry["$id"], [TOKEN, LEAD])
    changes = client.get("/v1/dnc/changes", headers=team.headers).get_json()["data"]["changes"]
    assert [(c["type"], c["url"]) for c in changes] == [
        ("added", "https://linkedin.com/in/jane"),
        ("updated", TOKEN),
        ("updated", LEAD),
    ]
    assert all(c["entryId"] == entry["$id"] for c in changes)
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert actions[-2:] == ["alias_add", "alias_add"]


def test_the_webhook_event_is_delivered_to_a_receiver(app, client, team, receiver):
    from tests.test_webhooks import deliver, register

    endpoint_id, secret = register(client, team, receiver.url)
    entry = new_entry(client, team)
    add_aliases(client, team, entry["$id"], [TOKEN])
    deliver(app)
    events = [r.verified(secret) for r in receiver.wait_for(2)]
    assert [e["type"] for e in events] == ["dnc.entry.added", "dnc.entry.updated"]
    assert events[0]["data"]["aliases"] == []
    data = events[1]["data"]
    assert data["$id"] == entry["$id"]
    assert data["aliases"] == [TOKEN]
    assert data["url"] == "https://linkedin.com/in/jane"
    changes = client.get("/v1/dnc/changes", headers=team.headers).get_json()["data"]["changes"]
    assert data["seq"] == changes[-1]["seq"]
    # An endpoint that names its events does not get the new one unasked.
    only_added, _ = register(client, team, receiver.url, events=["dnc.entry.added"])
    add_aliases(client, team, entry["$id"], [LEAD])
    with app.app_context():
        kinds = db.session.scalars(
            select(WebhookMessage.event_type).where(WebhookMessage.endpoint_id == only_added)
        ).all()
        assert kinds == []


# --------------------------------------------------------------------------- erasure


def test_erasure_removes_alias_urls_and_keeps_the_person_blocked(app, client, team):
    from dnc_app.domain.accounts.apikeys import create_api_key

    entry = new_entry(client, team)
    add_aliases(client, team, entry["$id"], [TOKEN, LEAD])
    with app.app_context():
        _key, secret = create_api_key(
            team.id, name="compliance", actor=TEST_ACTOR, can_remove_optouts=True
        )
    eraser = {"Authorization": f"Bearer {secret}"}
    erased = client.post(f"/v1/dnc/{entry['$id']}/erase", headers=eraser)
    assert erased.status_code == 200, erased.get_json()
    assert erased.get_json()["data"]["aliases"] == []
    for url in (TOKEN, LEAD_RAW, "in/jane"):
        data = check(client, team, url).get_json()["data"]
        assert data["onList"] is True
        assert data["entry"]["url"] is None and data["entry"]["erased"] is True
    by_digest = client.post(
        "/v1/dnc/screen", json={"sha256": [sha(TOKEN), sha(LEAD)]}, headers=team.headers
    ).get_json()["data"]["results"]
    assert [r["onList"] for r in by_digest] == [True, True]
    assert add(client, team, {"url": LEAD}).get_json()["error"] == "already_exists"
    with app.app_context():
        assert db.session.scalars(select(DncIdentifier.url)).all() == [None, None, None]
        assert db.session.scalar(select(DncEntry.aliases)) is None
        urls = db.session.scalars(select(AuditEvent.url)).all()
        assert TOKEN not in urls and LEAD not in urls


# --------------------------------------------------------------------------- the service


def test_service_refuses_nothing_for_an_alias_equal_to_the_entrys_url(app, team):
    with app.app_context():
        entry = entries.add_entry(team.id, "in/zed", source=Source.API, actor=TEST_ACTOR)
        same = aliases.add_aliases(
            team.id,
            entry.id,
            ["https://www.linkedin.com/in/zed/"],
            source=Source.WEB,
            actor=TEST_ACTOR,
        )
        assert same.alias_list == []
        assert same.updated_at == entry.updated_at


def test_public_optout_of_an_alias_finds_the_person(app, team):
    with app.app_context():
        entry = entries.add_entry(team.id, "in/zed", source=Source.API, actor=TEST_ACTOR)
        aliases.add_aliases(team.id, entry.id, [LEAD], source=Source.API, actor=TEST_ACTOR)
        with pytest.raises(entries.AlreadyListed) as raised:
            entries.add_entry(team.id, LEAD_RAW, source=Source.PUBLIC_FORM, actor=TEST_ACTOR)
        assert raised.value.entry.id == entry.id
        # The person's own request: their entry is protected now.
        assert raised.value.entry.protected is True


# --------------------------------------------------------------------------- pages


def _member(app, client, team, role="member"):
    from dnc_app.domain.accounts.users import create_user
    from tests.web_support import PASSWORD, sign_in

    with app.app_context():
        create_user(team.id, f"{role}@example.com", PASSWORD, role=role)
    assert sign_in(client, f"{role}@example.com", PASSWORD).status_code == 303


def test_the_entry_page_shows_and_adds_aliases_without_javascript(app, team):
    from tests.web_support import token_for

    api = app.test_client()
    jane = new_entry(api, team)
    john = new_entry(api, team, "in/john")
    add_aliases(api, team, john["$id"], [LEAD])
    client = app.test_client()
    _member(app, client, team)
    page = f"/entries/{jane['$id']}/evidence"
    html = client.get(page).get_data(as_text=True)
    assert "Other identifiers (aliases)" in html and "None yet" in html
    token = token_for(client, page)
    action = f"/entries/{jane['$id']}/aliases"
    answer = client.post(action, data={"csrf_token": token, "urls": f"{TOKEN}/\n\n"})
    assert answer.status_code == 303
    html = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert f'href="{TOKEN}"' in html
    # Invalid: the line and why, inline, what was typed kept.
    answer = client.post(action, data={"csrf_token": token, "urls": "in/ok\nevil.com/in/x"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Line 2: " in html and 'aria-invalid="true"' in html and "evil.com/in/x" in html
    # Held by another entry: named, with a link to it.
    answer = client.post(action, data={"csrf_token": token, "urls": LEAD_RAW})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "already an identifier of another entry" in html
    assert f'href="/entries/{john["$id"]}/evidence"' in html
    # Without the CSRF token: refused, nothing stored.
    assert client.post(action, data={"urls": "in/other"}).status_code == 400
    assert check(api, team, "in/other").get_json()["data"]["onList"] is False


def test_htmx_swaps_the_aliases_section(app, team):
    from tests.web_support import HTMX, token_for

    api = app.test_client()
    jane = new_entry(api, team)
    client = app.test_client()
    _member(app, client, team)
    token = token_for(client, f"/entries/{jane['$id']}/evidence")
    answer = client.post(
        f"/entries/{jane['$id']}/aliases",
        data={"csrf_token": token, "urls": TOKEN},
        headers=HTMX,
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert html.lstrip().startswith('<section class="card" id="aliases"')
    assert "Aliases saved." in html and TOKEN in html
    assert "<html" not in html


def test_a_viewer_cannot_add_aliases(app, team):
    api = app.test_client()
    jane = new_entry(api, team)
    client = app.test_client()
    _member(app, client, team, role="viewer")
    from tests.web_support import token_for

    page = f"/entries/{jane['$id']}/evidence"
    html = client.get(page).get_data(as_text=True)
    assert "Add aliases" not in html  # no form for a viewer
    answer = client.post(
        f"/entries/{jane['$id']}/aliases",
        data={"csrf_token": token_for(client, page), "urls": TOKEN},
    )
    assert answer.status_code == 403
    assert check(api, team, TOKEN).get_json()["data"]["onList"] is False


def test_the_list_search_finds_an_entry_by_an_alias(app, team):
    api = app.test_client()
    jane = new_entry(api, team)
    new_entry(api, team, "in/john")
    add_aliases(api, team, jane["$id"], [LEAD])
    client = app.test_client()
    _member(app, client, team)
    html = client.get("/entries", query_string={"q": LEAD_RAW}).get_data(as_text=True)
    assert jane["$id"] in html
    assert "linkedin.com/in/john" not in html


def test_export_and_evidence_include_aliases(app, team):
    import csv
    import io

    api = app.test_client()
    jane = new_entry(api, team)
    add_aliases(api, team, jane["$id"], [TOKEN, LEAD])
    client = app.test_client()
    _member(app, client, team)
    rows = list(csv.reader(io.StringIO(client.get("/export.csv").get_data(as_text=True))))
    assert rows[0][-1] == "aliases"
    assert rows[1][0] == "https://linkedin.com/in/jane"
    assert rows[1][-1] == f"{TOKEN} {LEAD}"
    evidence = api.get(f"/v1/dnc/{jane['$id']}/evidence", headers=team.headers).get_json()["data"]
    assert evidence["entry"]["aliases"] == [TOKEN, LEAD]
    assert [event["type"] for event in evidence["history"]] == ["add", "alias_add", "alias_add"]


def test_the_csv_screening_matches_an_alias(app, team):
    api = app.test_client()
    jane = new_entry(api, team)
    add_aliases(api, team, jane["$id"], [LEAD])
    with app.app_context():
        results = entries.screen_urls(team.id, [LEAD_RAW, "in/jane", "in/x"])
    assert [r.entry_id for r in results] == [jane["$id"], jane["$id"], None]


def test_batch_delete_by_url_finds_the_person_by_an_alias(client, team):
    entry = new_entry(client, team, aliases=[TOKEN])
    other = new_entry(client, team, url="in/someone-else")
    response = client.post(
        "/v1/dnc/batch-delete",
        json={"urls": [TOKEN, "in/nobody-here"]},
        headers=team.headers,
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert [d["status"] for d in data["details"]] == ["removed", "not_found"]
    assert data["details"][0]["entryId"] == entry["$id"]
    assert check(client, team, "in/jane").get_json()["data"]["onList"] is False
    assert check(client, team, TOKEN).get_json()["data"]["onList"] is False
    assert check(client, team, "in/someone-else").get_json()["data"]["entry"]["$id"] == other["$id"]
