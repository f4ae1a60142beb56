"""The audit trail page and the CSV export."""

from __future__ import annotations

import csv
import io
import re

import pytest

from dnc_app.domain import entries
from dnc_app.http.web import audit, export
from tests.web_support import TEST_ACTOR, add_entries


def event_rows(html: str) -> list[tuple[str, str]]:
    """(action, url or key) of each row, in page order (as read: without the <wbr> hints)."""
    return [
        (action, re.sub(r"\s+", " ", cell.replace("<wbr>", "")).strip())
        for action, cell in re.findall(
            r'<tr class="entry action-(\w+)">.*?class="url-cell">(.*?)</td>', html, re.S
        )
    ]


# --------------------------------------------------------------------------- audit trail


def test_the_audit_trail_lists_every_change_newest_first(app, signed_in, team):
    entry = add_entries(app, team.id, ["linkedin.com/in/a", "linkedin.com/in/b"])[0]
    with app.app_context():
        entries.remove_entry(team.id, entry.id, reason="Mistake", source="cli", actor=TEST_ACTOR)
    html = signed_in.get("/audit").get_data(as_text=True)
    rows = event_rows(html)
    # The member's sign-in (by the fixture) is a change of its own, hidden by default.
    assert [a for a, _ in rows] == ["remove", "add", "add", "key_create"]
    assert rows[0][1] == "linkedin.com/in/a"
    assert rows[3][1].startswith("<code>dnc_sk_")  # the key's prefix, not its id
    assert "Mistake" in html and "tests" in html
    assert re.search(r'<input type="checkbox" name="signins" value="1">\s*Show sign-ins', html)
    shown = signed_in.get("/audit?signins=1").get_data(as_text=True)
    assert [a for a, _ in event_rows(shown)] == [
        "remove",
        "add",
        "add",
        "member_signed_in",
        "key_create",
    ]
    assert re.search(r'name="signins" value="1" checked', shown)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=remove", [("remove", "linkedin.com/in/a")]),
        ("source=web", [("remove", "linkedin.com/in/a")]),
        ("source=web&signins=1", [("remove", "linkedin.com/in/a"), ("member_signed_in", "—")]),
        ("action=member_signed_in", [("member_signed_in", "—")]),
        ("q=in/b", [("add", "linkedin.com/in/b")]),
        ("q=https://www.linkedin.com/in/B/", [("add", "linkedin.com/in/b")]),
        ("action=add&q=in/a", [("add", "linkedin.com/in/a")]),
        ("action=bogus&source=api", [("add", "linkedin.com/in/b"), ("add", "linkedin.com/in/a")]),
        ("q=%25", []),
    ],
)
def test_the_audit_trail_filters(app, signed_in, team, query, expected):
    entry = add_entries(app, team.id, ["linkedin.com/in/a", "linkedin.com/in/b"])[0]
    with app.app_context():
        entries.remove_entry(team.id, entry.id, reason="Mistake", source="web", actor=TEST_ACTOR)
    assert event_rows(signed_in.get(f"/audit?{query}").get_data(as_text=True)) == expected


def test_the_audit_trail_pages_by_id(app, signed_in, team, monkeypatch):
    monkeypatch.setattr(audit, "PAGE_SIZE", 2)
    add_entries(app, team.id, [f"linkedin.com/in/u{i}" for i in range(4)])
    seen, url = [], "/audit?action=add"
    while url:
        html = signed_in.get(url).get_data(as_text=True)
        seen += [cell for _, cell in event_rows(html)]
        match = re.search(r'rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == [f"linkedin.com/in/u{i}" for i in (3, 2, 1, 0)]
    assert signed_in.get("/audit?before=abc").status_code == 400


def test_the_audit_trail_never_shows_another_teams_events(app, signed_in, make_team):
    other = make_team("Other")
    add_entries(app, other.id, ["linkedin.com/in/theirs"])
    html = signed_in.get("/audit?signins=1").get_data(as_text=True)
    assert "theirs" not in html
    assert other.api_key[:11] not in html
    # Only our own key (and our member's sign-in).
    assert [a for a, _ in event_rows(html)] == ["member_signed_in", "key_create"]


# --------------------------------------------------------------------------- export


def test_export_is_a_streamed_csv_attachment_with_a_header(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/a", "linkedin.com/in/b"])
    response = signed_in.get("/export.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="dnc-acme-\d{4}-\d\d-\d\d\.csv"',
        response.headers["Content-Disposition"],
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == export.HEADER
    assert [r[0] for r in rows[1:]] == ["https://linkedin.com/in/b", "https://linkedin.com/in/a"]
    assert rows[1][1:4] == ["reason 1", "api", "tests"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[1][4])


def test_export_walks_every_chunk_exactly_once(app, signed_in, team, monkeypatch):
    monkeypatch.setattr(export, "CHUNK_SIZE", 3)
    add_entries(app, team.id, [f"linkedin.com/in/u{i}" for i in range(7)])
    rows = list(csv.reader(io.StringIO(signed_in.get("/export.csv").get_data(as_text=True))))
    assert [r[0] for r in rows[1:]] == [f"https://linkedin.com/in/u{i}" for i in range(6, -1, -1)]


def test_export_yields_chunk_by_chunk(app, team):
    add_entries(app, team.id, [f"linkedin.com/in/u{i}" for i in range(5)])
    with app.app_context():
        chunks = list(export.csv_rows(team.id, chunk_size=2))
    # Header with the first chunk, then one piece per chunk: never the whole list at once.
    assert [c.count("\r\n") for c in chunks] == [3, 2, 1]


@pytest.mark.parametrize(
    ("reason", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("plain, with comma", "plain, with comma"),
    ],
)
def test_export_defuses_spreadsheet_formulas(app, signed_in, team, reason, cell):
    with app.app_context():
        entries.add_entry(team.id, "in/x", reason=reason, source="api", actor=TEST_ACTOR)
    rows = list(csv.reader(io.StringIO(signed_in.get("/export.csv").get_data(as_text=True))))
    assert rows[1][1] == cell


def test_safe_cell_also_defuses_tabs_and_carriage_returns():
    assert export.safe_cell("\tx") == "'\tx"
    assert export.safe_cell("\r=1") == "'\r=1"
    assert export.safe_cell(None) == ""


def test_export_contains_only_the_members_team(app, signed_in, make_team):
    other = make_team("Other")
    add_entries(app, other.id, ["linkedin.com/in/theirs"])
    body = signed_in.get("/export.csv").get_data(as_text=True)
    assert "theirs" not in body and body.count("\r\n") == 1


def test_export_needs_a_signed_in_member(client):
    assert client.get("/export.csv").status_code == 302
