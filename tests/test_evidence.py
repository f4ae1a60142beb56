"""GET /v1/dnc/<id>/evidence: the entry, the whole history of the person oldest first, the
receipt and each connected tool's delivery, in one statement per part whatever the
history's length. Runs on SQLite and PostgreSQL, with a real webhook receiver on loopback.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from dnc_app.extensions import db
from tests.test_optout import post_optout, reference_of
from tests.test_webhooks import deliver, register

URL = "https://linkedin.com/in/mary-major"


@pytest.fixture
def app(make_app):
    return make_app(
        OPTOUT_MIN_SECONDS=0, OPTOUT_RATE_LIMIT="1000/minute", WEBHOOK_ALLOW_PRIVATE=True
    )


def _evidence(client, team, entry_id):
    return client.get(f"/v1/dnc/{entry_id}/evidence", headers=team.headers)


def test_the_proof_of_an_objection(app, client, team, receiver):
    endpoint_id, _secret = register(client, team, receiver.url)
    added = client.post(
        "/v1/dnc", json={"url": URL, "reason": "from a CRM import"}, headers=team.headers
    ).get_json()["data"]
    receipt = post_optout(app.test_client(), team.slug, URL, reason="Please stop")
    reference = reference_of(receipt.get_data(as_text=True))
    assert client.delete(f"/v1/dnc/{added['$id']}", headers=team.headers).status_code == 403
    deliver(app)
    receiver.wait_for(1)

    response = _evidence(client, team, added["$id"])
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["entry"]["$id"] == added["$id"] and data["entry"]["protected"] is True
    history = data["history"]
    assert [h["type"] for h in history] == ["add", "opted_out", "remove_refused"]
    assert [h["source"] for h in history] == ["api", "public_form", "api"]
    assert history[0]["reason"] == "from a CRM import" and history[1]["reason"] == "Please stop"
    assert history[1]["actor"] == "public opt-out form"
    assert [h["at"] for h in history] == sorted(h["at"] for h in history)
    assert data["receipt"] == {"reference": reference, "at": history[1]["at"]}
    [delivery] = data["deliveries"]
    assert delivery["endpointId"] == endpoint_id and delivery["eventType"] == "dnc.entry.added"
    assert delivery["msgId"].startswith("msg_") and delivery["attempts"] == 1
    # `seq`: the change's number, once the outbox writes it (None for an event without).
    assert delivery["deliveredAt"] is not None
    assert delivery["seq"] is None or delivery["seq"] >= 1
    assert receiver.received[0].headers["webhook-id"] == delivery["msgId"]


def test_an_entry_without_an_opt_out_has_no_receipt(client, team):
    added = client.post("/v1/dnc", json={"url": URL}, headers=team.headers).get_json()["data"]
    data = _evidence(client, team, added["$id"]).get_json()["data"]
    assert data["receipt"] is None and data["deliveries"] == []
    assert [h["type"] for h in data["history"]] == ["add"]


def test_the_history_of_the_person_includes_an_earlier_entry(client, team):
    first = client.post("/v1/dnc", json={"url": URL}, headers=team.headers).get_json()["data"]
    client.delete(f"/v1/dnc/{first['$id']}", headers=team.headers, json={"reason": "mistake"})
    again = client.post("/v1/dnc", json={"url": URL}, headers=team.headers).get_json()["data"]
    data = _evidence(client, team, again["$id"]).get_json()["data"]
    assert [h["type"] for h in data["history"]] == ["add", "remove", "add"]
    assert data["history"][1]["reason"] == "mistake"


@pytest.mark.parametrize("entry_id", ["dnc_unknown", "nope", "dnc_" + "x" * 60, "dnc_a%00"])
def test_an_unknown_id_is_a_404(client, team, entry_id):
    response = _evidence(client, team, entry_id)
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_another_teams_entry_is_a_404(client, team, make_team):
    other = make_team("Other")
    theirs = client.post("/v1/dnc", json={"url": URL}, headers=other.headers).get_json()["data"]
    response = _evidence(client, team, theirs["$id"])
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    assert _evidence(client, team, theirs["$id"]).get_json()["data"] is None


def test_evidence_requires_an_api_key(client, team):
    assert client.get("/v1/dnc/dnc_x/evidence").status_code == 401


@contextmanager
def statements(app):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _reads(app, client, team, entry_id) -> tuple[int, int, int]:
    """(statements, those reading the audit trail, those reading the outbox)."""
    with statements(app) as seen:
        assert _evidence(client, team, entry_id).status_code == 200
    history = [s for s in seen if "audit_event" in s and "webhook_message" not in s]
    outbox = [s for s in seen if "webhook_message" in s]
    assert (len(history), len(outbox)) == (1, 1)
    return len(seen), len(history), len(outbox)


def test_one_statement_per_part_whatever_the_history(app, client, team, receiver):
    register(client, team, receiver.url)
    short = client.post("/v1/dnc", json={"url": "in/short"}, headers=team.headers)
    long = client.post("/v1/dnc", json={"url": URL}, headers=team.headers).get_json()["data"]
    for _ in range(3):
        assert (
            client.delete(
                f"/v1/dnc/{long['$id']}", headers=team.headers, json={"reason": "cleanup"}
            ).status_code
            == 200
        )
        long = client.post("/v1/dnc", json={"url": URL}, headers=team.headers).get_json()["data"]
    for _ in range(10):
        post_optout(app.test_client(), team.slug, URL)
    # Once first: the key's coarse last-used time is written on its first use.
    _evidence(client, team, long["$id"])
    few = _reads(app, client, team, short.get_json()["data"]["$id"])
    many = _reads(app, client, team, long["$id"])
    # 4 additions, 3 removals, 10 requests of the person.
    assert len(_evidence(client, team, long["$id"]).get_json()["data"]["history"]) == 17
    assert few == many


def test_the_openapi_document_describes_it(client):
    document = client.get("/v1/openapi.json").get_json()
    operation = document["paths"]["/v1/dnc/{entryId}/evidence"]["get"]
    assert set(operation["responses"]) >= {"200", "404", "401", "429"}
    schema = document["components"]["schemas"]["Evidence"]
    assert schema["required"] == ["entry", "history", "receipt", "deliveries"]


def test_the_entry_page_shows_the_evidence_with_a_json_download(app, client, team, signed_in):
    added = client.post("/v1/dnc", json={"url": URL}, headers=team.headers).get_json()["data"]
    receipt = post_optout(app.test_client(), team.slug, URL)
    reference = reference_of(receipt.get_data(as_text=True))
    page = signed_in.get(f"/entries/{added['$id']}/evidence")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert reference in text and "Opted out themselves" in text and "badge-protected" in text
    download = signed_in.get(f"/entries/{added['$id']}/evidence.json")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    api = _evidence(client, team, added["$id"]).get_json()["data"]
    assert download.get_json() == api
    assert signed_in.get("/entries/dnc_unknown/evidence").status_code == 404
