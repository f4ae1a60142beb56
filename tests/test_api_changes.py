"""GET /v1/dnc/changes: the changes feed's contract, paging, cursors, isolation, limits."""

from __future__ import annotations

import base64
import threading
import time

import pytest
from sqlalchemy import select

from dnc_app.domain import changelog, entries
from dnc_app.domain.accounts.apikeys import create_api_key
from dnc_app.domain.changelog import Action, Change, Source
from dnc_app.extensions import db
from dnc_app.http.api.changes import decode_cursor, encode_cursor
from dnc_app.http.api.errors import InvalidParameter
from dnc_app.storage.database import begin_write
from dnc_app.storage.models import AuditEvent
from tests.support import TEST_ACTOR, api_data
from tests.web_support import make_member


def feed(client, team, **params):
    return api_data(client, "/v1/dnc/changes", team, **params)


def feed_error(client, team, **params):
    resp = client.get("/v1/dnc/changes", query_string=params, headers=team.headers)
    return resp.status_code, resp.get_json()


def names(changes) -> list[tuple[str, str]]:
    return [(c["type"], c["url"].removeprefix("https://linkedin.com/in/")) for c in changes]


def add(client, team, *usernames):
    for name in usernames:
        assert (
            client.post("/v1/dnc", json={"url": f"in/{name}"}, headers=team.headers).status_code
            == 201
        )


def test_an_empty_team_has_no_changes_and_a_cursor_to_poll_from(client, team):
    data = feed(client, team)
    assert data == {"changes": [], "nextCursor": data["nextCursor"], "hasMore": False}
    assert isinstance(data["nextCursor"], str) and data["nextCursor"]
    # Polling from it: still nothing, the same position.
    assert feed(client, team, cursor=data["nextCursor"])["nextCursor"] == data["nextCursor"]


def test_the_contract_shape_oldest_first_with_removals(client, team):
    add(client, team, "ann", "bob")
    ann = client.get(
        "/v1/dnc/check", query_string={"url": "in/ann"}, headers=team.headers
    ).get_json()["data"]["entry"]
    assert client.delete(f"/v1/dnc/{ann['$id']}", headers=team.headers).status_code == 200
    resp = client.get("/v1/dnc/changes", headers=team.headers)
    body = resp.get_json()
    assert list(body) == ["error", "data", "message"]
    assert body["message"] == "3 changes"
    assert "X-RateLimit-Limit" in resp.headers
    data = body["data"]
    assert list(data) == ["changes", "nextCursor", "hasMore"]
    assert data["hasMore"] is False
    assert names(data["changes"]) == [("added", "ann"), ("added", "bob"), ("removed", "ann")]
    first, _, removal = data["changes"]
    assert list(first) == ["type", "entryId", "url", "at", "source", "seq"]
    assert first == {
        "type": "added",
        "entryId": ann["$id"],
        "url": ann["url"],
        "at": ann["$createdAt"],
        "source": "api",
        "seq": first["seq"],
    }
    assert removal["entryId"] == ann["$id"] and removal["at"] >= first["at"]
    # seq: the team's change number, increasing in commit order (the webhook events' too).
    seqs = [c["seq"] for c in data["changes"]]
    assert all(isinstance(n, int) for n in seqs) and seqs == sorted(set(seqs))


def test_only_list_changes_appear_and_every_path_is_included(app, client, team):
    with app.app_context():
        entries.add_entries(team.id, ["in/a", "in/b"], source=Source.WEB_BULK, actor=TEST_ACTOR)
        # Log events that are not list changes take positions but are not in the feed.
        create_api_key(team.id, name="other", actor=TEST_ACTOR)
        with pytest.raises(entries.AlreadyListed):
            entries.add_entry(
                team.id, "in/a", source=Source.PUBLIC_FORM, actor=TEST_ACTOR, record_duplicate=True
            )
        make_member(app, team.id)
        entries.add_entry(team.id, "in/c", source=Source.PUBLIC_FORM, actor=TEST_ACTOR)
        entries.add_entry(team.id, "in/d", source=Source.CLI, actor=TEST_ACTOR)
    changes = feed(client, team)["changes"]
    assert names(changes) == [("added", "a"), ("added", "b"), ("added", "c"), ("added", "d")]
    assert [c["source"] for c in changes] == ["web_bulk", "web_bulk", "public_form", "cli"]


def test_pages_cover_every_change_once_and_polling_sees_later_ones(client, team):
    add(client, team, *[f"p{i:02d}" for i in range(7)])
    seen, cursor, pages = [], None, 0
    while True:
        data = feed(client, team, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += names(data["changes"])
        cursor, pages = data["nextCursor"], pages + 1
        if not data["hasMore"]:
            break
        assert len(data["changes"]) == 3
    assert seen == [("added", f"p{i:02d}") for i in range(7)]
    assert pages == 3
    assert feed(client, team, cursor=cursor)["changes"] == []
    add(client, team, "later")
    data = feed(client, team, cursor=cursor)
    assert names(data["changes"]) == [("added", "later")]
    assert feed(client, team, cursor=data["nextCursor"])["changes"] == []


def test_an_exactly_full_page_says_whether_more_are_waiting(client, team):
    add(client, team, "a", "b")
    assert feed(client, team, limit=2)["hasMore"] is False
    assert feed(client, team, limit=1)["hasMore"] is True


def test_default_and_largest_page(app, client, team):
    with app.app_context():
        entries.add_entries(
            team.id, [f"in/p{i}" for i in range(1001)], source=Source.API, actor=TEST_ACTOR
        )
    default = feed(client, team)
    assert (len(default["changes"]), default["hasMore"]) == (100, True)
    largest = feed(client, team, limit=1000)
    assert (len(largest["changes"]), largest["hasMore"]) == (1000, True)
    last = feed(client, team, cursor=largest["nextCursor"])
    assert names(last["changes"]) == [("added", "p1000")] and last["hasMore"] is False


def test_teams_see_only_their_own_changes(client, make_team):
    acme, other = make_team("Acme"), make_team("Other")
    add(client, acme, "ann", "bob")
    add(client, other, "zed")
    assert names(feed(client, other)["changes"]) == [("added", "zed")]
    acme_end = feed(client, acme)["nextCursor"]
    # Another team's cursor was never issued to this team: a 400, in both directions.
    assert feed_error(client, other, cursor=acme_end)[0] == 400
    assert feed_error(client, acme, cursor=feed(client, other)["nextCursor"])[0] == 400


def test_a_cursor_beyond_the_end_is_a_400_never_an_empty_page(app, client, team):
    add(client, team, "ann")
    with app.app_context():
        far = encode_cursor(team.id, 10**12)  # signed, as after a restore from a backup
    status, body = feed_error(client, team, cursor=far)
    assert (status, body["error"]) == (400, "invalid_parameter")
    # Also a cursor of the former, unsigned kind.
    assert feed_error(client, team, cursor=b64(b"c1:99"))[0] == 400


def test_cursors_of_the_former_kind_are_still_read(client, team):
    """Cursors issued before they were signed do not expire: read up to the team's end."""
    add(client, team, "ann", "bob")
    first = feed(client, team)["changes"][0]["seq"]
    page = feed(client, team, cursor=b64(f"c1:{first}".encode()))
    assert names(page["changes"]) == [("added", "bob")]
    assert page["nextCursor"] != b64(f"c1:{first + 1}".encode())  # now a signed one


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "not-a-cursor",
        "%%%",
        "\x00",
        "YzE6\x00NDI",
        "a",
        "=",
        b64(b"c1:-1"),
        b64(b"c1:+1"),
        b64(b"c1: 1"),
        b64(b"c1:1.5"),
        b64(b"c1:"),
        b64(b"c1:" + str(2**63).encode()),
        b64(b"c1:" + b"9" * 30),
        b64(b"c2:1"),
        b64(b"s1"),  # a list cursor is not a feed cursor
        b64(b"c1:\xd9\xa3"),  # a non-ASCII digit
        b64(b"c1:1") + "=",  # padded: not how the server writes it
        "Y" * 10_000,
        "é",
    ],
)
def test_a_bad_cursor_is_a_400_invalid_parameter(client, team, cursor):
    status, body = feed_error(client, team, cursor=cursor)
    assert status == 400, body
    assert body["error"] == "invalid_parameter" and body["data"] is None
    assert "cursor" in body["message"]


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "abc", "", "1.5", "1e3", " 5", "\x00"])
def test_a_bad_limit_is_a_400_invalid_parameter(client, team, limit):
    status, body = feed_error(client, team, limit=limit)
    assert status == 400, body
    assert body["error"] == "invalid_parameter"
    assert body["message"] == "limit must be an integer between 1 and 1000"


def test_an_empty_cursor_is_the_start(client, team):
    add(client, team, "ann")
    assert names(feed(client, team, cursor="")["changes"]) == [("added", "ann")]


def test_cursors_round_trip_and_are_opaque(app, team):
    with app.app_context():
        for _ in range(5):  # positions the team has reached
            changelog.log_event(
                team.id, Action.EXPORTED, team.id, source=Source.WEB, actor=TEST_ACTOR
            )
        for seq in (0, 1, 5):
            assert decode_cursor(team.id, encode_cursor(team.id, seq)) == seq
        cursor = encode_cursor(team.id, 5)
        for bad in (
            b64(b"c1:042"),  # the same number, not the server's spelling
            cursor[:-1] + ("A" if cursor[-1] != "A" else "B"),  # altered
            encode_cursor(team.id, 5) + "=",
            encode_cursor("team_other", 5),
        ):
            with pytest.raises(InvalidParameter):
                decode_cursor(team.id, bad)


def test_a_key_is_required(client):
    resp = client.get("/v1/dnc/changes")
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "missing_api_key"


def test_the_feed_has_its_own_rate_limit(make_app, make_team):
    app = make_app(DNC_CHANGES_LIMIT="2/minute")
    client = app.test_client()
    team = make_team("Acme")
    assert [client.get("/v1/dnc/changes", headers=team.headers).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    # Its own budget: the list endpoint is still available.
    assert client.get("/v1/dnc", headers=team.headers).status_code == 200


def test_the_limit_setting_is_read_from_the_environment(monkeypatch, app_from_environment):
    monkeypatch.setenv("DNC_CHANGES_LIMIT", "5/hour")
    assert app_from_environment().config["DNC_CHANGES_LIMIT"] == "5/hour"


# --------------------------------------------------------------------------- commit order


def test_a_change_waits_for_an_open_change_of_its_team_and_commits_after_it(app, team):
    """The claim the feed rests on (dnc_app.domain.changelog): a change takes its `seq` under the
    team's lock and holds it to the commit, so a later `seq` cannot commit first, and a
    reader never sees a higher `seq` while a lower one is still open. Checked for an entry
    write and for a log event that is not in the feed (a key), on either database."""
    holding, release = threading.Event(), threading.Event()
    done: dict[str, object] = {}

    def open_change():
        with app.app_context():
            begin_write()
            done["open"] = changelog.record(
                team.id,
                Action.ADD,
                [Change("dnc_open", "https://linkedin.com/in/open")],
                source=Source.API,
                actor=TEST_ACTOR,
            )
            holding.set()
            release.wait(20)
            db.session.commit()

    def add_entry():
        with app.app_context():
            done["entry"] = entries.add_entry(
                team.id, "in/later", source=Source.API, actor=TEST_ACTOR
            )

    def create_key():
        with app.app_context():
            done["key"] = create_api_key(team.id, name="later", actor=TEST_ACTOR)

    first = threading.Thread(target=open_change)
    first.start()
    assert holding.wait(20)
    later = [threading.Thread(target=add_entry), threading.Thread(target=create_key)]
    for thread in later:
        thread.start()
    time.sleep(0.5)
    with app.app_context():
        # Both wait for the open change; a reader sees none of the three yet.
        assert "entry" not in done and "key" not in done
        assert changelog.read_entry_changes(team.id, 0, 10) == []
    release.set()
    for thread in [first, *later]:
        thread.join(30)
    with app.app_context():
        feed_rows = changelog.read_entry_changes(team.id, 0, 10)
        seqs = db.session.execute(
            select(AuditEvent.seq, AuditEvent.action)
            .where(AuditEvent.team_id == team.id)
            .order_by(AuditEvent.seq)
        ).all()
    assert [(r.subject_id, r.url) for r in feed_rows] == [
        ("dnc_open", "https://linkedin.com/in/open"),
        (done["entry"].id, "https://linkedin.com/in/later"),
    ]
    # The open change's seq comes before both later ones, with no gap.
    assert [s.seq for s in seqs] == [1, 2, 3, 4]
    assert done["open"] == 2 and {a for _, a in seqs[2:]} == {"add", "key_create"}
