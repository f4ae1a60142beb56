"""GET /v1/dnc: newest first, offset and cursor pagination, q, totals, 400s, isolation."""

from __future__ import annotations

import pytest

from tests.support import api_data


def add_many(client, team, usernames):
    resp = client.post(
        "/v1/dnc/batch",
        json={"entries": [{"url": f"in/{u}"} for u in usernames]},
        headers=team.headers,
    )
    assert resp.status_code == 201
    assert resp.get_json()["data"]["added"] == len(usernames)


def list_page(client, team, **params):
    return api_data(client, "/v1/dnc", team, **params)


def names(entries) -> list[str]:
    return [e["url"].removeprefix("https://linkedin.com/in/") for e in entries]


def test_empty_list(client, team):
    assert list_page(client, team) == {
        "entries": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
        "nextCursor": None,
    }


def test_newest_first_with_documented_fields_and_default_limit(client, team):
    add_many(client, team, [f"p{i:03d}" for i in range(60)])
    client.post("/v1/dnc", json={"url": "in/latest"}, headers=team.headers)
    data = list_page(client, team)
    assert list(data) == ["entries", "total", "limit", "offset", "nextCursor"]
    assert (data["total"], data["limit"], data["offset"]) == (61, 50, 0)
    assert len(data["entries"]) == 50
    assert names(data["entries"])[:3] == ["latest", "p059", "p058"]
    assert list(data["entries"][0])[:5] == ["$id", "teamId", "url", "$createdAt", "$updatedAt"]
    assert data["nextCursor"]


def test_offset_pages_cover_the_list_once(client, team):
    add_many(client, team, [f"p{i:02d}" for i in range(23)])
    seen = []
    for offset in range(0, 30, 10):
        data = list_page(client, team, limit=10, offset=offset)
        assert (data["limit"], data["offset"], data["total"]) == (10, offset, 23)
        seen += names(data["entries"])
    assert seen == [f"p{i:02d}" for i in reversed(range(23))]
    assert list_page(client, team, limit=10, offset=23)["entries"] == []


def test_cursor_pages_cover_the_list_once_and_end_with_null(client, team):
    add_many(client, team, [f"p{i:02d}" for i in range(23)])
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        data = list_page(client, team, **params)
        pages += 1
        assert data["total"] == 23
        assert data["offset"] == (0 if cursor is None else None)
        seen += names(data["entries"])
        cursor = data["nextCursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"p{i:02d}" for i in reversed(range(23))]


def test_an_exactly_full_last_page_has_no_next_cursor(client, team):
    add_many(client, team, ["a", "b", "c", "d"])
    first = list_page(client, team, limit=2)
    second = list_page(client, team, limit=2, cursor=first["nextCursor"])
    assert names(second["entries"]) == ["b", "a"]
    assert second["nextCursor"] is None


def test_a_cursor_is_stable_when_entries_are_added_meanwhile(client, team):
    """Keyset pagination: new entries do not shift the following pages."""
    add_many(client, team, [f"p{i}" for i in range(6)])
    first = list_page(client, team, limit=3)
    add_many(client, team, ["new1", "new2"])
    second = list_page(client, team, limit=3, cursor=first["nextCursor"])
    assert names(first["entries"]) == ["p5", "p4", "p3"]
    assert names(second["entries"]) == ["p2", "p1", "p0"]
    assert second["total"] == 8


def test_an_empty_cursor_is_the_first_page(client, team):
    add_many(client, team, ["a", "b"])
    assert names(list_page(client, team, cursor="")["entries"]) == ["b", "a"]


def test_q_filters_by_url_substring_case_insensitively(client, team):
    add_many(client, team, ["john-doe", "jane-doe", "johnny", "bob", "doe_x", "doe-y"])
    data = list_page(client, team, q="JOHN")
    assert names(data["entries"]) == ["johnny", "john-doe"]
    assert data["total"] == 2
    # LIKE wildcards in q are literal characters.
    assert names(list_page(client, team, q="doe_")["entries"]) == ["doe_x"]
    assert list_page(client, team, q="%")["total"] == 0
    # The filter combines with a cursor.
    first = list_page(client, team, q="doe", limit=2)
    assert first["total"] == 4
    rest = list_page(client, team, q="doe", limit=2, cursor=first["nextCursor"])
    assert names(first["entries"]) + names(rest["entries"]) == [
        "doe-y",
        "doe_x",
        "jane-doe",
        "john-doe",
    ]
    assert rest["nextCursor"] is None


@pytest.fixture
def small_windows(monkeypatch):
    """The search's windows and count cap small, so that pages cross from the newest rows
    to the index, and the total reaches the cap."""
    from dnc_app.domain.entries import listing

    monkeypatch.setattr(listing, "PAGE_WINDOW", 3)
    monkeypatch.setattr(listing, "COUNT_WINDOW", 4)
    monkeypatch.setattr(listing, "COUNT_CAP", 5)


SEARCHED = [
    "ann-1",
    "bob",
    "ann-2",
    "x",
    "y",
    "ann-3",
    "ann-4",
    "z",
    "w",
    "ann-5",
    "ann-6",
    "v",
    "ann-7",
    "u",
    "t",
    "s",
]


def test_q_pages_by_offset_and_cursor_are_the_scans_rows(client, team, small_windows):
    add_many(client, team, SEARCHED)
    expected = [name for name in reversed(SEARCHED) if "ann" in name]
    for limit in (1, 2, 3, 5):
        by_offset = []
        for offset in range(0, 9, limit):
            data = list_page(client, team, q="ANN", limit=limit, offset=offset)
            assert data["offset"] == offset
            by_offset += names(data["entries"])
        assert by_offset == expected
        by_cursor, cursor = [], None
        while True:
            data = list_page(
                client, team, q="ann", limit=limit, **({"cursor": cursor} if cursor else {})
            )
            by_cursor += names(data["entries"])
            if not (cursor := data["nextCursor"]):
                break
        assert by_cursor == expected
    for term, found in (
        ("n-", expected),
        ("in/ann-7", ["ann-7"]),
        ("in/bo", ["bob"]),
        ("q", []),
        ("/in/", list(reversed(SEARCHED))),
        ("x/ann", []),
        ("ann$", []),
        ("o", list(reversed(SEARCHED))),
        ("/ann-1", ["ann-1"]),
    ):
        assert names(list_page(client, team, q=term)["entries"]) == found, term


def test_q_total_is_exact_up_to_the_cap_and_says_so(client, team, small_windows):
    add_many(client, team, SEARCHED)
    data = list_page(client, team, q="ann", limit=2)
    assert list(data) == ["entries", "total", "totalExact", "limit", "offset", "nextCursor"]
    # 7 matches, the cap 5: "more than 5", on every page.
    assert (data["total"], data["totalExact"]) == (6, False)
    resp = client.get("/v1/dnc", query_string={"q": "ann", "limit": 2}, headers=team.headers)
    assert resp.get_json()["message"] == "2 of more than 5 entries"
    data = list_page(client, team, q="ann", limit=2, offset=6)
    assert (names(data["entries"]), data["total"], data["totalExact"]) == (["ann-1"], 6, False)
    # Every match on the first page: counted from it, exact whatever the cap.
    data = list_page(client, team, q="ann", limit=10)
    assert (data["total"], data["totalExact"]) == (7, True)
    # Counted up to the cap: exact.
    data = list_page(
        client,
        team,
        q="ann-",
        limit=2,
        cursor=list_page(client, team, q="ann-", limit=2)["nextCursor"],
    )
    assert (data["total"], data["totalExact"]) == (6, False)
    data = list_page(client, team, q="ann-", limit=2, offset=2)
    assert names(data["entries"]) == ["ann-5", "ann-4"]
    for term, total in (("ann-1", 1), ("bob", 1), ("nobody", 0), ("m/ann", 0)):
        data = list_page(client, team, q=term, limit=1, offset=1)
        assert (data["total"], data["totalExact"]) == (total, True), term
    assert "totalExact" not in list_page(client, team)


def test_total_follows_deletes(client, team):
    add_many(client, team, ["a", "b", "c"])
    entry = list_page(client, team)["entries"][0]
    client.delete(f"/v1/dnc/{entry['$id']}", headers=team.headers)
    data = list_page(client, team)
    assert data["total"] == 2
    assert names(data["entries"]) == ["b", "a"]


def test_another_teams_entries_are_not_listed(client, make_team):
    acme, globex = make_team("Acme"), make_team("Globex")
    add_many(client, acme, ["a1", "a2"])
    add_many(client, globex, ["g1"])
    data = list_page(client, globex)
    assert names(data["entries"]) == ["g1"]
    assert data["total"] == 1
    assert list_page(client, globex, q="a")["total"] == 0


def test_limit_bounds_are_accepted(client, team):
    add_many(client, team, ["a", "b"])
    assert names(list_page(client, team, limit=1)["entries"]) == ["b"]
    assert list_page(client, team, limit=1000)["limit"] == 1000


BAD_CURSOR = "cursor is not valid: pass the nextCursor of a page"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "limit must be an integer between 1 and 1000"),
        ("limit=1001", "limit must be an integer between 1 and 1000"),
        ("limit=-1", "limit must be an integer between 1 and 1000"),
        ("limit=abc", "limit must be an integer between 1 and 1000"),
        ("limit=1.5", "limit must be an integer between 1 and 1000"),
        ("limit=", "limit must be an integer between 1 and 1000"),
        ("limit=%2B5", "limit must be an integer between 1 and 1000"),
        ("limit=%D9%A1", "limit must be an integer between 1 and 1000"),
        ("offset=-1", "offset must be an integer between 0 and 2147483647"),
        ("offset=x", "offset must be an integer between 0 and 2147483647"),
        ("offset=99999999999999999999999", "offset must be an integer between 0 and 2147483647"),
        # Past Python's 4,300-digit int() limit: refused by its length, not a 500.
        ("offset=" + "9" * 5000, "offset must be an integer between 0 and 2147483647"),
        ("cursor=!!", BAD_CURSOR),
        # "s18446744073709551616": a sequence number beyond 64 bits.
        ("cursor=czE4NDQ2NzQ0MDczNzA5NTUxNjE2", BAD_CURSOR),
        ("cursor=eA", BAD_CURSOR),
        ("cursor=czE&offset=0", "cursor and offset cannot be used together"),
        ("q=" + "a" * 201, "q must be at most 200 characters"),
        ("q=a%00b", "q must not contain control characters"),
    ],
)
def test_invalid_parameters_are_400s_that_name_the_parameter(client, team, query, message):
    resp = client.get(f"/v1/dnc?{query}", headers=team.headers)
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "invalid_parameter", "data": None, "message": message}


def test_list_requires_an_api_key(client):
    resp = client.get("/v1/dnc")
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "missing_api_key"


@pytest.mark.database("postgresql")
def test_a_page_reads_the_teams_rows_only_whatever_lies_between_them(app, client, make_team):
    """A team with old entries and a few new ones, other teams' rows in between: a page
    deep enough to need the old ones reads through the team's index, not every row of
    the table between (PostgreSQL's planner walked the primary key there)."""
    import json

    from sqlalchemy import event, text

    from dnc_app.extensions import db

    old_and_new, other = make_team("Old and new"), make_team("Other")

    def bulk(team_id: str, prefix: str, count: int) -> None:
        db.session.execute(
            text(
                "INSERT INTO dnc_entry (id, team_id, url, url_sha256, source, added_by, "
                "created_at, updated_at) SELECT 'e_' || :p || n, :team, "
                "'https://linkedin.com/in/' || :p || n, md5(:p || n) || md5(n::text), 'api', "
                "'test', now(), now() FROM generate_series(1, :count) AS n"
            ),
            {"p": prefix, "team": team_id, "count": count},
        )

    with app.app_context():
        bulk(old_and_new.id, "old-", 20_000)
        bulk(other.id, "between-", 40_000)
        bulk(old_and_new.id, "new-", 5)
        db.session.commit()
        db.session.execute(text("ANALYZE dnc_entry"))
        db.session.commit()
        seen: list[tuple[str, dict]] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            if "dnc_entry.url" in statement and "LIMIT" in statement:
                seen.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            page = api_data(client, "/v1/dnc", old_and_new, limit=50, offset=300)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert [e["url"] for e in page["entries"]][:1] == ["https://linkedin.com/in/old-19705"]
        (statement, parameters), *_ = seen
        plan = (
            db.session.connection()
            .exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
            .scalar_one()
        )
        db.session.rollback()

    def removed(node: dict) -> int:
        return node.get("Rows Removed by Filter", 0) + sum(
            removed(child) for child in node.get("Plans", [])
        )

    plan = plan if isinstance(plan, list) else json.loads(plan)
    assert removed(plan[0]["Plan"]) < 100, plan
