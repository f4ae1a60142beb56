"""DELETE /v1/dnc/<id>: 200 with the documented message, 404s, audit kept, re-adding."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, DncEntry

DELETED = {
    "error": None,
    "data": {"message": "DNC entry deleted successfully"},
    "message": "DNC entry deleted successfully",
}
NOT_FOUND = {"error": "not_found", "data": None, "message": "DNC entry not found"}


def add(client, team, url="in/john-doe"):
    resp = client.post("/v1/dnc", json={"url": url}, headers=team.headers)
    assert resp.status_code == 201
    return resp.get_json()["data"]


def delete(client, team, entry_id, **kwargs):
    return client.delete(f"/v1/dnc/{entry_id}", headers=team.headers, **kwargs)


def is_listed(client, team, url) -> bool:
    resp = client.get("/v1/dnc/check", query_string={"url": url}, headers=team.headers)
    return resp.get_json()["data"]["onList"]


def test_delete_removes_the_entry_and_answers_the_documented_message(client, team):
    entry = add(client, team)
    resp = delete(client, team, entry["$id"])
    assert resp.status_code == 200
    assert resp.get_json() == DELETED
    assert not is_listed(client, team, "in/john-doe")
    assert client.get("/v1/dnc", headers=team.headers).get_json()["data"]["total"] == 0


def test_the_audit_record_stays_with_who_when_and_the_reason(app, client, team):
    entry = add(client, team)
    resp = delete(client, team, entry["$id"], json={"reason": "  Asked to be contacted again "})
    assert resp.status_code == 200
    with app.app_context():
        events = (
            db.session.execute(
                select(AuditEvent)
                .where(AuditEvent.subject_id == entry["$id"])
                .order_by(AuditEvent.id)
            )
            .scalars()
            .all()
        )
        assert [e.action for e in events] == ["add", "remove"]
        removal = events[1]
        assert removal.url == "https://linkedin.com/in/john-doe"
        assert removal.reason == "Asked to be contacted again"
        assert (removal.source, removal.actor_type) == ("api", "api_key")
        assert removal.actor_id is not None and removal.actor_label.startswith("API key ")
        assert removal.created_at is not None
        assert (
            db.session.execute(select(DncEntry).where(DncEntry.id == entry["$id"])).first() is None
        )


def test_the_url_can_be_added_again_after_a_delete(client, team):
    first = add(client, team)
    delete(client, team, first["$id"])
    second = add(client, team, "https://www.linkedin.com/in/John-Doe/")
    assert second["$id"] != first["$id"]
    assert second["url"] == first["url"]
    assert is_listed(client, team, "in/john-doe")


def test_deleting_twice_is_a_404(client, team):
    entry = add(client, team)
    assert delete(client, team, entry["$id"]).status_code == 200
    resp = delete(client, team, entry["$id"])
    assert resp.status_code == 404
    assert resp.get_json() == NOT_FOUND


@pytest.mark.parametrize(
    "entry_id",
    [
        "dnc_doesNotExist0000000",
        "not-an-id",
        "dnc_",
        "dnc_" + "a" * 60,
        "dnc_a%00b",
        "%F0%9F%98%80",
        "dnc_abc%20def",
    ],
)
def test_an_unknown_id_is_a_404(client, team, entry_id):
    add(client, team)
    resp = delete(client, team, entry_id)
    assert resp.status_code == 404
    assert resp.get_json() == NOT_FOUND


def test_another_teams_id_is_a_404_and_its_entry_stays(client, make_team):
    acme, globex = make_team("Acme"), make_team("Globex")
    entry = add(client, acme)
    resp = delete(client, globex, entry["$id"])
    assert resp.status_code == 404
    assert resp.get_json() == NOT_FOUND
    assert is_listed(client, acme, "in/john-doe")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"reason": 5}, "reason must be a string"),
        ({"reason": "x" * 1001}, "reason must be at most 1,000 characters"),
        ({"reason": "bad\x00reason"}, "reason must not contain control characters"),
    ],
)
def test_an_invalid_reason_is_a_400_and_nothing_is_deleted(client, team, body, message):
    entry = add(client, team)
    resp = delete(client, team, entry["$id"], json=body)
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "invalid_parameter", "data": None, "message": message}
    assert is_listed(client, team, "in/john-doe")


def test_a_malformed_body_is_a_400_and_nothing_is_deleted(client, team):
    entry = add(client, team)
    resp = client.delete(
        f"/v1/dnc/{entry['$id']}",
        data=b"{oops",
        headers=team.headers,
        content_type="application/json",
    )
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "invalid_json"
    assert is_listed(client, team, "in/john-doe")


def test_delete_requires_an_api_key(client, team):
    entry = add(client, team)
    resp = client.delete(f"/v1/dnc/{entry['$id']}")
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "missing_api_key"
    assert is_listed(client, team, "in/john-doe")
