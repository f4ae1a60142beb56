"""POST /v1/dnc/screen: many prospects at once, by URL or by SHA-256, in one query."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import event, select, text

from dnc_app.domain import entries
from dnc_app.domain.changelog import Source
from dnc_app.extensions import db
from dnc_app.storage.models import DncEntry
from tests.support import TEST_ACTOR, downgrade_before
from tests.test_api_check import add
from tests.test_api_limits_shared import assert_429


def sha(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def screen(client, team, **body):
    return client.post("/v1/dnc/screen", json=body, headers=team.headers)


def test_results_come_in_input_order_with_counts(client, team):
    john = add(client, team, "in/john-doe")
    inputs = [
        "in/jane-roe",
        "https://www.linkedin.com/in/John-Doe/",
        "",
        "https://www.linkedin.com/company/acme",
        "linkedin.com/in/john-doe",
        "in/x",
    ]
    resp = screen(client, team, urls=inputs)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["error"] is None
    assert body["message"] == "Screened 6: 2 listed, 2 not listed, 2 invalid"
    assert body["data"] == {
        "results": [
            {
                "input": "in/jane-roe",
                "url": "https://linkedin.com/in/jane-roe",
                "onList": False,
                "entryId": None,
                "error": None,
            },
            {
                "input": inputs[1],
                "url": "https://linkedin.com/in/john-doe",
                "onList": True,
                "entryId": john["$id"],
                "error": None,
            },
            {"input": "", "url": None, "onList": False, "entryId": None, "error": "invalid_url"},
            {
                "input": inputs[3],
                "url": None,
                "onList": False,
                "entryId": None,
                "error": "invalid_url",
            },
            {
                "input": inputs[4],
                "url": "https://linkedin.com/in/john-doe",
                "onList": True,
                "entryId": john["$id"],
                "error": None,
            },
            {
                "input": "in/x",
                "url": "https://linkedin.com/in/x",
                "onList": False,
                "entryId": None,
                "error": None,
            },
        ],
        "listed": 2,
        "notListed": 2,
        "invalid": 2,
    }
    assert resp.headers["X-RateLimit-Limit"] == "30"


def test_screening_by_sha256_answers_like_screening_by_url(client, team):
    for url in ("in/john-doe", "in/jürgen", "in/ann"):
        add(client, team, url)
    urls = [
        "https://linkedin.com/in/john-doe",
        "https://linkedin.com/in/j%C3%BCrgen",
        "https://linkedin.com/in/nobody",
        "https://linkedin.com/in/ann",
    ]
    normalized = [r["url"] for r in screen(client, team, urls=urls).get_json()["data"]["results"]]
    digests = [sha(url) for url in normalized]
    digests[3] = digests[3].upper()  # any letter case
    by_url = screen(client, team, urls=urls).get_json()["data"]
    by_digest = screen(client, team, sha256=digests).get_json()["data"]
    assert [r["input"] for r in by_digest["results"]] == digests
    strip = [{k: v for k, v in r.items() if k != "input"} for r in by_url["results"]]
    # Not listed: by digest the URL is unknown, so it is null.
    strip[2]["url"] = None
    assert [{k: v for k, v in r.items() if k != "input"} for r in by_digest["results"]] == strip
    assert (by_digest["listed"], by_digest["notListed"], by_digest["invalid"]) == (3, 1, 0)


@pytest.mark.parametrize("digest", ["abc", "g" * 64, "0" * 63, "0" * 65, " " + "0" * 63, ""])
def test_a_malformed_digest_is_an_invalid_item_not_a_400(client, team, digest):
    add(client, team, "in/john-doe")
    good = sha("https://linkedin.com/in/john-doe")
    body = screen(client, team, sha256=[digest, good]).get_json()
    assert body["data"]["results"][0] == {
        "input": digest,
        "url": None,
        "onList": False,
        "entryId": None,
        "error": "invalid_url",
    }
    assert body["data"]["results"][1]["onList"] is True
    assert (body["data"]["listed"], body["data"]["invalid"]) == (1, 1)


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({}, "missing_urls", "urls (or sha256 or prospects) is required"),
        ({"urls": []}, "missing_urls", "urls must contain at least one item"),
        ({"sha256": []}, "missing_urls", "sha256 must contain at least one item"),
        (
            {"urls": ["in/a"] * 1001},
            "too_many_urls",
            "urls must contain at most 1,000 items (got 1,001)",
        ),
        (
            {"sha256": ["0" * 64] * 1001},
            "too_many_urls",
            "sha256 must contain at most 1,000 items (got 1,001)",
        ),
        (
            {"urls": ["in/a"], "sha256": ["0" * 64]},
            "invalid_parameter",
            "Send one of urls, sha256 or prospects, not several",
        ),
        ({"urls": None}, "invalid_parameter", "urls must be an array of strings"),
        ({"urls": "in/a"}, "invalid_parameter", "urls must be an array of strings"),
        ({"urls": ["in/a", 7]}, "invalid_parameter", "urls[1] must be a string"),
        ({"sha256": [None]}, "invalid_parameter", "sha256[0] must be a string"),
    ],
)
def test_bad_bodies_are_400s_with_their_code(client, team, body, code, message):
    resp = screen(client, team, **body)
    assert resp.status_code == 400
    assert resp.get_json() == {"error": code, "data": None, "message": message}


def test_no_body_and_malformed_json_are_400s(client, team):
    resp = client.post("/v1/dnc/screen", headers=team.headers)
    assert (resp.status_code, resp.get_json()["error"]) == (400, "missing_urls")
    resp = client.post(
        "/v1/dnc/screen", data="{", headers={**team.headers, "Content-Type": "application/json"}
    )
    assert (resp.status_code, resp.get_json()["error"]) == (400, "invalid_json")


def test_a_key_is_required(client):
    resp = client.post("/v1/dnc/screen", json={"urls": ["in/a"]})
    assert (resp.status_code, resp.get_json()["error"]) == (401, "missing_api_key")


def test_a_team_sees_only_its_own_list(client, make_team):
    acme, globex = make_team("Acme"), make_team("Globex")
    add(client, acme, "in/john-doe")
    digest = sha("https://linkedin.com/in/john-doe")
    for team, listed in ((globex, False), (acme, True)):
        assert (
            screen(client, team, urls=["in/john-doe"]).get_json()["data"]["results"][0]["onList"]
            is listed
        )
        assert (
            screen(client, team, sha256=[digest]).get_json()["data"]["results"][0]["onList"]
            is listed
        )


def test_answers_follow_a_removal_at_once(client, team):
    entry = add(client, team, "in/flip")
    assert screen(client, team, urls=["in/flip"]).get_json()["data"]["listed"] == 1
    assert client.delete(f"/v1/dnc/{entry['$id']}", headers=team.headers).status_code == 200
    assert screen(client, team, urls=["in/flip"]).get_json()["data"]["listed"] == 0
    assert screen(client, team, sha256=[sha(entry["url"])]).get_json()["data"]["listed"] == 0


@pytest.mark.parametrize("key", ["urls", "sha256"])
def test_a_thousand_items_take_one_query_of_the_list(app, client, team, key):
    with app.app_context():
        entries.add_entries(
            team.id, [f"in/p-{i}" for i in range(0, 1000, 2)], source=Source.API, actor=TEST_ACTOR
        )
        engine = db.engine
    urls = [f"https://linkedin.com/in/p-{i}" for i in range(1000)]
    items = urls if key == "urls" else [sha(u) for u in urls]
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "dnc_entry" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        data = client.post("/v1/dnc/screen", json={key: items}, headers=team.headers).get_json()[
            "data"
        ]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert (data["listed"], data["notListed"], data["invalid"]) == (500, 500, 0)
    assert [r["onList"] for r in data["results"]] == [i % 2 == 0 for i in range(1000)]
    assert len(statements) == 1, statements


def test_screening_has_its_own_per_team_limit(make_app, make_team):
    app = make_app(DNC_SCREEN_LIMIT="2/minute", DNC_CHECK_LIMIT="5/minute")
    acme, globex = make_team("Acme"), make_team("Globex")
    client = app.test_client()
    for remaining in ("1", "0"):
        resp = screen(client, acme, urls=["in/a"])
        assert resp.status_code == 200
        assert resp.headers["X-RateLimit-Remaining"] == remaining
    assert_429(screen(client, acme, urls=["in/a"]))
    # Other budgets and other teams are untouched.
    assert screen(client, globex, urls=["in/a"]).status_code == 200
    assert client.get("/v1/dnc/check?url=in/a", headers=acme.headers).status_code == 200
    assert client.post("/v1/dnc", json={"url": "in/a"}, headers=acme.headers).status_code == 201


def test_the_default_limit_is_30_per_minute_and_read_from_the_environment(
    app, app_from_environment, monkeypatch
):
    assert app.config["DNC_SCREEN_LIMIT"] == "30/minute"
    monkeypatch.setenv("DNC_SCREEN_LIMIT", "7/minute")
    served = app_from_environment()
    assert served.config["DNC_SCREEN_LIMIT"] == "7/minute"
    assert (
        "7/minute"
        in served.test_client()
        .get("/v1/openapi.json")
        .get_json()["paths"]["/v1/dnc/screen"]["post"]["description"]
    )


# ------------------------------------------------------------------ the stored digest


def stored_digests(app, team_id):
    with app.app_context():
        return dict(
            db.session.execute(
                select(DncEntry.url, DncEntry.url_sha256).where(DncEntry.team_id == team_id)
            ).all()
        )


def test_every_insert_path_stores_the_digest_of_the_url(app, client, team):
    add(client, team, "in/single")
    client.post(
        "/v1/dnc/batch",
        json={"entries": [{"url": "in/batch-1"}, {"url": "in/jürgen"}]},
        headers=team.headers,
    )
    with app.app_context():
        entries.add_entry(team.id, "in/service", source=Source.CLI, actor=TEST_ACTOR)
        entries.add_entries(
            team.id, ["in/many-1", "in/ßtraße"], source=Source.CLI, actor=TEST_ACTOR
        )
    digests = stored_digests(app, team.id)
    assert len(digests) == 6
    assert digests == {url: sha(url) for url in digests}


def test_migration_0008_backfills_the_digest_of_existing_entries(app, team):
    from flask_migrate import upgrade

    with app.app_context():
        entries.add_entries(team.id, ["in/old-1", "in/jürgen"], source=Source.CLI, actor=TEST_ACTOR)
        downgrade_before(app, "0008")
        # An entry stored before the column existed.
        db.session.execute(
            text(
                "INSERT INTO dnc_entry (id, team_id, url, source, created_at, updated_at) "
                "VALUES ('dnc_legacy1', :t, 'https://linkedin.com/in/legacy', 'api', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"t": team.id},
        )
        db.session.commit()
        db.session.remove()
        upgrade()
        db.session.remove()
    digests = stored_digests(app, team.id)
    assert len(digests) == 3
    assert digests == {url: sha(url) for url in digests}
