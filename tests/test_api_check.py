"""GET /v1/dnc/check: normalized lookups, 400s, team isolation, no stale answers."""

from __future__ import annotations

import pytest


def check(client, team, url):
    return client.get("/v1/dnc/check", query_string={"url": url}, headers=team.headers)


def add(client, team, url):
    resp = client.post("/v1/dnc", json={"url": url}, headers=team.headers)
    assert resp.status_code == 201
    return resp.get_json()["data"]


def test_a_listed_url_is_on_the_list_with_its_entry(client, team):
    entry = add(client, team, "https://www.linkedin.com/in/john-doe/")
    resp = check(client, team, "https://www.linkedin.com/in/john-doe/")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["error"] is None
    assert body["data"] == {"onList": True, "entry": entry}
    assert isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize(
    "variant",
    [
        "LINKEDIN.COM/IN/JOHN-DOE",
        "in/john-doe",
        "http://uk.linkedin.com/in/john-doe?trk=abc#top",
        "https://m.linkedin.com/in/John-Doe/details/experience/",
        "  linkedin.com/in/john-doe/  ",
    ],
)
def test_any_form_of_a_listed_url_is_found(client, team, variant):
    entry = add(client, team, "linkedin.com/in/john-doe")
    assert check(client, team, variant).get_json()["data"] == {"onList": True, "entry": entry}


def test_an_unlisted_url_is_not_on_the_list(client, team):
    add(client, team, "in/someone-else")
    resp = check(client, team, "in/john-doe")
    assert resp.status_code == 200
    assert resp.get_json()["data"] == {"onList": False, "entry": None}


def test_another_teams_entry_is_not_on_this_teams_list(client, make_team):
    acme, globex = make_team("Acme"), make_team("Globex")
    add(client, acme, "in/john-doe")
    assert check(client, globex, "in/john-doe").get_json()["data"]["onList"] is False
    assert check(client, acme, "in/john-doe").get_json()["data"]["onList"] is True


def test_answers_follow_adds_and_deletes_immediately(client, team):
    """No cache window: each answer reflects the last committed write."""
    for _ in range(3):
        entry = add(client, team, "in/flip-flop")
        assert check(client, team, "in/flip-flop").get_json()["data"] == {
            "onList": True,
            "entry": entry,
        }
        deleted = client.delete(f"/v1/dnc/{entry['$id']}", headers=team.headers)
        assert deleted.status_code == 200
        assert check(client, team, "in/flip-flop").get_json()["data"] == {
            "onList": False,
            "entry": None,
        }


@pytest.mark.parametrize("query", [{}, {"url": ""}])
def test_a_missing_url_is_a_400(client, team, query):
    resp = client.get("/v1/dnc/check", query_string=query, headers=team.headers)
    assert resp.status_code == 400
    assert resp.get_json() == {
        "error": "missing_url",
        "data": None,
        "message": "url query parameter is required",
    }


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://www.linkedin.com/company/acme", "person profile"),
        ("https://linkedin.com.evil.com/in/john", "linkedin.com"),
        ("https://evil.com/in/john", "linkedin.com"),
        ("ftp://linkedin.com/in/john", "http"),
        ("https://linkedin.com/in/" + "a" * 101, "100"),
        ("https://linkedin.com/in/jo%zzhn", "percent"),
        ("https://linkedin.com/in/jo\x00hn", "control"),
    ],
)
def test_an_invalid_url_is_a_400_that_says_why(client, team, url, reason):
    resp = check(client, team, url)
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"] == "invalid_url"
    assert body["data"] is None
    assert body["message"].startswith("Invalid LinkedIn URL: ")
    assert reason.lower() in body["message"].lower()


def test_check_requires_a_valid_api_key(client, team):
    assert client.get("/v1/dnc/check?url=in/a").status_code == 401
    resp = client.get(
        "/v1/dnc/check?url=in/a", headers={"Authorization": "Bearer dnc_sk_" + "x" * 40}
    )
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "invalid_api_key"


@pytest.mark.live
def test_a_fresh_server_process_answers_reads_of_listed_entries(client, team, server_env):
    """The reads build entries without the ORM's loader; the first request of a new
    process must work too (regression: a 500 until something else configured the ORM)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    from tests.live import LiveServer

    entry = add(client, team, "in/fresh-process")
    server = LiveServer(server_env, workers=1, threads=2).start()
    try:
        parts = urlsplit(server.url)
        for path, pick in [
            ("/v1/dnc/check?url=in/fresh-process", lambda d: d["entry"]),
            ("/v1/dnc?limit=1", lambda d: d["entries"][0]),
        ]:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            try:
                conn.request("GET", path, headers=team.headers)
                resp = conn.getresponse()
                status, body = resp.status, json.loads(resp.read())
            finally:
                conn.close()
            assert status == 200, body
            assert pick(body["data"]) == entry
    finally:
        server.stop()
