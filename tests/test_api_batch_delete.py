"""POST /v1/dnc/batch-delete: many removals by id or by URL in one transaction, per-item
results in input order, protected opt-outs refused per item, one change-log operation,
webhook events per removed entry, one write of the budget and one of the batch limit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select

from dnc_app.domain import entries
from dnc_app.domain.accounts.apikeys import create_api_key
from dnc_app.domain.changelog import Source
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, DncEntry, WebhookMessage
from tests.support import TEST_ACTOR
from tests.test_identifiers import LEAD, LEAD_AS_SENT, MEMBER, MEMBER_AS_SENT
from tests.test_webhooks import deliver, register

PATH = "/v1/dnc/batch-delete"


@pytest.fixture
def app(make_app):
    return make_app(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_TIMEOUT=1.0)


def add(app, team, urls, source=Source.API) -> list[str]:
    with app.app_context():
        result = entries.add_entries(team.id, urls, source=source, actor=TEST_ACTOR)
        return [item.entry_id for item in result.items]


def remove(client, team, **body):
    return client.post(PATH, json=body, headers=team.headers)


def listed(app, team) -> set[str]:
    with app.app_context():
        return set(
            db.session.execute(select(DncEntry.url).where(DncEntry.team_id == team.id)).scalars()
        )


def test_by_id_in_input_order_with_counts(app, client, team, make_team):
    ids = add(app, team, ["in/a", "in/b", "in/c"])
    other = make_team("Other", "other")
    other_id = add(app, other, ["in/a"])[0]
    resp = remove(
        client, team, ids=[ids[2], "dnc_nope", other_id, ids[0], ids[0], "x y"], reason="Cleanup"
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["error"] is None
    data = body["data"]
    assert (data["removed"], data["notFound"], data["protected"]) == (2, 4, 0)
    assert data["details"] == [
        {"input": ids[2], "entryId": ids[2], "status": "removed"},
        {"input": "dnc_nope", "entryId": None, "status": "not_found"},
        {"input": other_id, "entryId": None, "status": "not_found"},  # another team's
        {"input": ids[0], "entryId": ids[0], "status": "removed"},
        {"input": ids[0], "entryId": None, "status": "not_found"},  # removed just before
        {"input": "x y", "entryId": None, "status": "not_found"},
    ]
    assert listed(app, team) == {"https://linkedin.com/in/b"}
    assert listed(app, other) == {"https://linkedin.com/in/a"}


def test_by_url_any_form_tokens_and_leads(app, client, team):
    ids = add(app, team, ["in/jane", MEMBER, LEAD])
    resp = remove(
        client,
        team,
        urls=[
            "https://www.linkedin.com/in/Jane/",
            MEMBER_AS_SENT,
            LEAD_AS_SENT,
            "in/nobody",
            "linkedin.com/company/x",
            MEMBER.lower(),
        ],
    )
    data = resp.get_json()["data"]
    assert [(d["entryId"], d["status"]) for d in data["details"]] == [
        (ids[0], "removed"),
        (ids[1], "removed"),
        (ids[2], "removed"),
        (None, "not_found"),
        (None, "invalid_url"),
        (None, "not_found"),
    ]
    assert data["details"][1]["input"] == MEMBER_AS_SENT
    assert (data["removed"], data["notFound"], data["protected"]) == (3, 2, 0)
    assert listed(app, team) == set()


def test_one_operation_in_the_change_log_with_the_reason(app, client, team):
    ids = add(app, team, [f"in/p-{i}" for i in range(5)])
    assert remove(client, team, ids=ids[:4], reason="Asked").status_code == 200
    with app.app_context():
        rows = (
            db.session.execute(
                select(AuditEvent)
                .where(AuditEvent.team_id == team.id, AuditEvent.action == "remove")
                .order_by(AuditEvent.seq)
            )
            .scalars()
            .all()
        )
        assert [r.subject_id for r in rows] == ids[:4]
        assert {r.operation for r in rows} == {rows[0].seq}
        assert {(r.reason, r.source, r.actor_type) for r in rows} == {("Asked", "api", "api_key")}
        assert entries.count_entries(team.id) == 1  # the team's count follows


def test_protected_entries_are_refused_per_item_and_the_attempt_recorded(app, client, team):
    kept = add(app, team, ["in/objected"], source=Source.PUBLIC_FORM)[0]
    plain = add(app, team, ["in/plain"])[0]
    data = remove(client, team, ids=[kept, plain]).get_json()["data"]
    assert data["details"] == [
        {"input": kept, "entryId": kept, "status": "protected_entry"},
        {"input": plain, "entryId": plain, "status": "removed"},
    ]
    assert (data["removed"], data["notFound"], data["protected"]) == (1, 0, 1)
    assert listed(app, team) == {"https://linkedin.com/in/objected"}
    with app.app_context():
        refused = (
            db.session.execute(
                select(AuditEvent.subject_id).where(AuditEvent.action == "remove_refused")
            )
            .scalars()
            .all()
        )
        assert refused == [kept]


def test_a_key_allowed_to_remove_opt_outs_removes_them_with_a_reason(app, client, team):
    with app.app_context():
        _key, secret = create_api_key(
            team.id, name="owner's", actor=TEST_ACTOR, can_remove_optouts=True
        )
    headers = {"Authorization": f"Bearer {secret}"}
    kept = add(app, team, ["in/objected"], source=Source.PUBLIC_FORM)[0]
    plain = add(app, team, ["in/plain"])[0]
    # Without a reason nothing is removed, not even the plain entry.
    resp = client.post(PATH, json={"ids": [plain, kept]}, headers=headers)
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_parameter"
    assert len(listed(app, team)) == 2
    resp = client.post(
        PATH, json={"ids": [plain, kept], "reason": "Asked back in"}, headers=headers
    )
    assert resp.get_json()["data"]["removed"] == 2 and listed(app, team) == set()


def test_by_url_finds_an_erased_person_by_the_digest_as_check_does(app, client, team):
    """An erased entry keeps no URL, only its digest: by URL it is still found (and kept,
    like an opt-out), as `GET /v1/dnc/check` finds it."""
    erased, plain = add(app, team, ["in/erased-person", "in/plain"])
    with app.app_context():
        entries.erase_entry(team.id, erased, source=Source.API, actor=TEST_ACTOR)
    check = client.get("/v1/dnc/check?url=linkedin.com/in/Erased-Person", headers=team.headers)
    assert check.get_json()["data"]["entry"]["$id"] == erased
    data = remove(
        client, team, urls=["https://www.linkedin.com/in/erased-person/", "in/plain"]
    ).get_json()["data"]
    assert [(d["entryId"], d["status"]) for d in data["details"]] == [
        (erased, "protected_entry"),
        (plain, "removed"),
    ]
    assert (data["removed"], data["notFound"], data["protected"]) == (1, 0, 1)
    with app.app_context():
        left = db.session.execute(
            select(DncEntry.id, DncEntry.url).where(DncEntry.team_id == team.id)
        ).all()
    assert [tuple(row) for row in left] == [(erased, None)]
    # A key an owner allowed removes them, with a reason, by URL too.
    with app.app_context():
        _key, secret = create_api_key(
            team.id, name="owner's", actor=TEST_ACTOR, can_remove_optouts=True
        )
    resp = client.post(
        PATH,
        json={"urls": ["in/erased-person"], "reason": "Asked to be contacted"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert resp.get_json()["data"]["details"][0]["status"] == "removed"
    assert listed(app, team) == set()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_ids"),
        ({"ids": []}, "missing_ids"),
        ({"urls": []}, "missing_ids"),
        ({"reason": "x"}, "missing_ids"),
        ({"ids": ["dnc_a"] * 1001}, "too_many_ids"),
        ({"urls": ["in/a"] * 1001}, "too_many_ids"),
        ({"ids": ["dnc_a"], "urls": ["in/a"]}, "invalid_parameter"),
        ({"ids": "dnc_a"}, "invalid_parameter"),
        ({"ids": [1]}, "invalid_parameter"),
        ({"urls": [None]}, "invalid_parameter"),
        ({"ids": ["dnc_a"], "reason": 5}, "invalid_parameter"),
        ({"ids": ["dnc_a"], "reason": "a\x00b"}, "invalid_parameter"),
    ],
)
def test_bad_requests_get_their_code_and_change_nothing(app, client, team, body, code):
    add(app, team, ["in/a"])
    resp = remove(client, team, **body)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == code and resp.get_json()["data"] is None
    assert listed(app, team) == {"https://linkedin.com/in/a"}


def test_invalid_json_is_refused(client, team):
    resp = client.post(PATH, data="[", headers={**team.headers, "Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_json"


def test_hostile_strings_are_items_not_errors(app, client, team):
    hostile = ["\x00", "dnc_\x00", "%", "' OR 1=1 --", "\ud800", "a" * 5000, "dnc_" + "a" * 37]
    for key in ("ids", "urls"):
        resp = remove(client, team, **{key: hostile})
        assert resp.status_code == 200, key
        statuses = {d["status"] for d in resp.get_json()["data"]["details"]}
        assert statuses <= {"not_found", "invalid_url"}


def test_1000_in_one_request_cost_one_write_and_one_batch(make_app, make_team):
    app = make_app(RATELIMIT_ENABLED=True, DNC_WRITE_LIMIT="2/minute", DNC_BATCH_LIMIT="2/minute")
    team = make_team("Limited", "limited")
    client = app.test_client()
    ids = add(app, team, [f"in/n-{i}" for i in range(1000)])
    resp = remove(client, team, ids=ids)
    assert resp.status_code == 200 and resp.get_json()["data"]["removed"] == 1000
    assert resp.headers["X-RateLimit-Remaining"] == "1"
    assert (
        client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers).status_code == 201
    )  # the second write
    assert remove(client, team, ids=ids).status_code == 429  # the write budget is used up


def test_webhooks_get_one_removed_event_per_entry(app, client, team, receiver):
    _id, secret = register(client, team, receiver.url)
    ids = add(app, team, ["in/w-1", "in/w-2", LEAD])
    deliver(app)
    receiver.wait_for(3)
    receiver.received.clear()
    assert remove(client, team, ids=ids + ["dnc_nope"], reason="Gone").status_code == 200
    deliver(app)
    events = [r.verified(secret) for r in receiver.wait_for(3)]
    assert sorted((e["type"], e["data"]["$id"], e["data"]["reason"]) for e in events) == sorted(
        ("dnc.entry.removed", entry_id, "Gone") for entry_id in ids
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DncEntry)) == 0


def test_the_events_are_those_of_single_deletes(app, client, team):
    """Each removal of many writes what a DELETE of the entry writes: the same change-log
    row and the same webhook event, but for the entry's own id, dates and number."""
    register(client, team, "http://127.0.0.1:9/hook")
    urls = ["in/twin", "in/other-twin", LEAD]

    def removal_records() -> tuple[list[dict], list[dict]]:
        with app.app_context():
            log = db.session.execute(
                select(AuditEvent).where(AuditEvent.action == "remove").order_by(AuditEvent.seq)
            ).scalars()
            rows = [
                {c: getattr(r, c) for c in AUDIT_SAME} | {"seq": r.seq, "id": r.subject_id}
                for r in log
            ]
            events = [
                {"type": m.event_type, "seq": m.seq, **json.loads(m.payload)}
                for m in db.session.execute(
                    select(WebhookMessage)
                    .where(WebhookMessage.event_type == "dnc.entry.removed")
                    .order_by(WebhookMessage.id)
                ).scalars()
            ]
            db.session.execute(delete(WebhookMessage))
            db.session.execute(delete(AuditEvent).where(AuditEvent.action == "remove"))
            db.session.commit()
            return rows, events

    singles = add(app, team, urls)
    for entry_id in singles:
        resp = client.delete(f"/v1/dnc/{entry_id}", json={"reason": "Gone"}, headers=team.headers)
        assert resp.status_code == 200
    one_by_one = removal_records()
    many = add(app, team, urls)
    assert remove(client, team, ids=many, reason="Gone").get_json()["data"]["removed"] == 3
    at_once = removal_records()

    for (rows, events), ids in ((one_by_one, singles), (at_once, many)):
        assert [r["id"] for r in rows] == ids == [e["data"]["$id"] for e in events]
        assert [r["seq"] for r in rows] == [e["seq"] for e in events]
        assert [e["data"]["seq"] for e in events] == [e["seq"] for e in events]
        for event in events:
            for own in ("$id", "seq", "$createdAt", "$updatedAt"):
                event["data"].pop(own)
            event.pop("seq"), event.pop("timestamp")
        for row in rows:
            row.pop("id"), row.pop("seq")
    assert at_once[0] == one_by_one[0]  # the change-log rows (one operation aside)
    assert at_once[1] == one_by_one[1] and len(at_once[1]) == 3  # the events


# What a removal's change-log row holds besides its number and entry id.
AUDIT_SAME = (
    "action",
    "subject_type",
    "subject_label",
    "url",
    "reason",
    "source",
    "actor_type",
    "actor_id",
    "actor_label",
    "ip_hash",
    "reference",
)
