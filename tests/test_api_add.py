"""POST /v1/dnc and GET /v1/verify: every documented response of the API contract."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from dnc_app.domain.accounts.apikeys import revoke_api_key
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, DncEntry
from tests.support import TEST_ACTOR

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def add(client, team, body, **kwargs):
    return client.post("/v1/dnc", json=body, headers=team.headers, **kwargs)


def count_rows(app, model) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_add_returns_201_with_the_documented_entry(client, team):
    resp = add(client, team, {"url": "https://www.linkedin.com/in/John-Doe/", "reason": "asked"})
    assert resp.status_code == 201
    body = resp.get_json()
    assert list(body) == ["error", "data", "message"]
    assert body["error"] is None
    assert body["message"] == "Added to Do Not Contact list"
    entry = body["data"]
    assert list(entry)[:5] == ["$id", "teamId", "url", "$createdAt", "$updatedAt"]
    assert re.fullmatch(r"dnc_[A-Za-z0-9]+", entry["$id"])
    assert entry["teamId"] == team.id
    assert entry["url"] == "https://linkedin.com/in/john-doe"
    assert ISO_MS.match(entry["$createdAt"]) and ISO_MS.match(entry["$updatedAt"])
    created = datetime.strptime(entry["$createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs((datetime.now(UTC).replace(tzinfo=None) - created).total_seconds()) < 60
    assert entry["reason"] == "asked"
    assert entry["source"] == "api"
    assert resp.headers["Content-Type"] == "application/json"


def test_add_writes_one_row_and_its_audit_record(app, client, team):
    resp = add(client, team, {"url": "linkedin.com/in/jane"})
    entry_id = resp.get_json()["data"]["$id"]
    with app.app_context():
        events = db.session.execute(select(AuditEvent)).scalars().all()
        assert [
            (e.action, e.subject_id, e.url, e.source, e.actor_type)
            for e in events
            if e.action == "add"
        ] == [("add", entry_id, "https://linkedin.com/in/jane", "api", "api_key")]
        assert count_rows(app, DncEntry) == 1


@pytest.mark.parametrize(
    "variant",
    [
        "https://linkedin.com/in/john",
        "LINKEDIN.COM/IN/JOHN",
        "in/john",
        "https://uk.linkedin.com/in/john?trk=abc#top",
        "http://m.linkedin.com/in/john/details/experience/",
        "  https://www.linkedin.com/in/john/  ",
    ],
)
def test_every_variant_of_a_listed_url_is_a_409_with_the_existing_entry(client, team, variant):
    first = add(client, team, {"url": "https://www.linkedin.com/in/john/"}).get_json()["data"]
    resp = add(client, team, {"url": variant})
    assert resp.status_code == 409
    body = resp.get_json()
    assert body["error"] == "already_exists"
    assert body["message"] == "URL already exists in Do Not Contact list"
    assert body["data"] == first


def test_percent_encoded_and_raw_unicode_are_one_person(client, team):
    assert add(client, team, {"url": "linkedin.com/in/jürgen"}).status_code == 201
    for variant in ("linkedin.com/in/j%C3%BCrgen", "https://www.linkedin.com/in/j%c3%bcrgen/"):
        assert add(client, team, {"url": variant}).status_code == 409


@pytest.mark.parametrize(
    ("body", "code", "message_part"),
    [
        ({}, "missing_url", "URL is required"),
        ({"url": None}, "missing_url", "URL is required"),
        ({"url": ""}, "missing_url", "URL is required"),
        ({"reason": "x"}, "missing_url", "URL is required"),
        ({"url": "https://www.linkedin.com/company/acme"}, "invalid_url", "company"),
        ({"url": "https://linkedin.com.evil.com/in/john"}, "invalid_url", "linkedin.com"),
        ({"url": "https://evil.com/in/john"}, "invalid_url", "linkedin.com"),
        ({"url": "https://user@linkedin.com/in/john"}, "invalid_url", "user info"),
        ({"url": "ftp://linkedin.com/in/john"}, "invalid_url", "http"),
        ({"url": "https://linkedin.com:8080/in/john"}, "invalid_url", "port"),
        ({"url": "https://linkedin.com/in/jo%zzhn"}, "invalid_url", "percent"),
        ({"url": "https://linkedin.com/in/" + "a" * 101}, "invalid_url", "100"),
        ({"url": "https://linkedin.com/in/" + "a" * 2100}, "invalid_url", "2,048"),
        ({"url": "https://www.linkedin.com/sales/lead/123"}, "invalid_url", "Sales Navigator"),
        ({"url": 12345}, "invalid_url", "string"),
        ({"url": ["in/john"]}, "invalid_url", "string"),
        ({"url": "in/john", "reason": 5}, "invalid_parameter", "reason"),
        ({"url": "in/john", "reason": "x" * 1001}, "invalid_parameter", "1,000"),
    ],
)
def test_bad_input_is_a_400_with_the_documented_code_and_nothing_stored(
    app, client, team, body, code, message_part
):
    resp = add(client, team, body)
    assert resp.status_code == 400
    payload = resp.get_json()
    assert payload["error"] == code
    assert payload["data"] is None
    assert message_part in payload["message"]
    assert count_rows(app, DncEntry) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "Request body is not valid JSON"),
        ('["in/john"]', "Request body must be a JSON object"),
        ("null", "Request body must be a JSON object"),
        ('"in/john"', "Request body must be a JSON object"),
    ],
)
def test_malformed_json_is_a_400_envelope(client, team, data, message):
    resp = client.post(
        "/v1/dnc", data=data, headers={**team.headers, "Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "invalid_json", "data": None, "message": message}


def test_oversized_body_is_a_413_envelope(app, client, team):
    big = b'{"url": "in/john", "reason": "' + b"x" * (app.config["API_MAX_CONTENT_LENGTH"]) + b'"}'
    resp = client.post(
        "/v1/dnc", data=big, headers={**team.headers, "Content-Type": "application/json"}
    )
    assert resp.status_code == 413
    assert resp.get_json()["error"] == "payload_too_large"
    assert count_rows(app, DncEntry) == 0


def test_unknown_path_and_wrong_method_are_json_envelopes(client, team):
    resp = client.get("/v1/nothing-here", headers=team.headers)
    assert resp.status_code == 404
    assert resp.get_json() == {"error": "not_found", "data": None, "message": "Resource not found"}
    resp = client.put("/v1/dnc", json={"url": "in/john"}, headers=team.headers)
    assert resp.status_code == 405
    assert resp.get_json()["error"] == "method_not_allowed"
    assert resp.is_json


def test_unexpected_exception_is_a_500_envelope_without_internals(
    client, team, monkeypatch, caplog
):
    from dnc_app.http.api import entries as api_entries

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(api_entries.entries, "add_entry", explode)
    resp = add(client, team, {"url": "in/john"})
    assert resp.status_code == 500
    assert resp.get_json() == {
        "error": "internal_error",
        "data": None,
        "message": "An unexpected error occurred",
    }
    assert b"secret internal detail" not in resp.data
    assert b"Traceback" not in resp.data
    assert "secret internal detail" in caplog.text


# ----------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": ""}, "missing_api_key"),
        ({"Authorization": "Bearer"}, "invalid_api_key_format"),
        ({"Authorization": "Bearer short"}, "invalid_api_key_format"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "invalid_api_key_format"),
        ({"Authorization": "Bearer dnc_sk_" + "!" * 40}, "invalid_api_key_format"),
        ({"Authorization": "Bearer dnc_sk_" + "A" * 40}, "invalid_api_key"),
    ],
)
@pytest.mark.parametrize("method_path", [("post", "/v1/dnc"), ("get", "/v1/verify")])
def test_authentication_errors_are_401_with_the_documented_code(client, headers, code, method_path):
    method, path = method_path
    resp = getattr(client, method)(path, json={"url": "in/john"}, headers=headers)
    assert resp.status_code == 401
    body = resp.get_json()
    assert body["error"] == code and body["data"] is None and body["message"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_key_in_the_url_is_never_accepted(client, team):
    resp = client.post(f"/v1/dnc?api_key={team.api_key}", json={"url": "in/john"})
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "missing_api_key"


def test_verify_accepts_a_valid_key_and_refuses_a_revoked_one(app, client, team):
    resp = client.get("/v1/verify", headers=team.headers)
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "success", "message": "API key is valid"}
    with app.app_context():
        from dnc_app.storage.models import ApiKey

        key = db.session.execute(select(ApiKey).where(ApiKey.team_id == team.id)).scalar_one()
        revoke_api_key(team.id, key.id, actor=TEST_ACTOR)
    for path, method in (("/v1/verify", "get"), ("/v1/dnc", "post")):
        resp = getattr(client, method)(path, json={"url": "in/x"}, headers=team.headers)
        assert resp.status_code == 401
        assert resp.get_json()["error"] == "invalid_api_key"


def test_keys_are_stored_only_as_sha256_hashes(app, team):
    import hashlib

    from dnc_app.storage.models import ApiKey

    with app.app_context():
        key = db.session.execute(select(ApiKey).where(ApiKey.team_id == team.id)).scalar_one()
        assert key.key_hash == hashlib.sha256(team.api_key.encode()).hexdigest()
        stored = " ".join(str(v) for v in (key.id, key.name, key.prefix, key.key_hash))
        assert team.api_key not in stored
        assert len(team.api_key) - len(key.prefix) >= 32  # the prefix shows only a little


def test_keys_have_a_prefix_and_at_least_128_bits_of_randomness(app, team):
    from dnc_app.domain import ids

    keys = {ids.new_api_key() for _ in range(200)}
    assert len(keys) == 200
    assert all(k.startswith("dnc_sk_") and ids.looks_like_api_key(k) for k in keys)
    # Every character of the alphabet turns up (a broken generator would repeat a few).
    assert len({c for k in keys for c in k[len("dnc_sk_") :]}) == 62
    # 40 characters of a 62-letter alphabet: log2(62) * 40 ≈ 238 bits.
    assert ids.API_KEY_RANDOM_LENGTH * 5.95 >= 128


# ----------------------------------------------------------------------------- isolation


def test_teams_are_isolated(client, make_team):
    team_a, team_b = make_team("A"), make_team("B")
    entry_a = add(client, team_a, {"url": "in/shared"}).get_json()["data"]
    resp = add(client, team_b, {"url": "in/shared"})
    assert resp.status_code == 201, "another team's entry must not make this a duplicate"
    entry_b = resp.get_json()["data"]
    assert entry_b["teamId"] == team_b.id != entry_a["teamId"]
    assert entry_b["$id"] != entry_a["$id"]
    # A's duplicate answer shows A's entry, never B's.
    dup = add(client, team_a, {"url": "in/shared"}).get_json()["data"]
    assert dup["$id"] == entry_a["$id"]


# ----------------------------------------------------------------------------- rate limit


def test_the_31st_write_in_a_minute_is_a_429_and_other_teams_are_unaffected(app, client, make_team):
    team_a, team_b = make_team("A"), make_team("B")
    for i in range(30):
        resp = add(client, team_a, {"url": f"in/person-{i}"})
        assert resp.status_code == 201, resp.get_json()
        assert resp.headers["X-RateLimit-Limit"] == "30"
        assert resp.headers["X-RateLimit-Remaining"] == str(29 - i)
        assert int(resp.headers["X-RateLimit-Reset"]) > 0
    resp = add(client, team_a, {"url": "in/person-31"})
    assert resp.status_code == 429
    body = resp.get_json()
    assert body["error"] == "rate_limit_exceeded"
    assert body["data"] is None and body["message"]
    reset = datetime.strptime(body["resetTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    wait = (reset - datetime.now(UTC)).total_seconds()
    assert 0 < wait <= 61
    assert 1 <= int(resp.headers["Retry-After"]) <= 61
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert count_rows(app, DncEntry) == 30, "the refused write stored nothing"
    # A duplicate also spends the budget: it is still refused while limited.
    assert add(client, team_a, {"url": "in/person-0"}).status_code == 429
    # Another team has its own budget.
    resp = add(client, team_b, {"url": "in/person-0"})
    assert resp.status_code == 201
    assert resp.headers["X-RateLimit-Remaining"] == "29"
    # Reading is not limited by the write budget.
    assert client.get("/v1/verify", headers=team_a.headers).status_code == 200


def test_limits_are_configurable(make_app, make_team):
    app = make_app(DNC_WRITE_LIMIT="2/minute")
    client = app.test_client()
    team = make_team("Small")
    assert [add(client, team, {"url": f"in/p{i}"}).status_code for i in range(3)] == [201, 201, 429]
