"""POST /v1/dnc/batch: per-item results in input order, counts, 400s, one transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, DncEntry


def batch(client, team, body, **kwargs):
    return client.post("/v1/dnc/batch", json=body, headers=team.headers, **kwargs)


def urls_of(n: int, prefix: str = "person") -> list[dict]:
    return [{"url": f"linkedin.com/in/{prefix}-{i}"} for i in range(n)]


def test_mixed_batch_reports_every_item_in_input_order(client, team):
    client.post("/v1/dnc", json={"url": "in/already"}, headers=team.headers)
    resp = batch(
        client,
        team,
        {
            "entries": [
                {"url": "https://www.linkedin.com/in/Alice/", "reason": "asked"},
                {"url": "in/already"},
                {"url": "https://linkedin.com/company/acme"},
                {"url": "LINKEDIN.COM/IN/ALICE"},
                {"reason": "no url"},
                {"url": ""},
                {"url": 42},
                {"url": "in/bob", "reason": 7},
                {"url": "in/carol", "reason": None},
            ]
        },
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["error"] is None
    assert body["message"] == "Bulk import completed: 2 added, 2 duplicates, 5 errors"
    data = body["data"]
    assert list(data) == ["added", "duplicates", "errors", "details"]
    assert (data["added"], data["duplicates"], data["errors"]) == (2, 2, 5)
    details = data["details"]
    assert [(d["url"], d["status"]) for d in details] == [
        ("https://linkedin.com/in/alice", "added"),
        ("https://linkedin.com/in/already", "duplicate"),
        ("https://linkedin.com/company/acme", "error"),
        ("https://linkedin.com/in/alice", "duplicate"),
        (None, "error"),
        (None, "error"),
        (None, "error"),
        ("https://linkedin.com/in/bob", "error"),
        ("https://linkedin.com/in/carol", "added"),
    ]
    assert all(list(d) == ["url", "status", "error"] for d in details)
    # Only errors carry a message; it says why.
    assert [d["error"] is None for d in details] == [
        True,
        True,
        False,
        True,
        False,
        False,
        False,
        False,
        True,
    ]
    assert "person profile" in details[2]["error"]
    assert details[4]["error"] == details[5]["error"] == "URL is required"
    assert "string" in details[6]["error"]
    assert details[7]["error"] == "reason must be a string"


def test_added_entries_are_stored_with_reason_source_and_audit(app, client, team):
    resp = batch(
        client, team, {"entries": [{"url": "in/one", "reason": " asked "}, {"url": "in/two"}]}
    )
    assert resp.get_json()["data"]["added"] == 2
    listed = client.get("/v1/dnc", headers=team.headers).get_json()["data"]["entries"]
    assert [(e["url"], e["reason"], e["source"]) for e in listed] == [
        ("https://linkedin.com/in/two", None, "api"),
        ("https://linkedin.com/in/one", "asked", "api"),
    ]
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.action, AuditEvent.url, AuditEvent.source, AuditEvent.actor_type)
            .where(AuditEvent.action == "add")
            .order_by(AuditEvent.id)
        ).all()
    assert [tuple(e) for e in events] == [
        ("add", "https://linkedin.com/in/one", "api", "api_key"),
        ("add", "https://linkedin.com/in/two", "api", "api_key"),
    ]


def test_a_batch_keeps_input_order_newest_last(client, team):
    batch(client, team, {"entries": urls_of(5)})
    listed = client.get("/v1/dnc", headers=team.headers).get_json()["data"]["entries"]
    assert [e["url"].rsplit("-", 1)[1] for e in listed] == ["4", "3", "2", "1", "0"]


def test_a_full_batch_of_1000_is_accepted_and_counted(client, team):
    resp = batch(client, team, {"entries": urls_of(1000)})
    assert resp.status_code == 201
    assert resp.get_json()["message"] == "Bulk import completed: 1000 added, 0 duplicates, 0 errors"
    page = client.get("/v1/dnc?limit=1", headers=team.headers).get_json()["data"]
    assert page["total"] == 1000
    again = batch(client, team, {"entries": urls_of(1000)}).get_json()
    assert again["message"] == "Bulk import completed: 0 added, 1000 duplicates, 0 errors"


def test_another_teams_entries_are_not_duplicates(client, make_team):
    acme, globex = make_team("Acme"), make_team("Globex")
    batch(client, acme, {"entries": urls_of(3)})
    data = batch(client, globex, {"entries": urls_of(3)}).get_json()["data"]
    assert (data["added"], data["duplicates"]) == (3, 0)


def _count_statements(app, fn) -> int:
    statements = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return len(statements)


def test_statements_do_not_grow_with_the_number_of_items(app, client, team):
    """No query per item: 1,000 items take about as many statements as 10."""
    small = _count_statements(app, lambda: batch(client, team, {"entries": urls_of(10, "a")}))
    large = _count_statements(app, lambda: batch(client, team, {"entries": urls_of(1000, "b")}))
    assert small < 20
    # A second INSERT chunk (500 rows per statement) is all that a large batch may add.
    assert large - small <= 3, (small, large)


def test_a_failing_batch_stores_nothing(app, client, team, monkeypatch):
    """One transaction: a failure after the entries are inserted rolls them back."""
    from dnc_app.domain.entries import service

    def fail(*args, **kwargs):
        raise RuntimeError("audit write failed")

    monkeypatch.setattr(service, "record", fail)
    resp = batch(client, team, {"entries": urls_of(3)})
    assert resp.status_code == 500
    assert resp.get_json()["error"] == "internal_error"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(DncEntry)).scalar_one() == 0


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({}, "missing_entries", "entries is required"),
        ({"entries": None}, "missing_entries", "entries is required"),
        ({"urls": [{"url": "in/a"}]}, "missing_entries", "entries is required"),
        ({"entries": "in/a"}, "invalid_parameter", "entries must be an array"),
        ({"entries": {"url": "in/a"}}, "invalid_parameter", "entries must be an array"),
        ({"entries": 3}, "invalid_parameter", "entries must be an array"),
        ({"entries": []}, "empty_entries", "entries must contain at least one entry"),
        (
            {"entries": [{"url": "in/a"}] * 1001},
            "too_many_entries",
            "entries must contain at most 1,000 entries (got 1,001)",
        ),
        (
            {"entries": [{"url": "in/a"}, {"url": "in/b"}, {"url": "in/c"}, "in/d"]},
            "invalid_parameter",
            "entries[3] must be an object with a url",
        ),
        ({"entries": [None]}, "invalid_parameter", "entries[0] must be an object with a url"),
        ({"entries": [["in/a"]]}, "invalid_parameter", "entries[0] must be an object with a url"),
    ],
)
def test_invalid_requests_are_400s_and_store_nothing(app, client, team, body, code, message):
    resp = batch(client, team, body)
    assert resp.status_code == 400
    assert resp.get_json() == {"error": code, "data": None, "message": message}
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(DncEntry)).scalar_one() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "Request body is not valid JSON"),
        (b"[1, 2]", "Request body must be a JSON object"),
    ],
)
def test_malformed_body_is_a_400_envelope(client, team, data, message):
    resp = client.post(
        "/v1/dnc/batch", data=data, headers=team.headers, content_type="application/json"
    )
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "invalid_json", "data": None, "message": message}


def test_batch_requires_an_api_key(client):
    resp = client.post("/v1/dnc/batch", json={"entries": urls_of(1)})
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "missing_api_key"
