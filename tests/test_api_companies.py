"""Company blocks under /v1 (add, list, delete), the screen with `prospects`, expiry
on a fixed day, the audit trail and the migration."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select, text, update

from dnc_app.domain import changelog, companies
from dnc_app.domain.changelog import Source
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, CompanyBlock
from tests.support import TEST_ACTOR, downgrade_before
from tests.test_api_check import add
from tests.test_api_limits_shared import assert_429

ISO_MS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"


def post(client, team, **body):
    return client.post("/v1/companies", json=body, headers=team.headers)


def block(client, team, url, **body):
    resp = post(client, team, url=url, **body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["data"]


def screen(client, team, prospects):
    resp = client.post("/v1/dnc/screen", json={"prospects": prospects}, headers=team.headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]


def tomorrow() -> str:
    return (companies.today() + timedelta(days=1)).isoformat()


# --------------------------------------------------------------------------- add


def test_a_company_is_blocked_in_its_canonical_form(client, team):
    resp = post(
        client,
        team,
        url="https://www.linkedin.com/company/Acme-Inc/about/?trk=x",
        name=" Acme Inc. ",
        reason="Customer: never prospect",
        until=tomorrow(),
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["error"] is None
    assert body["message"] == "Company blocked"
    data = body["data"]
    assert data["id"].startswith("cmp_") and len(data["id"]) == 24
    assert data["url"] == "https://linkedin.com/company/acme-inc"
    assert data["name"] == "Acme Inc."
    assert data["reason"] == "Customer: never prospect"
    assert data["until"] == tomorrow()
    assert set(data) == {"id", "url", "name", "reason", "until", "$createdAt"}
    import re

    assert re.match(ISO_MS, data["$createdAt"])


def test_the_optional_fields_may_be_left_out(client, team):
    data = block(client, team, "company/1035")
    assert (data["url"], data["name"], data["reason"], data["until"]) == (
        "https://linkedin.com/company/1035",
        None,
        None,
        None,
    )


def test_a_company_blocked_twice_is_a_409_with_the_existing_block(client, team):
    first = block(client, team, "linkedin.com/company/acme", name="Acme")
    resp = post(client, team, url="https://uk.linkedin.com/company/ACME/", name="Other")
    assert resp.status_code == 409
    body = resp.get_json()
    assert body["error"] == "already_exists"
    assert body["data"] == first


def test_another_team_may_block_the_same_company(client, team, make_team):
    other = make_team("Other")
    block(client, team, "company/acme")
    assert post(client, other, url="company/acme").status_code == 201


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_url"),
        ({"url": ""}, "missing_url"),
        ({"url": None}, "missing_url"),
        ({"url": "https://linkedin.com/in/john"}, "invalid_url"),
        ({"url": "https://linkedin.com.evil.com/company/acme"}, "invalid_url"),
        ({"url": "https://user@linkedin.com/company/acme"}, "invalid_url"),
        ({"url": "https://linkedin.com:8080/company/acme"}, "invalid_url"),
        ({"url": "linkedin.com/company/a\u0000b"}, "invalid_url"),
        ({"url": "linkedin.com/company/%zz"}, "invalid_url"),
        ({"url": "linkedin.com/company/" + "a" * 3000}, "invalid_url"),
        ({"url": 42}, "invalid_url"),
        ({"url": ["company/acme"]}, "invalid_url"),
        ({"url": "company/acme", "until": "2020-01-01"}, "invalid_parameter"),
        ({"url": "company/acme", "until": "tomorrow"}, "invalid_parameter"),
        ({"url": "company/acme", "until": ""}, "invalid_parameter"),
        ({"url": "company/acme", "until": "2030-02-30"}, "invalid_parameter"),
        ({"url": "company/acme", "until": "2030-1-1"}, "invalid_parameter"),
        ({"url": "company/acme", "until": 20300101}, "invalid_parameter"),
        ({"url": "company/acme", "name": "x" * 201}, "invalid_parameter"),
        ({"url": "company/acme", "name": 5}, "invalid_parameter"),
        ({"url": "company/acme", "name": "a\u0007b"}, "invalid_parameter"),
        ({"url": "company/acme", "name": "\ud800"}, "invalid_parameter"),
        ({"url": "company/acme", "reason": "x" * 1001}, "invalid_parameter"),
        ({"url": "company/acme", "reason": {"a": 1}}, "invalid_parameter"),
    ],
)
def test_a_bad_request_is_a_400_and_writes_nothing(app, client, team, body, code):
    resp = post(client, team, **body)
    assert resp.status_code == 400
    answer = resp.get_json()
    assert (answer["error"], answer["data"]) == (code, None)
    assert answer["message"]
    with app.app_context():
        assert db.session.execute(select(CompanyBlock)).first() is None
        actions = db.session.execute(select(AuditEvent.action)).scalars().all()
        assert actions == ["key_create"]


def test_an_invalid_url_says_why(client, team):
    body = post(client, team, url="https://www.linkedin.com/in/john").get_json()
    assert "person's profile" in body["message"]


def test_today_is_a_valid_last_day(client, team):
    data = block(client, team, "company/acme", until=companies.today().isoformat())
    assert data["until"] == companies.today().isoformat()


# --------------------------------------------------------------------------- list and delete


def test_the_list_is_newest_first_with_paging(client, team):
    made = [block(client, team, f"company/c-{i}") for i in range(5)]
    resp = client.get("/v1/companies", headers=team.headers)
    assert resp.status_code == 200
    data = resp.get_json()["data"]
    assert [c["id"] for c in data["companies"]] == [c["id"] for c in reversed(made)]
    assert (data["total"], data["limit"], data["offset"]) == (5, 50, 0)
    page = client.get("/v1/companies?limit=2&offset=2", headers=team.headers).get_json()["data"]
    assert [c["url"] for c in page["companies"]] == [made[2]["url"], made[1]["url"]]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "offset=-1", "offset=1e3"])
def test_bad_paging_is_invalid_parameter(client, team, query):
    resp = client.get(f"/v1/companies?{query}", headers=team.headers)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "invalid_parameter"


def test_a_team_sees_only_its_own_blocks(client, team, make_team):
    other = make_team("Other")
    block(client, other, "company/theirs")
    data = client.get("/v1/companies", headers=team.headers).get_json()["data"]
    assert (data["companies"], data["total"]) == ([], 0)


def test_delete_removes_the_block(client, team):
    made = block(client, team, "company/acme")
    resp = client.delete(f"/v1/companies/{made['id']}", headers=team.headers)
    assert resp.status_code == 200
    assert resp.get_json()["data"] == {"message": "Company block deleted successfully"}
    assert client.get("/v1/companies", headers=team.headers).get_json()["data"]["total"] == 0
    again = client.delete(f"/v1/companies/{made['id']}", headers=team.headers)
    assert (again.status_code, again.get_json()["error"]) == (404, "not_found")
    # Blocked again after its removal: a new block.
    assert post(client, team, url="company/acme").status_code == 201


@pytest.mark.parametrize("made_up", ["cmp_nothing", "dnc_x", "x" * 300, "cmp_%00", "cmp_ä"])
def test_an_unknown_id_is_a_404(client, team, made_up):
    resp = client.delete(f"/v1/companies/{made_up}", headers=team.headers)
    assert (resp.status_code, resp.get_json()["error"]) == (404, "not_found")


def test_another_teams_id_is_a_404_and_its_block_stays(client, team, make_team):
    other = make_team("Other")
    theirs = block(client, other, "company/theirs")
    resp = client.delete(f"/v1/companies/{theirs['id']}", headers=team.headers)
    assert (resp.status_code, resp.get_json()["error"]) == (404, "not_found")
    assert client.get("/v1/companies", headers=other.headers).get_json()["data"]["total"] == 1


def test_the_endpoints_need_a_key(client):
    for method, path in (("post", "/v1/companies"), ("get", "/v1/companies")):
        resp = getattr(client, method)(path, json={"url": "company/acme"})
        assert (resp.status_code, resp.get_json()["error"]) == (401, "missing_api_key")


def test_blocks_share_the_write_budget(make_app, make_team):
    app = make_app(DNC_WRITE_LIMIT="3/minute")
    team = make_team("Acme")
    client = app.test_client()
    made = post(client, team, url="company/a")
    assert client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers).status_code == 201
    deleted = client.delete(f"/v1/companies/{made.get_json()['data']['id']}", headers=team.headers)
    assert deleted.status_code == 200
    assert deleted.headers["X-RateLimit-Remaining"] == "0"
    assert_429(post(client, team, url="company/b"))
    assert_429(client.post("/v1/dnc", json={"url": "in/y"}, headers=team.headers))
    # Reading the blocks is not a write.
    assert client.get("/v1/companies", headers=team.headers).status_code == 200


# --------------------------------------------------------------------------- screening


def test_prospects_are_screened_with_their_company(client, team):
    john = add(client, team, "in/john")
    acme = block(client, team, "company/acme", until=tomorrow())
    block(client, team, "company/globex")
    data = screen(
        client,
        team,
        [
            {"url": "in/john", "companyUrl": "https://www.linkedin.com/company/acme/"},
            {"url": "in/jane", "companyUrl": "linkedin.com/company/initech"},
            {"url": "in/jane", "companyUrl": "linkedin.com/company/ACME"},
            {"url": "in/bob"},
            {"url": "in/bob", "companyUrl": None},
            {"url": "linkedin.com/company/acme", "companyUrl": "in/john"},
            {"url": "", "companyUrl": "company/globex"},
        ],
    )
    results = data["results"]
    assert results[0] == {
        "input": "in/john",
        "url": "https://linkedin.com/in/john",
        "onList": True,
        "entryId": john["$id"],
        "error": None,
        "companyUrl": "https://linkedin.com/company/acme",
        "blockedBy": {"companyId": acme["id"], "until": tomorrow()},
        "companyError": None,
    }
    assert results[1]["blockedBy"] is None and results[1]["onList"] is False
    assert results[2]["blockedBy"] == {"companyId": acme["id"], "until": tomorrow()}
    assert results[3]["blockedBy"] is None and results[3]["companyUrl"] is None
    assert results[4]["blockedBy"] is None and results[4]["companyError"] is None
    # A company URL in the person's place and a profile in the company's: each refused
    # in the item, with its own code.
    assert (results[5]["error"], results[5]["companyError"]) == (
        "invalid_url",
        "invalid_company_url",
    )
    assert results[5]["blockedBy"] is None
    # No person, a blocked company: the person is invalid, the company still answered.
    assert results[6]["error"] == "invalid_url"
    assert results[6]["blockedBy"]["until"] is None
    assert (data["listed"], data["notListed"], data["invalid"]) == (1, 4, 2)
    assert (data["blocked"], data["invalidCompanies"]) == (3, 1)


def test_a_sales_navigator_export_is_screened_with_its_company_number(client, team):
    """A Sales Navigator export names each person by a lead URL and their company by
    /sales/company/<number>: the block of /company/<number> applies to them, and a block
    added by the Sales Navigator link is that page's block."""
    jane = add(client, team, "in/jane")
    lead = (
        "https://www.linkedin.com/sales/lead/ACwAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g,NAME_SEARCH,x"
    )
    numbered = block(client, team, "https://www.linkedin.com/company/1035/")
    data = screen(
        client,
        team,
        [
            {"url": lead, "companyUrl": "https://www.linkedin.com/sales/company/1035"},
            {"url": "in/jane", "companyUrl": "https://www.linkedin.com/sales/company/1035/people"},
            {"url": "in/bob", "companyUrl": "https://www.linkedin.com/sales/company/2048"},
            {"url": "in/bob", "companyUrl": "https://www.linkedin.com/sales/company/acme"},
        ],
    )
    first, second, third, fourth = data["results"]
    assert first["companyUrl"] == "https://linkedin.com/company/1035"
    assert first["blockedBy"] == {"companyId": numbered["id"], "until": None}
    assert second["blockedBy"]["companyId"] == numbered["id"] and second["entryId"] == jane["$id"]
    assert third["blockedBy"] is None and third["companyError"] is None
    assert fourth["companyError"] == "invalid_company_url"
    assert (data["blocked"], data["invalidCompanies"]) == (2, 1)
    # Blocking by the Sales Navigator link is blocking the company's page.
    again = post(client, team, url="https://www.linkedin.com/sales/company/1035?_ntb=x")
    assert (again.status_code, again.get_json()["data"]["id"]) == (409, numbered["id"])
    other = block(client, team, "https://www.linkedin.com/sales/company/2048/")
    assert other["url"] == "https://linkedin.com/company/2048"


@pytest.mark.parametrize(
    "company",
    ["https://evil.com/company/acme", "company/" + "%" * 3000, "in/john", "", "company/a\x00"],
)
def test_an_invalid_company_url_is_answered_in_its_item(client, team, company):
    data = screen(client, team, [{"url": "in/john", "companyUrl": company}, {"url": "in/jane"}])
    first, second = data["results"]
    assert first["companyError"] == (None if company == "" else "invalid_company_url")
    assert first["url"] == "https://linkedin.com/in/john" and first["error"] is None
    assert second["companyError"] is None


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"prospects": []}, 400, "missing_urls"),
        ({"prospects": [{"url": "in/a"}] * 1001}, 400, "too_many_urls"),
        ({"prospects": "in/a"}, 400, "invalid_parameter"),
        ({"prospects": ["in/a"]}, 400, "invalid_parameter"),
        ({"prospects": [{"url": "in/a"}], "urls": ["in/a"]}, 400, "invalid_parameter"),
        ({"prospects": [{"url": "in/a"}], "sha256": []}, 400, "invalid_parameter"),
        ({"prospects": [{"companyUrl": "company/a"}]}, 400, "invalid_parameter"),
        ({"prospects": [{"url": 42}]}, 400, "invalid_parameter"),
        ({"prospects": [{"url": "in/a", "companyUrl": 42}]}, 400, "invalid_parameter"),
        ({"prospects": [{"url": "in/a", "companyUrl": ["company/a"]}]}, 400, "invalid_parameter"),
    ],
)
def test_a_bad_prospects_array_is_refused_whole(client, team, body, status, code):
    resp = client.post("/v1/dnc/screen", json=body, headers=team.headers)
    assert (resp.status_code, resp.get_json()["error"]) == (status, code)


def test_the_other_screen_forms_still_work(client, team):
    add(client, team, "in/john")
    resp = client.post("/v1/dnc/screen", json={"urls": ["in/john"]}, headers=team.headers)
    assert resp.get_json()["data"]["listed"] == 1
    assert "blockedBy" not in resp.get_json()["data"]["results"][0]


def test_an_expired_block_no_longer_matches(app, client, team):
    acme = block(client, team, "company/acme", until=tomorrow())
    prospect = [{"url": "in/jane", "companyUrl": "company/acme"}]
    assert screen(client, team, prospect)["blocked"] == 1
    with app.app_context():
        # The block's last day was yesterday: no job ran, the query no longer matches it.
        yesterday = companies.today() - timedelta(days=1)
        db.session.execute(
            update(CompanyBlock).where(CompanyBlock.id == acme["id"]).values(until=yesterday)
        )
        db.session.commit()
    data = screen(client, team, prospect)
    assert data["blocked"] == 0 and data["results"][0]["blockedBy"] is None
    # Still listed (marked expired on the page) until someone removes it.
    assert client.get("/v1/companies", headers=team.headers).get_json()["data"]["total"] == 1


def test_expiry_on_fixed_days(app, team):
    with app.app_context():
        companies.add_block(
            team.id,
            "company/acme",
            until="2030-06-30",
            source=Source.CLI,
            actor=TEST_ACTOR,
            on=date(2030, 1, 1),
        )
        companies.add_block(team.id, "company/globex", source=Source.CLI, actor=TEST_ACTOR)
        urls = ["https://linkedin.com/company/acme", "https://linkedin.com/company/globex"]
        for day, blocked in [
            (date(2030, 6, 29), {"acme", "globex"}),
            (date(2030, 6, 30), {"acme", "globex"}),  # its last day still blocks
            (date(2030, 7, 1), {"globex"}),
            (date(2099, 1, 1), {"globex"}),
        ]:
            found = companies.blocking(team.id, urls, on=day)
            assert {url.rsplit("/", 1)[1] for url in found} == blocked
            assert all(b.company_id.startswith("cmp_") for b in found.values())
        with pytest.raises(companies.InvalidCompanyParameter):
            companies.parse_until("2030-06-30", date(2030, 7, 1))


def test_a_block_matches_through_the_end_of_its_last_day_in_utc(client, team, monkeypatch):
    """`until` is a UTC day, inclusive: at 23:59:59.999Z of that day the block matches, at
    00:00Z the next day it no longer does."""
    clock = [datetime(2030, 6, 30, 10, 0, tzinfo=UTC)]
    monkeypatch.setattr(companies.service, "utcnow", lambda: clock[0])
    acme = block(client, team, "company/acme", until="2030-06-30")  # today (UTC) is valid
    prospect = [{"url": "in/jane", "companyUrl": "company/acme"}]
    clock[0] = datetime(2030, 6, 30, 23, 59, 59, 999000, tzinfo=UTC)
    assert screen(client, team, prospect)["results"][0]["blockedBy"]["companyId"] == acme["id"]
    clock[0] = datetime(2030, 7, 1, 0, 0, tzinfo=UTC)
    assert screen(client, team, prospect)["results"][0]["blockedBy"] is None
    # And the day is over for new blocks too: that `until` is now in the past.
    resp = post(client, team, url="company/globex", until="2030-06-30")
    assert (resp.status_code, resp.get_json()["error"]) == (400, "invalid_parameter")


def test_a_thousand_prospects_take_one_query_of_the_blocks(app, client, team):
    for i in range(0, 1000, 100):
        block(client, team, f"company/c-{i}")
    with app.app_context():
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "company_block" in statement or "dnc_entry" in statement:
            statements.append(statement)

    prospects = [{"url": f"in/p-{i}", "companyUrl": f"company/c-{i}"} for i in range(1000)]
    event.listen(engine, "before_cursor_execute", count)
    try:
        data = screen(client, team, prospects)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert data["blocked"] == 10
    assert [r["blockedBy"] is not None for r in data["results"]] == [
        i % 100 == 0 for i in range(1000)
    ]
    assert sum("company_block" in s for s in statements) == 1, statements
    assert sum("dnc_entry" in s for s in statements) == 1, statements


# --------------------------------------------------------------------------- audit


def test_adding_and_removing_a_block_is_in_the_audit_trail_with_the_actor(app, client, team):
    made = block(client, team, "company/acme", name="Acme", reason="customer")
    client.delete(f"/v1/companies/{made['id']}", headers=team.headers)
    with app.app_context():
        rows = [r for r in changelog.read_from(team.id) if r.subject_type == "company"]
    assert [(r.action, r.subject_type, r.subject_id, r.url, r.source) for r in rows] == [
        ("company_blocked", "company", made["id"], made["url"], "api"),
        ("company_unblocked", "company", made["id"], made["url"], "api"),
    ]
    assert rows[0].reason == "customer" and rows[0].subject_label == "Acme"
    assert {r.actor_type for r in rows} == {"api_key"}
    assert all(r.actor_label for r in rows)


def test_blocks_are_not_in_the_changes_feed(client, team):
    block(client, team, "company/acme")
    resp = client.get("/v1/dnc/changes", headers=team.headers)
    assert resp.status_code == 200
    assert resp.get_json()["data"]["changes"] == []


# --------------------------------------------------------------------------- migration


def test_the_migration_downgrades_and_upgrades_again(app, team):
    from flask_migrate import upgrade

    with app.app_context():
        companies.add_block(team.id, "company/acme", source=Source.CLI, actor=TEST_ACTOR)
        downgrade_before(app, "0028")
        tables = db.inspect(db.engine).get_table_names()
        assert "company_block" not in tables
        db.session.remove()
        upgrade()
        assert db.session.execute(text("SELECT count(*) FROM company_block")).scalar() == 0
        companies.add_block(team.id, "company/acme", source=Source.CLI, actor=TEST_ACTOR)
        with pytest.raises(companies.AlreadyBlocked):
            companies.add_block(team.id, "company/acme", source=Source.CLI, actor=TEST_ACTOR)
