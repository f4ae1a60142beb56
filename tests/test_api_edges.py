"""Edges of the JSON API: failed authentications are limited per client address,
`Cache-Control: no-store`, `Retry-After` only where it means something (and the same
number as the 429's message), a chunked body over the cap, personal links in the log."""

from __future__ import annotations

import io
import json
import re
import socket
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from dnc_app.extensions import db
from dnc_app.http.clientaddr import client_key
from dnc_app.http.optout import links
from tests.services import call

WRONG_KEY = "dnc_sk_" + "Z" * 40


def _get(client, path="/v1/verify", key=WRONG_KEY, addr="192.0.2.1"):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.get(path, headers=headers, environ_overrides={"REMOTE_ADDR": addr})


def _assert_envelope_429(response):
    assert response.status_code == 429
    body = response.get_json()
    assert (body["error"], body["data"]) == ("rate_limit_exceeded", None)
    assert "Retry-After" in response.headers
    return body


# --------------------------------------------------------------------------- client keys


@pytest.mark.parametrize(
    ("addr", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("", "unknown"),
        (None, "unknown"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_client_key_keeps_ipv4_and_groups_ipv6_by_64(addr, key):
    assert client_key(addr) == key


# --------------------------------------------------------------------------- failed auth


def test_failed_authentications_are_limited_per_client_address(make_app, team):
    app = make_app(API_AUTH_FAILURE_LIMIT="3/minute")
    client = app.test_client()
    # Every kind of failure counts: unknown key, malformed key, no key.
    failures = [_get(client), _get(client, key="nope"), _get(client, key=None)]
    assert [r.status_code for r in failures] == [401, 401, 401]
    body = _assert_envelope_429(_get(client))
    assert "failed authentications" in body["message"]
    # The address is refused whatever it sends, a valid key included ...
    _assert_envelope_429(_get(client, key=team.api_key))
    # ... while another address is not affected.
    assert _get(client, key=team.api_key, addr="198.51.100.9").status_code == 200
    assert _get(client, addr="198.51.100.9").status_code == 401


def test_a_limited_client_costs_no_database_query(make_app, team):
    app = make_app(API_AUTH_FAILURE_LIMIT="2/minute")
    client = app.test_client()
    assert [_get(client).status_code for _ in range(2)] == [401, 401]
    statements = []
    with app.app_context():
        engine = db.engine

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        _assert_envelope_429(_get(client, key=team.api_key))
        _assert_envelope_429(_get(client, path="/v1/dnc"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []


def test_ipv6_clients_share_the_failure_budget_of_their_64(make_app):
    app = make_app(API_AUTH_FAILURE_LIMIT="2/minute")
    client = app.test_client()
    assert _get(client, addr="2001:db8:0:1::1").status_code == 401
    assert _get(client, addr="2001:db8:0:1:ffff::2").status_code == 401
    _assert_envelope_429(_get(client, addr="2001:db8:0:1::3"))
    assert _get(client, addr="2001:db8:0:2::1").status_code == 401  # another /64


def test_valid_keys_do_not_use_the_failure_budget(make_app, team):
    app = make_app(API_AUTH_FAILURE_LIMIT="2/minute")
    client = app.test_client()
    assert {_get(client, key=team.api_key).status_code for _ in range(5)} == {200}
    assert _get(client).status_code == 401


# --------------------------------------------------------------------------- headers


def test_every_api_answer_is_no_store(client, team):
    answers = [
        client.post("/v1/dnc", json={"url": "in/cached-person"}, headers=team.headers),
        client.get("/v1/dnc", headers=team.headers),
        client.get("/v1/dnc/check?url=bad", headers=team.headers),
        client.get("/v1/verify"),
        client.get("/v1/no-such-thing", headers=team.headers),
        client.get("/v1/openapi.json"),
    ]
    assert [r.status_code for r in answers] == [201, 200, 400, 401, 404, 200]
    assert {r.headers.get("Cache-Control") for r in answers} == {"no-store"}


def test_retry_after_is_only_on_a_429(make_app, team):
    app = make_app(DNC_WRITE_LIMIT="2/minute")
    client = app.test_client()
    added = client.post("/v1/dnc", json={"url": "in/first-person"}, headers=team.headers)
    listed = client.get("/v1/dnc", headers=team.headers)
    assert (added.status_code, listed.status_code) == (201, 200)
    for response in (added, listed):
        assert "X-RateLimit-Remaining" in response.headers
        assert "Retry-After" not in response.headers
    client.post("/v1/dnc", json={"url": "in/second-person"}, headers=team.headers)
    refused = client.post("/v1/dnc", json={"url": "in/third-person"}, headers=team.headers)
    _assert_envelope_429(refused)


@pytest.mark.parametrize("attempt", range(5))  # timing-dependent before: run a few times
def test_a_429_gives_one_wait_in_its_message_header_and_reset_time(make_app, team, attempt):
    app = make_app(DNC_WRITE_LIMIT="1/minute")
    client = app.test_client()
    client.post("/v1/dnc", json={"url": "in/only-person"}, headers=team.headers)
    time.sleep(0.1 * attempt)  # a fraction of a second into the window
    refused = client.post("/v1/dnc", json={"url": "in/other-person"}, headers=team.headers)
    body = _assert_envelope_429(refused)
    seconds = int(re.search(r"Try again in (\d+) seconds", body["message"]).group(1))
    assert refused.headers["Retry-After"] == str(seconds)
    reset = datetime.strptime(body["resetTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert 0 <= seconds - (reset - datetime.now(UTC)).total_seconds() < 1.5


def test_a_429_of_the_pages_gives_the_same_wait_in_text_and_header(make_app, team):
    app = make_app(OPTOUT_PAGE_LIMIT="1/minute")
    client = app.test_client()
    assert client.get(f"/optout/{team.slug}").status_code == 200
    refused = client.get(f"/optout/{team.slug}")
    assert refused.status_code == 429
    seconds = refused.headers["Retry-After"]
    assert re.search(rf"\b{seconds} seconds", refused.get_data(as_text=True))


# --------------------------------------------------------------------------- chunked body


def _chunked_post(client, team, body: bytes):
    """A chunked body, as gunicorn passes it (werkzeug then ignores Content-Length)."""
    return client.post(
        "/v1/dnc",
        headers={**team.headers, "Transfer-Encoding": "chunked"},
        content_type="application/json",
        input_stream=io.BytesIO(body),
        environ_overrides={"wsgi.input_terminated": True},
    )


def _padded_body(size: int) -> bytes:
    body = json.dumps({"url": "in/chunked-person", "reason": ""}).encode()
    return body.replace(b'""', b'"' + b"x" * (size - len(body)) + b'"')


def test_a_chunked_body_over_the_cap_is_a_413(make_app, team):
    app = make_app(API_MAX_CONTENT_LENGTH=300)
    response = _chunked_post(app.test_client(), team, _padded_body(301))
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_a_chunked_body_of_exactly_the_cap_is_read(make_app, team):
    app = make_app(API_MAX_CONTENT_LENGTH=300)
    response = _chunked_post(app.test_client(), team, _padded_body(300))
    assert response.status_code == 201
    assert len(response.get_json()["data"]["reason"]) == 300 - 42


# --------------------------------------------------------------------------- request log


def _request_lines(err: str) -> list[dict]:
    return [
        json.loads(line)
        for line in err.splitlines()
        if line.startswith("{") and '"event": "request"' in line
    ]


def test_the_request_log_does_not_carry_a_personal_link_token(app, client, team, capsys):
    with app.app_context():
        token = links.make_token(team.slug, "linkedin.com/in/private-person")
    capsys.readouterr()
    assert client.get(f"/optout/{team.slug}/p/{token}").status_code == 200
    err = capsys.readouterr().err
    assert token not in err
    paths = [line["path"] for line in _request_lines(err)]
    assert paths == [f"/optout/{team.slug}/p/[redacted]"]


# --------------------------------------------------------------------------- live


def _raw_request(url: str, request_line: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request_line + b"\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


def _chunked(url: str, key: str, body: bytes) -> tuple[int, dict]:
    import http.client

    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(
            "POST",
            "/v1/dnc",
            body=iter([body[:100], body[100:]]),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.live
def test_live_chunked_bodies_undecodable_queries_and_the_log(live_server_factory, team, app):
    server = live_server_factory(API_MAX_CONTENT_LENGTH="300")
    assert _chunked(server.url, team.api_key, _padded_body(1000)) == (
        413,
        {"error": "payload_too_large", "data": None, "message": "Request body is too large"},
    )
    status, body = _chunked(server.url, team.api_key, _padded_body(100))
    assert (status, body["error"]) == (201, None)
    # gunicorn hands raw bytes of a query string through to the app.
    reply = _raw_request(server.url, b"GET /login?next=\xff\xfe HTTP/1.1")
    assert reply.startswith(b"HTTP/1.1 400 ")
    with app.app_context():
        token = links.make_token(team.slug, "linkedin.com/in/private-person")
    assert call(server.url, "GET", f"/optout/{team.slug}/p/{token}").status == 200
    server.stop()
    log = server.log_path.read_text()
    assert token not in log
    assert f'"/optout/{team.slug}/p/[redacted]"' in log
