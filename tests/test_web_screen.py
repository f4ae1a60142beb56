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

from dnc_app.domain import pending_uploads
from dnc_app.http.web import screen_csv
from tests.web_support import HTMX, add_entries, token_for


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(BULK_UPLOAD_DIR=str(tmp_path / "uploads"))


def upload(client, data: bytes, filename="prospects.csv", headers=None, csrf=True, follow=True):
    """POST the form as a browser does (without htmx, and with `follow`, the progress
    pages are followed to the end as a browser without JavaScript does). The body is
    encoded here, in memory: the test client would spool a large one to a temp file it
    never closes."""
    fields = {"file": FileStorage(io.BytesIO(data), filename=filename)}
    if csrf:
        fields["csrf_token"] = token_for(client, "/screen")
    boundary, body = encode_multipart(fields)
    resp = client.post(
        "/screen",
        data=body,
        headers=headers or {},
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    return follow_refresh(client, resp)[-1] if follow and not headers else resp


REFRESH = re.compile(r'<noscript><meta http-equiv="refresh" content="0; url=([^"]+)"></noscript>')
CONTINUE = re.compile(r'<a class="button" href="([^"]+)">Continue</a>')


def follow_refresh(client, resp) -> list:
    """The pages a browser without JavaScript loads: each progress page reloads itself
    (its "Continue" link goes to the same step) until the result."""
    pages = [resp]
    for _ in range(10_000):
        html = resp.get_data(as_text=True)
        refresh = REFRESH.search(html)
        if refresh is None:
            assert CONTINUE.search(html) is None
            return pages
        assert CONTINUE.search(html).group(1) == refresh.group(1)
        assert "<html" in html and resp.status_code == 200
        resp = client.get(refresh.group(1).replace("&amp;", "&"))
        pages.append(resp)
    raise AssertionError("the progress pages never ended")


def counts_of(html: str) -> dict[str, int]:
    return {
        status: int(n.replace(",", ""))
        for status, n in re.findall(r'data-count="(\w+)">([\d,]+)<', html)
    }


def links_of(html: str) -> dict[str, str]:
    return {
        name: href.replace("&amp;", "&")
        for name, href in re.findall(r'id="download-(\w+)" download\s+href="([^"]+)"', html)
    }


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
    'Bob;=HYPERLINK("x");in/bob;@bob\n'
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
        [
            "Jane",
            "Acme",
            "https://www.linkedin.com/in/jane/",
            "jane@acme.test",
            "listed",
            "https://linkedin.com/in/jane",
        ],
        [
            "John",
            "Globex",
            "linkedin.com/in/john",
            "john@globex.test",
            "not_listed",
            "https://linkedin.com/in/john",
        ],
        ["Ann", "Initech", "not a url", "ann@initech.test", "invalid", ""],
        # Cells a spreadsheet would run as formulas are quoted.
        [
            "Bob",
            '\'=HYPERLINK("x")',
            "in/bob",
            "'@bob",
            "not_listed",
            "https://linkedin.com/in/bob",
        ],
    ]


def test_only_the_contactable_rows_can_be_downloaded(app, signed_in, team):
    add_entries(app, team.id, ["in/jane"])
    html = upload(signed_in, PROSPECTS.encode()).get_data(as_text=True)
    rows = download(signed_in, html, "contactable")
    assert [row[0] for row in rows] == ["First name", "John", "Bob"]
    assert {row[4] for row in rows[1:]} == {"not_listed"}


def test_a_chosen_column_replaces_the_detected_one(app, signed_in, team):
    add_entries(app, team.id, ["in/old-profile"])
    data = b"name,profile,old\nJane,linkedin.com/in/jane,in/old-profile\nJoe,linkedin.com/in/joe,\n"
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


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            b"https://www.linkedin.com/in/jane/\nin/joe\n",
            {"listed": 1, "not_listed": 1, "invalid": 0},
            id="one-column-no-header",
        ),
        pytest.param(
            codecs.BOM_UTF16_LE
            + "Name\tURL\nJürgen\thttps://linkedin.com/in/jane\n".encode("utf-16-le"),
            {"listed": 1, "not_listed": 0, "invalid": 0},
            id="utf16-tab",
        ),
        pytest.param(
            b'"Doe, Jane","https://linkedin.com/in/jane","a note\nover lines"\n'
            b"Joe,linkedin.com/in/joe,x\n",
            {"listed": 1, "not_listed": 1, "invalid": 0},
            id="quoted",
        ),
        pytest.param(
            "Jürgen|https://linkedin.com/in/jane\n".encode("latin-1"),
            {"listed": 1, "not_listed": 0, "invalid": 0},
            id="latin1-pipe",
        ),
    ],
)
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


def test_a_prospect_file_may_be_larger_than_other_forms_up_to_its_own_cap(make_app, team, tmp_path):
    from tests.web_support import make_member, sign_in

    app = make_app(
        BULK_UPLOAD_DIR=str(tmp_path / "up"),
        MAX_CONTENT_LENGTH=2_000,
        SCREEN_MAX_CONTENT_LENGTH=50_000,
    )
    client = app.test_client()
    make_member(app, team.id)
    sign_in(client)
    data = "name,profile\n" + "".join(f"P{i},in/p-{i}\n" for i in range(1000))
    assert 2_000 < len(data) < 50_000
    html = upload(client, data.encode()).get_data(as_text=True)
    assert counts_of(html)["not_listed"] == 1000
    assert upload(client, data.encode() * 5).status_code == 413


# --------------------------------------------------------------------------- counting in steps
# With htmx the counts of a file are made a step at a time (SCREEN_STEP_SECONDS), each
# answer showing the progress and asking for the next step; here a step is one chunk
# of CHUNK_ROWS rows, so a small file takes many steps.

PROGRESS_LINK = re.compile(r'hx-get="(/screen/[\w-]{32}/progress\?column=\d+)"')


@pytest.fixture
def stepping(make_app, tmp_path, monkeypatch):
    monkeypatch.setattr(screen_csv, "CHUNK_ROWS", 2)
    return make_app(BULK_UPLOAD_DIR=str(tmp_path / "uploads"), SCREEN_STEP_SECONDS=0)


@pytest.fixture
def member(stepping, team):
    from tests.web_support import make_member, sign_in

    client = stepping.test_client()
    make_member(stepping, team.id)
    sign_in(client)
    return client


def follow_steps(client, html: str) -> tuple[list[int], str]:
    """Take the steps as htmx does (each answer names the next); the rows counted at
    each step shown, and the last answer, which replaces the panel."""
    counted = []
    for _ in range(1000):
        link = PROGRESS_LINK.search(html)
        if link is None:
            return counted, html
        counted.append(int(re.search(r'data-counted="(\d+)"', html).group(1)))
        assert re.search(r'<progress id="screen-count-progress" max="\d+" value="\d+"', html)
        resp = client.get(link.group(1), headers=HTMX)
        html = resp.get_data(as_text=True)
        if "HX-Retarget" in resp.headers:  # the end (or an unreadable row)
            assert resp.headers["HX-Retarget"] == "#screen-panel"
            assert resp.status_code in (200, 422) and PROGRESS_LINK.search(html) is None
            return counted, html
        assert resp.status_code == 200, html
    raise AssertionError("the count never ended")


def tricky_csv(rows: int) -> bytes:
    """A BOM, CRLF, quoted fields over several lines (one ending a chunk's last row),
    blank lines, invalid URLs, and a second URL column."""
    lines = ["Name,Note,Profile,Other"]
    for i in range(rows):
        note = f'"line one\r\nline ""{i}"", two\r\n\r\nthree"' if i % 3 == 0 else f"note {i}"
        profile = "not a url" if i % 7 == 3 else f"https://www.linkedin.com/in/p-{i}/"
        other = f"in/other-{i % 4}" if i % 2 else ""
        lines.append(f"P{i},{note},{profile},{other}")
        if i % 5 == 4:
            lines.append("")
    return codecs.BOM_UTF8 + ("\r\n".join(lines) + "\r\n").encode()


def counts_from_the_database(app, team_id: str, data: bytes, column: int) -> dict[str, int]:
    """Read on its own: the csv module over the whole text, one lookup per URL."""
    from dnc_app.domain import entries

    counts = dict.fromkeys(screen_csv.STATUSES, 0)
    text = data.decode("utf-8-sig")
    rows = [row for row in csv.reader(io.StringIO(text, newline="")) if any(row)][1:]
    with app.app_context():
        for row in rows:
            try:
                url = entries.normalize(row[column])
            except entries.InvalidURL:
                counts["invalid"] += 1
                continue
            listed = entries.find_by_url(team_id, url) is not None
            counts["listed" if listed else "not_listed"] += 1
    return counts


def test_counting_in_steps_equals_one_count_and_the_database(stepping, member, team):
    add_entries(stepping, team.id, ["in/p-0", "in/p-4", "in/p-12", "in/other-1"])
    data = tricky_csv(40)
    resp = upload(member, data, headers=HTMX)
    assert resp.status_code == 200
    counted, html = follow_steps(member, resp.get_data(as_text=True))
    # The progress advances a chunk (2 rows) a step, from the first answer on (the last
    # step may find only the blank line that ends the file).
    assert counted in (list(range(2, 40, 2)), list(range(2, 41, 2)))
    expected = counts_from_the_database(stepping, team.id, data, 2)
    assert expected == {"listed": 3, "not_listed": 31, "invalid": 6}
    assert counts_of(html) == expected
    assert "40 prospects screened" in html
    token = re.search(r"/screen/([\w-]{32})/download", html).group(1)

    # A chosen column is counted in steps too, and matches the one-shot count.
    resp = member.get(f"/screen/{token}?column=3", headers=HTMX)
    _counted, html = follow_steps(member, resp.get_data(as_text=True))
    expected = counts_from_the_database(stepping, team.id, data, 3)
    assert expected == {"listed": 10, "not_listed": 10, "invalid": 20}
    assert counts_of(html) == expected
    with stepping.app_context():
        path = screen_csv.staged_path(
            pending_uploads.member_dir(stepping.config["BULK_UPLOAD_DIR"], team.id, 1), token
        )
        one_shot = screen_csv.count(team.id, path, screen_csv.read_layout(path), 3)
    assert one_shot.by_status == expected and one_shot.rows == 40
    # The download agrees with the counts.
    rows = download(member, html, "all")
    assert len(rows) == 41 and sum(row[4] == "listed" for row in rows) == 10
    # A count that has ended is shown again without counting.
    assert (
        counts_of(member.get(f"/screen/{token}?column=3", headers=HTMX).get_data(as_text=True))
        == expected
    )


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_every_resume_point_gives_the_one_shot_count(app, team, tmp_path, newline):
    """A step of one row resumes at each record boundary; quoted line breaks, blank
    lines and the header are never split or counted twice, whatever the line ends."""
    add_entries(app, team.id, ["in/p-0", "in/p-5"])
    data = tricky_csv(12).replace(b"\r\n", newline.encode())
    with app.app_context():
        token = screen_csv.stage(io.BytesIO(data), tmp_path)
        path = screen_csv.staged_path(tmp_path, token)
        layout = screen_csv.read_layout(path)
        one_shot = screen_csv.count(team.id, path, layout, 2)
        progress, steps = screen_csv.Progress.start(path, 2), 0
        while not progress.done:
            progress = screen_csv.count_step(team.id, path, layout, progress, max_rows=1)
            screen_csv.save_progress(path, progress)
            progress = screen_csv.load_progress(path, 2)
            steps += 1
    assert one_shot.rows == 12 and one_shot.by_status == {
        "listed": 2,
        "not_listed": 8,
        "invalid": 2,
    }
    assert progress.counts == one_shot
    assert steps in (12, 13)  # the last step may find only the end of the file
    assert progress.position == progress.size and progress.percent == 100


def test_an_unreadable_row_late_in_the_file_names_its_line(stepping, member):
    # Past the sample that the layout is read from (SAMPLE_LINES).
    data = tricky_csv(60) + b"x," + b"y" * (screen_csv.csv.field_size_limit() + 1) + b"\r\n"
    counted, html = follow_steps(member, upload(member, data, headers=HTMX).get_data(as_text=True))
    assert len(counted) >= 29
    # 1 header + 60 rows + 20 quoted notes of 3 more lines + 12 blank lines: line 134, as
    # one request without htmx says.
    assert "could not be read as CSV (line 134:" in html
    assert 'id="screen-form"' in html
    assert "could not be read as CSV (line 134:" in upload(member, data).get_data(as_text=True)


def test_each_step_is_one_query_on_the_list(stepping, member, team):
    from sqlalchemy import event

    from dnc_app.extensions import db

    html = upload(member, tricky_csv(10), headers=HTMX).get_data(as_text=True)
    link = PROGRESS_LINK.search(html).group(1)
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "dnc_entry" in statement:
            statements.append(statement)

    with stepping.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert member.get(link, headers=HTMX).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 1, statements


def test_a_large_file_shows_its_progress_and_an_estimate(make_app, team, tmp_path):
    from tests.web_support import make_member, sign_in

    app = make_app(BULK_UPLOAD_DIR=str(tmp_path / "up"), SCREEN_STEP_SECONDS=0)
    client = app.test_client()
    make_member(app, team.id)
    sign_in(client)
    data = "name,profile\n" + "".join(f"P{i:05d},in/p-{i:06d}\n" for i in range(20_000))
    html = upload(client, data.encode(), headers=HTMX).get_data(as_text=True)
    assert "Screening your prospects" in html and 'id="screen-column-form"' not in html
    assert "Screened 1,000 of about 20,000 rows" in html
    announced = []
    for _ in range(19):
        resp = client.get(PROGRESS_LINK.search(html).group(1), headers=HTMX)
        html = resp.get_data(as_text=True)
        announced += re.findall(r"data-announce>([^<]+)<", html)
    # Read out at each quarter, not at each of the 19 steps.
    assert announced == [
        "Screened 25%: 5,000 of about 20,000 rows",
        "Screened 50%: 10,000 of about 20,000 rows",
        "Screened 75%: 15,000 of about 20,000 rows",
    ]
    assert counts_of(html) == {"not_listed": 20_000, "listed": 0, "invalid": 0}


def test_without_javascript_each_request_is_one_step_and_the_pages_reload(stepping, member):
    resp = upload(member, tricky_csv(40), follow=False)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Screening your prospects" in html
    assert 'data-counted="2"' in html  # one step (a chunk of 2 rows), not the whole file
    pages = follow_refresh(member, resp)
    assert len(pages) >= 20
    counted = [
        int(re.search(r'data-counted="(\d+)"', p.get_data(as_text=True)).group(1))
        for p in pages[:-1]
    ]
    assert counted == sorted(counted) and counted[:3] == [2, 4, 6]
    html = pages[-1].get_data(as_text=True)
    assert "<html" in html and "40 prospects screened" in html
    assert sum(counts_of(html).values()) == 40
    # A column chosen without JavaScript is counted in steps too.
    token = re.search(r"/screen/([\w-]{32})/download", html).group(1)
    resp = member.get(f"/screen/{token}?column=3")
    assert REFRESH.search(resp.get_data(as_text=True))
    assert sum(counts_of(follow_refresh(member, resp)[-1].get_data(as_text=True)).values()) == 40


def test_a_stale_or_foreign_count_is_refused(stepping, member, team):
    from tests.web_support import make_member, sign_in

    html = upload(member, tricky_csv(10), headers=HTMX).get_data(as_text=True)
    link = PROGRESS_LINK.search(html).group(1)
    # Another member of the team cannot read or move this count.
    other = stepping.test_client()
    make_member(stepping, team.id, "other@example.com")
    sign_in(other, "other@example.com")
    resp = other.get(link, headers=HTMX)
    assert resp.status_code == 409 and "no longer here" in resp.get_data(as_text=True)
    assert resp.headers["HX-Retarget"] == "#screen-panel"
    # Nor did it move: the member's next step counts the next chunk.
    assert 'data-counted="4"' in member.get(link, headers=HTMX).get_data(as_text=True)
    # A column whose count was not started, a made-up column or token.
    for bad in (
        link.replace("column=2", "column=0"),
        link.replace("column=2", "column=x"),
        link.replace("column=2", "column=" + "9" * 5000),
        "/screen/" + "x" * 32 + "/progress?column=2",
    ):
        assert member.get(bad, headers=HTMX).status_code == 409, bad
    # A newer upload replaces the file and its count.
    upload(member, tricky_csv(10), headers=HTMX)
    assert member.get(link, headers=HTMX).status_code == 409


def test_the_form_names_the_size_cap_of_a_prospect_file(make_app, team, tmp_path):
    from tests.web_support import make_member, sign_in

    app = make_app(BULK_UPLOAD_DIR=str(tmp_path / "up"), SCREEN_MAX_CONTENT_LENGTH=64 << 20)
    client = app.test_client()
    make_member(app, team.id)
    sign_in(client)
    assert "At most 64 MB." in client.get("/screen").get_data(as_text=True)


def test_a_column_of_thousands_of_digits_is_the_detected_one(signed_in):
    html = upload(signed_in, PROSPECTS.encode()).get_data(as_text=True)
    token = re.search(r"/screen/([\w-]{32})/download", html).group(1)
    resp = signed_in.get(f"/screen/{token}?column=" + "9" * 5000)
    assert resp.status_code == 200
    assert re.search(r'<option value="2" selected>Profile</option>', resp.get_data(as_text=True))


def test_a_file_replaced_during_a_step_asks_for_it_again(stepping, member, monkeypatch):
    html = upload(member, tricky_csv(10), headers=HTMX).get_data(as_text=True)
    link = PROGRESS_LINK.search(html).group(1)

    real_step = screen_csv.count_step

    def another_tab_uploads_meanwhile(team_id, path, *args, **kwargs):
        path.unlink()  # what a newer upload does to the member's older file
        return real_step(team_id, path, *args, **kwargs)

    monkeypatch.setattr(screen_csv, "count_step", another_tab_uploads_meanwhile)
    resp = member.get(link, headers=HTMX)
    assert resp.status_code == 422 and "no longer here" in resp.get_data(as_text=True)
    assert resp.headers["HX-Retarget"] == "#screen-panel"


# --------------------------------------------------------------------------- what stays on
# disk: refused and finished files go, the team's cap, the sweep, one request at a time


def staged_files(app, team_id: str, user_id: int = 1) -> list[str]:
    directory = pending_uploads.member_dir(app.config["BULK_UPLOAD_DIR"], team_id, user_id)
    return sorted(p.name for p in directory.glob("*")) if directory.is_dir() else []


def token_of(html: str) -> str:
    return re.search(r"/screen/([\w-]{32})/(?:download|done|progress)", html).group(1)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(codecs.BOM_UTF16_LE + b"a\x00" * 1000 + b"\x00\xd8", id="bad-utf16"),
        pytest.param(b"\n\n \n", id="empty"),
        pytest.param(b"name,profile\nx," + b"y" * 200_000 + b"\n", id="unreadable-row"),
    ],
)
def test_a_refused_upload_leaves_nothing_on_disk(app, signed_in, team, data):
    upload(signed_in, PROSPECTS.encode())
    assert len(staged_files(app, team.id)) == 2  # the file and its count
    resp = upload(signed_in, data)
    assert resp.status_code == 422
    assert staged_files(app, team.id) == []


def test_an_unreadable_row_late_in_the_steps_removes_the_file(stepping, member, team):
    data = tricky_csv(60) + b"x," + b"y" * (screen_csv.csv.field_size_limit() + 1) + b"\r\n"
    _counted, html = follow_steps(member, upload(member, data, headers=HTMX).get_data(as_text=True))
    assert "could not be read as CSV" in html
    assert staged_files(stepping, team.id) == []


@pytest.mark.parametrize("htmx", [False, True])
def test_screen_another_file_removes_the_finished_one(app, signed_in, team, htmx):
    html = upload(signed_in, PROSPECTS.encode()).get_data(as_text=True)
    token = token_of(html)
    assert staged_files(app, team.id)
    resp = signed_in.post(
        f"/screen/{token}/done",
        headers=HTMX if htmx else {},
        data={"csrf_token": token_for(signed_in, "/screen")},
    )
    if htmx:
        assert resp.status_code == 200 and 'id="screen-form"' in resp.get_data(as_text=True)
    else:
        assert resp.status_code == 303 and resp.headers["Location"].endswith("/screen")
    assert staged_files(app, team.id) == []
    assert signed_in.get(links_of(html)["all"]).status_code == 404
    # Without its CSRF token nothing is removed.
    html = upload(signed_in, PROSPECTS.encode()).get_data(as_text=True)
    assert signed_in.post(f"/screen/{token_of(html)}/done").status_code == 400
    assert staged_files(app, team.id)


def test_the_teams_staged_files_stay_under_their_cap(make_app, team, tmp_path):
    from tests.web_support import make_member, sign_in

    cap = 20_000
    app = make_app(BULK_UPLOAD_DIR=str(tmp_path / "up"), SCREEN_STAGED_BYTES_PER_TEAM=cap)
    clients = []
    for email in ("a@example.com", "b@example.com"):
        client = app.test_client()
        make_member(app, team.id, email)
        sign_in(client, email)
        clients.append(client)
    first, second = clients
    data = ("name,profile\n" + "".join(f"P{i},in/p-{i}\n" for i in range(1000))).encode()
    assert len(data) < cap < 2 * len(data)
    assert counts_of(upload(first, data).get_data(as_text=True))["not_listed"] == 1000
    resp = upload(second, data)
    assert resp.status_code == 422
    assert re.search(
        r"already take [\d.]+ MB of the [\d.]+ MB allowed, and this one needs "
        r"[\d.]+ MB\. .*Nothing was kept\.",
        resp.get_data(as_text=True),
    )
    assert staged_files(app, team.id, 2) == []
    # Latin-1 grows when staged as UTF-8: the staged size is what counts.
    text = "name,profile\n" + "".join(f"\xe9\xe9\xe9{i},in/p-{i}\n" for i in range(400))
    grows = text.encode("latin-1")
    assert len(grows) <= cap - len(data) < len(text.encode())
    assert upload(second, grows).status_code == 422
    assert staged_files(app, team.id, 2) == []
    # A member's new file replaces their own older one: it does not count against them.
    assert upload(first, data).status_code == 200
    # When the first member is done, the second can screen the file, and the first not.
    html = upload(first, data).get_data(as_text=True)
    first.post(f"/screen/{token_of(html)}/done", data={"csrf_token": token_for(first, "/screen")})
    assert upload(second, data).status_code == 200
    assert upload(first, data).status_code == 422


def age(app, team_id: str, user_id: int, seconds: float) -> None:
    import os
    import time

    directory = pending_uploads.member_dir(app.config["BULK_UPLOAD_DIR"], team_id, user_id)
    for path in directory.glob("*"):
        then = time.time() - seconds
        os.utime(path, (then, then))


def test_the_sweep_removes_expired_files_and_those_of_removed_members(app, team, make_team):
    from sqlalchemy import delete

    from dnc_app.domain import members
    from dnc_app.domain.accounts.users import create_user
    from dnc_app.extensions import db
    from dnc_app.storage.models import Team
    from tests.support import TEST_ACTOR
    from tests.web_support import make_member, sign_in

    clients = {}
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        clients[email] = app.test_client()
        make_member(app, team.id, email)
        sign_in(clients[email], email)
        upload(clients[email], PROSPECTS.encode())
    other = make_team("Globex")
    with app.app_context():
        outsider = create_user(other.id, "d@example.com", "x" * 20).id
    outsider_client = app.test_client()
    sign_in(outsider_client, "d@example.com", "x" * 20)
    upload(outsider_client, PROSPECTS.encode())
    assert all(
        staged_files(app, t, u)
        for t, u in [(team.id, 1), (team.id, 2), (team.id, 3), (other.id, outsider)]
    )
    age(app, team.id, 1, screen_csv.STAGED_TTL + 5)  # expired
    with app.app_context():
        members.remove_member(team.id, 2, actor=TEST_ACTOR)  # removed
        db.session.execute(delete(Team).where(Team.id == other.id))  # a removed team
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["bulk", "sweep"])
    assert result.exit_code == 0, result.output
    assert "and 6 screening file(s)" in result.output
    assert staged_files(app, team.id, 1) == [] and staged_files(app, team.id, 2) == []
    assert len(staged_files(app, team.id, 3)) == 2  # still in use
    base = pending_uploads.team_dir(app.config["BULK_UPLOAD_DIR"], team.id)
    assert sorted(p.name for p in base.iterdir()) == ["1", "3"]
    assert not pending_uploads.team_dir(app.config["BULK_UPLOAD_DIR"], other.id).exists()


def test_each_upload_sweeps_its_team(app, team):
    from dnc_app.domain import members
    from tests.support import TEST_ACTOR
    from tests.web_support import make_member, sign_in

    clients = []
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        client = app.test_client()
        make_member(app, team.id, email)
        sign_in(client, email)
        upload(client, PROSPECTS.encode())
        clients.append(client)
    age(app, team.id, 1, screen_csv.STAGED_TTL + 5)
    with app.app_context():
        members.remove_member(team.id, 2, actor=TEST_ACTOR)
    upload(clients[2], PROSPECTS.encode())
    assert staged_files(app, team.id, 1) == [] and staged_files(app, team.id, 2) == []
    assert len(staged_files(app, team.id, 3)) == 2


def test_a_request_waits_for_the_members_previous_one_then_says_so(
    app, signed_in, team, monkeypatch
):
    monkeypatch.setattr(screen_csv, "LOCK_WAIT", 0.2)
    html = upload(signed_in, PROSPECTS.encode()).get_data(as_text=True)
    directory = pending_uploads.member_dir(app.config["BULK_UPLOAD_DIR"], team.id, 1)
    with screen_csv.member_lock(directory):  # another request of the member at work
        resp = upload(signed_in, PROSPECTS.encode(), headers=HTMX)
        assert resp.status_code == 409 and "being read in another tab" in resp.get_data(
            as_text=True
        )
        assert resp.headers["HX-Retarget"] == "#screen-panel"
        assert upload(signed_in, PROSPECTS.encode()).status_code == 409
    # The file was left as it was, and the lock went with the request.
    assert signed_in.get(links_of(html)["all"]).status_code == 200
    assert upload(signed_in, PROSPECTS.encode()).status_code == 200


@pytest.mark.live
def test_two_simultaneous_uploads_of_one_member_take_turns(
    live_server_factory, app, team, tmp_path
):
    """Two tabs of one member upload at the same instant, to two server processes: the
    second waits for the first's request, then replaces its file; neither is a 500."""
    import threading

    import requests

    from tests.web_support import PASSWORD, make_member

    make_member(app, team.id)
    uploads = tmp_path / "live-uploads"
    # Steps of one chunk each: the first answer is a progress page however fast the
    # machine (60 chunks), so the second upload always finds the first one's count going.
    live = live_server_factory(
        workers=2,
        threads=4,
        BULK_UPLOAD_DIR=str(uploads),
        RATELIMIT_ENABLED="false",
        SCREEN_STEP_SECONDS="0",
    )
    tab = requests.Session()
    html = tab.get(live.url + "/login", timeout=30).text
    tab.post(
        live.url + "/login",
        timeout=30,
        data={
            "email": "member@example.com",
            "password": PASSWORD,
            "csrf_token": re.search(r'name="csrf-token" content="([^"]+)"', html).group(1),
        },
    )
    token = re.search(
        r'name="csrf-token" content="([^"]+)"', tab.get(live.url + "/screen", timeout=30).text
    ).group(1)
    data = ("name,profile\n" + "".join(f"P{i},in/p-{i}\n" for i in range(60_000))).encode()
    barrier = threading.Barrier(2)
    answers = [None, None]

    def screen(i: int) -> None:
        other = requests.Session()
        other.cookies.update(tab.cookies)
        barrier.wait()
        answers[i] = other.post(
            live.url + "/screen",
            headers=HTMX,
            timeout=60,
            data={"csrf_token": token},
            files={"file": (f"tab-{i}.csv", data, "text/csv")},
        )

    threads = [threading.Thread(target=screen, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 200], [
        (a.status_code, a.text[:300]) for a in answers
    ]
    tokens = [PROGRESS_LINK.search(a.text).group(1) for a in answers]
    staged = sorted(p.name for p in pending_uploads.member_dir(uploads, team.id, 1).glob("*"))
    # One file (the later upload's) and its count.
    assert len(staged) == 2 and {p.split(".")[0] for p in staged} <= {
        t.split("/")[2] for t in tokens
    }
    steps = [tab.get(live.url + link, headers=HTMX, timeout=60) for link in tokens]
    assert sorted(s.status_code for s in steps) == [200, 409]
    gone = next(s for s in steps if s.status_code == 409)
    assert "replaced by a newer upload" in gone.text
