"""The "Screen a prospect list" page: upload a CSV in any layout, counts, downloads."""

from __future__ import annotations

import codecs
import csv
import io
import re
import tracemalloc

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from dnc_app.web import screen_csv
from tests.web_support import HTMX, add_entries, token_for


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(BULK_UPLOAD_DIR=str(tmp_path / "uploads"))


def upload(client, data: bytes, filename="prospects.csv", headers=None, csrf=True):
    """POST the form as a browser does. The body is encoded here, in memory: the test
    client would spool a large one to a temp file it never closes."""
    fields = {"file": FileStorage(io.BytesIO(data), filename=filename)}
    if csrf:
        fields["csrf_token"] = token_for(client, "/screen")
    boundary, body = encode_multipart(fields)
    return client.post("/screen", data=body, headers=headers or {},
                       content_type=f"multipart/form-data; boundary={boundary}")


def counts_of(html: str) -> dict[str, int]:
    return {status: int(n.replace(",", "")) for status, n in
            re.findall(r'data-count="(\w+)">([\d,]+)<', html)}


def links_of(html: str) -> dict[str, str]:
    return {name: href.replace("&amp;", "&") for name, href in
            re.findall(r'id="download-(\w+)" download\s+href="([^"]+)"', html)}


def download(client, html: str, which: str) -> list[list[str]]:
    resp = client.get(links_of(html)[which])
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True))))


PROSPECTS = (
    "First name;Company;Profile;Email\n"
    "Jane;Acme;https://www.linkedin.com/in/jane/;jane@acme.test\n"
    "John;Globex;linkedin.com/in/john;john@globex.test\n"
    "Ann;Initech;not a url;ann@initech.test\n"
    "Bob;=HYPERLINK(\"x\");in/bob;@bob\n"
)


def test_the_page_is_in_the_nav_and_needs_a_member(client, signed_in):
    html = signed_in.get("/entries").get_data(as_text=True)
    assert re.search(r'<a href="/screen"[^>]*>Screen prospects</a>', html)
    assert signed_in.get("/screen").status_code == 200


def test_a_visitor_is_sent_to_sign_in(client):
    resp = client.get("/screen")
    assert resp.status_code in (302, 303) and "/login" in resp.headers["Location"]


def test_the_linkedin_column_is_detected_and_rows_get_their_status(app, signed_in, team):
    add_entries(app, team.id, ["in/jane"])
    resp = upload(signed_in, PROSPECTS.encode())
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert counts_of(html) == {"not_listed": 2, "listed": 1, "invalid": 1}
    assert re.search(r'<option value="2" selected>Profile</option>', html)
    rows = download(signed_in, html, "all")
    assert rows == [
        ["First name", "Company", "Profile", "Email", "dnc_status", "dnc_url"],
        ["Jane", "Acme", "https://www.linkedin.com/in/jane/", "jane@acme.test", "listed",
         "https://linkedin.com/in/jane"],
        ["John", "Globex", "linkedin.com/in/john", "john@globex.test", "not_listed",
         "https://linkedin.com/in/john"],
        ["Ann", "Initech", "not a url", "ann@initech.test", "invalid", ""],
        # Cells a spreadsheet would run as formulas are quoted.
        ["Bob", "'=HYPERLINK(\"x\")", "in/bob", "'@bob", "not_listed",
         "https://linkedin.com/in/bob"],
    ]


def test_only_the_contactable_rows_can_be_downloaded(app, signed_in, team):
    add_entries(app, team.id, ["in/jane"])
    html = upload(signed_in, PROSPECTS.encode()).get_data(as_text=True)
    rows = download(signed_in, html, "contactable")
    assert [row[0] for row in rows] == ["First name", "John", "Bob"]
    assert {row[4] for row in rows[1:]} == {"not_listed"}


def test_a_chosen_column_replaces_the_detected_one(app, signed_in, team):
    add_entries(app, team.id, ["in/old-profile"])
    data = (b"name,profile,old\nJane,linkedin.com/in/jane,in/old-profile\n"
            b"Joe,linkedin.com/in/joe,\n")
    html = upload(signed_in, data).get_data(as_text=True)
    assert counts_of(html) == {"not_listed": 2, "listed": 0, "invalid": 0}
    token = re.search(r"/screen/([\w-]{32})/download", html).group(1)
    html = signed_in.get(f"/screen/{token}?column=2").get_data(as_text=True)
    assert counts_of(html) == {"not_listed": 0, "listed": 1, "invalid": 1}
    rows = download(signed_in, html, "all")
    assert [row[3] for row in rows] == ["dnc_status", "listed", "invalid"]


def test_a_file_without_a_linkedin_column_asks_for_one(signed_in):
    html = upload(signed_in, b"name,email\nJane,j@x.test\n").get_data(as_text=True)
    assert "Choose the column" in html
    assert '<option value="0"' in html and ">email<" in html


@pytest.mark.parametrize(("data", "expected"), [
    pytest.param(b"https://www.linkedin.com/in/jane/\nin/joe\n",
                 {"listed": 1, "not_listed": 1, "invalid": 0}, id="one-column-no-header"),
    pytest.param(codecs.BOM_UTF16_LE + "Name\tURL\nJürgen\thttps://linkedin.com/in/jane\n"
                 .encode("utf-16-le"), {"listed": 1, "not_listed": 0, "invalid": 0},
                 id="utf16-tab"),
    pytest.param(b'"Doe, Jane","https://linkedin.com/in/jane","a note\nover lines"\n'
                 b'Joe,linkedin.com/in/joe,x\n',
                 {"listed": 1, "not_listed": 1, "invalid": 0}, id="quoted"),
    pytest.param("Jürgen|https://linkedin.com/in/jane\n".encode("latin-1"),
                 {"listed": 1, "not_listed": 0, "invalid": 0}, id="latin1-pipe"),
])
def test_layouts(app, signed_in, team, data, expected):
    add_entries(app, team.id, ["in/jane"])
    resp = upload(signed_in, data)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert counts_of(resp.get_data(as_text=True)) == expected


def test_htmx_gets_the_fragment(signed_in):
    html = upload(signed_in, PROSPECTS.encode(), headers=HTMX).get_data(as_text=True)
    assert "<html" not in html and 'id="screen-counts"' in html


def test_the_form_needs_its_csrf_token(signed_in):
    assert upload(signed_in, PROSPECTS.encode(), csrf=False).status_code == 400


def test_an_empty_or_missing_file_is_a_clear_error(signed_in):
    assert "empty" in upload(signed_in, b"\n\n").get_data(as_text=True)
    resp = signed_in.post("/screen", data={"csrf_token": token_for(signed_in, "/screen")})
    assert resp.status_code == 422 and "Choose a CSV file" in resp.get_data(as_text=True)


def test_another_members_file_is_not_found(app, client, signed_in, team):
    from tests.web_support import make_member, sign_in

    html = upload(signed_in, PROSPECTS.encode()).get_data(as_text=True)
    link = links_of(html)["all"]
    other = app.test_client()
    make_member(app, team.id, "other@example.com")
    sign_in(other, "other@example.com")
    assert other.get(link).status_code == 404
    assert signed_in.get("/screen/" + "x" * 32 + "/download").status_code == 404


def test_200000_rows_stream_in_bounded_memory(app, signed_in, team, monkeypatch):
    add_entries(app, team.id, ["in/p-7"])
    rows = 200_000
    data = "name,profile\n" + "".join(f"P{i},in/p-{i}\n" for i in range(rows))
    html = upload(signed_in, data.encode()).get_data(as_text=True)
    assert counts_of(html) == {"not_listed": rows - 1, "listed": 1, "invalid": 0}
    tracemalloc.start()
    try:
        resp = signed_in.get(links_of(html)["all"])
        lines = 0
        for piece in resp.response:
            lines += piece.count(b"\r\n")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == rows + 1
    # The file is ~3 MB and the answer ~9 MB: far more than a chunk of rows takes.
    assert peak < 3_000_000, peak


def test_a_field_over_the_csv_limit_is_a_clear_error(signed_in):
    data = b"name,profile\n" + b"x" * (screen_csv.csv.field_size_limit() + 10) + b",in/a\n"
    resp = upload(signed_in, data)
    assert resp.status_code == 422
    assert "could not be read as CSV (line 2" in resp.get_data(as_text=True)


def test_a_prospect_file_may_be_larger_than_other_forms_up_to_its_own_cap(make_app, team,
                                                                          tmp_path):
    from tests.web_support import make_member, sign_in

    app = make_app(BULK_UPLOAD_DIR=str(tmp_path / "up"), MAX_CONTENT_LENGTH=2_000,
                   SCREEN_MAX_CONTENT_LENGTH=50_000)
    client = app.test_client()
    make_member(app, team.id)
    sign_in(client)
    data = "name,profile\n" + "".join(f"P{i},in/p-{i}\n" for i in range(1000))
    assert 2_000 < len(data) < 50_000
    html = upload(client, data.encode()).get_data(as_text=True)
    assert counts_of(html)["not_listed"] == 1000
    assert upload(client, data.encode() * 5).status_code == 413
